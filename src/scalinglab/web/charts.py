"""The page's two charts as data: every point evaluated by the library (curves.py, the laws, a fit
and its bootstrap), placed on the axes here (u, v in [0, 1], log axes in log space) and labelled
here, so that the page only draws and never computes.

A chart is {"title", "x", "y", "series", "note"}; an axis is {"label", "ticks": [{"at", "label"}]};
a series is {"name", "kind": line | points | band | marker, "style", "points": [[u, v, label]]}
(a band has [[u, v_lo, v_hi]])."""

import math

import numpy as np

from scalinglab import curves
from scalinglab.compute import tokens_for_compute
from scalinglab.laws import LAWS
from scalinglab.units import format_count, format_sci


def _law(lid):
    return LAWS.get(lid)


def _drawable(law) -> bool:
    """Laws with an additive L(N, D) = E + A/N^a + B/D^b: a law of another form (a non-embedding
    N, another data set, an optimum off its own curve's minimum) or with no L(N, D) at all is
    left off the isoFLOP chart, as plots.py does; it stays in the table and on the frontier."""
    return law.can("loss") and law.additive


class _Axis:
    def __init__(self, label: str, log: bool, fmt):
        self.label, self.log, self.fmt = label, log, fmt
        self.values = []

    def see(self, values):
        v = np.asarray(values, dtype=float).ravel()
        v = v[np.isfinite(v) & ((v > 0) if self.log else True)]
        if v.size:
            self.values.append(v)

    def fix(self):
        v = np.concatenate(self.values) if self.values else np.array([1.0, 10.0])
        lo, hi = float(v.min()), float(v.max())
        if self.log:
            lo, hi = math.log10(lo), math.log10(hi)
            pad = max(0.04 * (hi - lo), 0.15)
            self.lo, self.hi = lo - pad, hi + pad
            step = max(1, math.ceil((self.hi - self.lo) / 7))
            ticks = [10.0**k for k in range(math.ceil(self.lo), math.floor(self.hi) + 1, step)]
        else:
            pad = max(0.05 * (hi - lo), 0.02)
            self.lo, self.hi = lo - pad, hi + pad
            step = _nice((self.hi - self.lo) / 6)
            ticks = list(np.arange(math.ceil(self.lo / step) * step, self.hi, step))
        self.ticks = [{"at": round(self.at(t), 5), "label": self.fmt(t)} for t in ticks]

    def at(self, x):
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.log10(x) if self.log else x
        return (t - self.lo) / (self.hi - self.lo)

    def to_dict(self) -> dict:
        return {"label": self.label, "ticks": self.ticks}


def _nice(step: float) -> float:
    """1, 2 or 5 times a power of ten, at least `step`."""
    p = 10 ** math.floor(math.log10(step))
    return next(m * p for m in (1, 2, 5, 10) if m * p >= step)


class _Chart:
    def __init__(self, title, x: _Axis, y: _Axis, note=""):
        self.title, self.x, self.y, self.note, self.series = title, x, y, note, []

    def add(self, name, kind, xs, ys, labels, style, hi=None):
        xs, ys = np.atleast_1d(xs), np.atleast_1d(ys)
        self.x.see(xs)
        self.y.see(ys)
        if hi is not None:
            self.y.see(hi)
        self.series.append((name, kind, xs, ys, labels, style, hi))

    def to_dict(self) -> dict:
        self.x.fix()
        self.y.fix()
        out = []
        for name, kind, xs, ys, labels, style, hi in self.series:
            cols = [self.x.at(xs), self.y.at(ys)] + ([self.y.at(hi)] if kind == "band" else [])
            uv = np.round(np.column_stack(np.broadcast_arrays(*cols)), 4)
            ok = np.isfinite(uv).all(axis=1)
            if kind == "band":
                pts = uv[ok].tolist()
            else:
                pts = [[a, b, t] for (a, b), t, keep in zip(uv.tolist(), labels, ok) if keep]
            out.append({"name": name, "kind": kind, "style": style, "points": pts})
        return {"title": self.title, "x": self.x.to_dict(), "y": self.y.to_dict(),
                "series": out, "note": self.note}


def _style(i: int) -> str:
    return f"law-{i % 8}"  # the page has eight law colours


def _count1(x) -> str:
    return format_count(x, 1) if x < 1e18 else format_sci(x, 1)


def _flop1(x) -> str:
    return format_sci(x, 1)


def _loss2(x) -> str:
    return f"{x:.2f}"


def _nd(lid, n, d, loss) -> str:
    return f"{lid}: N = {format_count(n)}, D = {format_count(d)}, loss {loss:.4f}"


def plan_charts(doc: dict, overlay=None) -> dict:
    """The isoFLOP and frontier charts of a plan document (`plan --json`), with a fit's runs,
    curves and bootstrap bands when `overlay` (web.fits.Overlay) is given."""
    return {"isoflop": _isoflop(doc, overlay).to_dict(), "frontier": _frontier(doc, overlay).to_dict()}


def _isoflop(doc, overlay) -> _Chart:
    c, n_plan = doc["flops"], doc["n_params"]
    ch = _Chart(f"Loss along C = {format_sci(c)} FLOP (D = C/6N) under each law",
                _Axis("model size N (parameters)", True, _count1),
                _Axis("predicted loss (nats/token)", False, _loss2),
                "Curves: the loss of N parameters trained on C/6N tokens; circles: each law's "
                "optimum at this compute; star: this plan. Laws not of the additive Chinchilla form "
                "are left out (see the table).")
    n = curves.around(n_plan, 1.5)
    for i, (lid, r) in enumerate(doc["losses"].items()):
        law = _law(lid)
        if law is None or not _drawable(law):
            continue
        loss = curves.isoflop_loss(law, c, n)
        d = tokens_for_compute(c, n)
        ch.add(lid, "line", n, loss, [_nd(lid, a, b, x) for a, b, x in zip(n, d, loss)], _style(i))
        o = r["optimal_at_same_compute"]
        ch.add(f"{lid} optimum", "points", o["n_params"], o["loss"],
               [f"optimum under {_nd(lid, o['n_params'], o['n_tokens'], o['loss'])}"], _style(i))
    if doc["loss"] is not None:
        ch.add("this plan", "marker", n_plan, doc["loss"],
               [f"this plan ({doc['law']}): N = {format_count(n_plan)}, D = "
                f"{format_count(doc['n_tokens'])}, loss {doc['loss']:.4f}"], "plan")
    if overlay is not None:
        overlay.isoflop(ch.add, c, n)
    return ch


def _frontier(doc, overlay) -> _Chart:
    c_plan = doc["flops"]
    lo, hi = c_plan / 1e4, c_plan * 1e3
    if overlay is not None:
        lo, hi = min(lo, overlay.flops_range[0] / 3), max(hi, overlay.flops_range[1] * 3)
    c = np.geomspace(lo, hi, 61)
    ch = _Chart("Compute-optimal model size N against compute C under each law",
                _Axis("training compute C (FLOP)", True, _flop1),
                _Axis("compute-optimal N (parameters)", True, _count1),
                "Lines: each law's optimum under C = 6ND (each as its source makes it: see the "
                "table); dotted: 20 tokens per parameter; star: this plan.")
    for i, lid in enumerate(doc["losses"]):
        law = _law(lid)
        if law is None:
            continue
        o = law.optimal(c)
        ch.add(lid, "line", c, o.n_params, [
            f"{lid} at {format_sci(x)} FLOP: N = {format_count(a)}, D = {format_count(b)} "
            f"({r:.3g} tokens/param)" for x, a, b, r in zip(c, o.n_params, o.n_tokens,
                                                            o.tokens_per_param)], _style(i))
    n20, d20 = curves.twenty_to_one(c)
    ch.add("20 tokens/param", "line", c, n20, [
        f"20:1 at {format_sci(x)} FLOP: N = {format_count(a)}, D = {format_count(b)}"
        for x, a, b in zip(c, n20, d20)], "twenty")
    ch.add("this plan", "marker", c_plan, doc["n_params"],
           [f"this plan: C = {format_sci(c_plan)} FLOP, N = {format_count(doc['n_params'])}, "
            f"{doc['tokens_per_param']:.3g} tokens/param"], "plan")
    if overlay is not None:
        overlay.frontier(ch.add, c)
    return ch
