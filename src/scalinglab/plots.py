"""Figures: each a pure function returning a matplotlib Figure (matplotlib imported lazily, no
pyplot, so it runs headless). `save(fig, path)` writes .png/.svg/.pdf; `svg(fig)` returns SVG text.

Every figure names its law and the formula it draws; catalogue points name their rows.
"""

import io
import textwrap
from pathlib import Path

import numpy as np

from scalinglab.compute import FLOPS_PER_PARAM_TOKEN, tokens_for_compute
from scalinglab.curves import twenty_to_one
from scalinglab.errors import InputError
from scalinglab.laws import DEFAULT_LAW, LAWS, get_law
from scalinglab.units import format_count, format_ratio, format_sci

FORMATS = (".png", ".svg", ".pdf")
# labelled first when labels compete for room: the lecture's models and the scaling-law landmarks
LABEL_FIRST = ("Chinchilla 70B", "GPT-3 175B", "GPT-4", "GPT-4 (active)", "Llama 3 70B",
               "Llama 3.1 405B", "PaLM 540B", "Gopher 280B", "GPT-1", "GPT-2 1.5B", "BERT-Large",
               "Gemini (lecture claim)")
CONFIDENCE_STYLE = {"reported": dict(marker="o", mfc="C0", mec="C0"),
                    "estimated": dict(marker="o", mfc="white", mec="C0"),
                    "rumoured": dict(marker="X", mfc="C3", mec="C3")}


# --- shared plumbing -----------------------------------------------------------------------------

def _figure(nrows=1, ncols=1, size=(7.5, 5), footnote=""):
    """A headless Figure (Agg canvas) with a grid of axes and room for a footnote at the bottom."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    if footnote:  # wrapped to the figure's width (~17 characters an inch at 7 pt)
        footnote = "\n".join(textwrap.fill(line, int(size[0] * 17)) for line in footnote.split("\n"))
        lines = footnote.count("\n") + 1
        fig.get_layout_engine().set(rect=(0, 0.03 * lines + 0.01, 1, 1 - 0.03 * lines - 0.01))
        fig.text(0.01, 0.01, footnote, fontsize=7, color="0.35", va="bottom")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat:
        ax.grid(True, which="major", alpha=0.3)
    return fig, axes


def _law(law, needs: str = "", what: str = ""):
    """The law object; `needs` a capability (e.g. "loss") the figure draws with."""
    law = get_law(law)
    if needs:
        law.require(needs, what)
    return law


def _minor_count(x, _=None) -> str:
    """Minor log ticks labelled at 2 and 5 x 10^k only (20k, 50k), so that labels never crowd."""
    if x <= 0:
        return ""
    m = x / 10 ** np.floor(np.log10(x))
    return format_count(x, 1) if np.isclose(m, 2) or np.isclose(m, 5) else ""


def _count_axis(axis):
    """Log-scale tick labels as 1M, 10B, 1T (minor ticks at 2 and 5 x 10^k: 20k, 50k)."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    axis.set_major_locator(LogLocator(base=10, numticks=12))
    axis.set_major_formatter(FuncFormatter(lambda x, _: format_count(x, 1) if x > 0 else ""))
    axis.set_minor_formatter(FuncFormatter(_minor_count))


def _budgets(compute):
    c = np.atleast_1d(np.asarray(compute, dtype=float))
    if c.size == 0 or not np.all(np.isfinite(c)) or np.any(c <= 0):
        raise InputError(f"compute budgets must be positive and finite, got {c.tolist()}")
    return np.sort(c)


# (line style, width) per law in the frontier: laws whose optima nearly coincide (hoffmann2022-exact
# and sardana2023; besiroglu2024, muennighoff2023, approach1 and the 20:1 rule) must still show
# as distinct lines: each its own dashes, and each narrower than the one before and drawn over it,
# so that coinciding lines nest instead of hiding one another
LAW_STYLES = (("-", 4.0), ((0, (5, 1.5)), 3.4), ((0, (3, 1, 1, 1)), 2.9), ((0, (6, 2)), 2.4),
              ((0, (4, 1.5, 1, 1.5, 1, 1.5)), 2.0), ((0, (1, 1)), 1.8), ("-", 1.3))


def _label_order(names, size):
    """Indices: LABEL_FIRST names in that order, then the rest largest first."""
    first = {name: i for i, name in enumerate(LABEL_FIRST)}
    return np.array(sorted(range(len(names)), key=lambda i: (first.get(names[i], len(first)),
                                                               -size[i])), dtype=int)


def _offsets():
    """Label offsets in points, nearest first, with each one's alignment: twelve beside the
    point, then rings further out (those labels get a leader line back to their point)."""
    near = [(5, 3), (5, -3), (-5, 3), (-5, -3), (0, 7), (0, -7), (8, 8), (-8, -8), (8, -8),
            (-8, 8), (0, 11), (0, -11)]
    angles = np.radians(np.arange(0, 360, 22.5))
    far = [(r * np.cos(a), r * np.sin(a)) for r in (16, 24, 34, 46) for a in angles]
    offsets = np.array(near + far)
    align = [("left" if dx > 2 else "right" if dx < -2 else "center",
              "bottom" if dy >= 0 else "top") for dx, dy in offsets]
    return offsets, align


_OFFSETS, _ALIGN = _offsets()
_SHIFT = {"left": 0.0, "center": -0.5, "right": -1.0, "bottom": 0.0, "top": -1.0}
LEADER = 9.0  # points: a label placed further than this from its point gets a leader line
_LEADER_STYLE = dict(arrowstyle="-", lw=0.6, color="0.45", shrinkA=0, shrinkB=2.5)


def label_points(ax, xs, ys, labels, fontsize=7, layout=True, avoid=(), **kw):
    """Label points in priority order without overlapping each other, the points or the axes edge.

    Tries offsets beside each point first, then rings further out whose labels get a thin
    leader line back to the point (boxes measured once per label, all offsets checked at once);
    a label that fits nowhere is left out. layout=False: the caller has already drawn the
    figure once with its final layout. avoid: more (x, y) points that labels must not cover
    (a big marker). Returns the Text artists (an Annotation each; `arrow_patch` is the leader).
    """
    fig = ax.figure
    if layout:
        fig.draw_without_rendering()  # fix the layout so display coordinates are final
    r = fig.canvas.get_renderer()
    px = fig.dpi / 72
    pts = ax.transData.transform(np.column_stack([xs, ys]))
    taken = np.hstack([pts - 2.5 * px, pts + 2.5 * px])  # (k, 4): x0 y0 x1 y1; markers (ms=5)
    if len(avoid):
        big = ax.transData.transform(np.asarray(avoid, dtype=float).reshape(-1, 2))
        taken = np.vstack([taken, np.hstack([big - 8 * px, big + 8 * px])])
    box = ax.get_window_extent(r)
    shift = np.array([(_SHIFT[h], _SHIFT[v]) for h, v in _ALIGN])
    far = np.hypot(*_OFFSETS.T) > LEADER
    along = np.linspace(0.1, 0.9, 9)[None, :, None]  # where a leader line is checked for clashes
    labels_at = []  # boxes of placed labels: leader lines must not cross them
    leaders = np.empty((0, 2))  # points along placed leader lines: labels must not cover them
    placed = []
    for (x, y), xd, yd, text in zip(pts, xs, ys, labels):
        t = ax.annotate(text, (xd, yd), xytext=(0, 0), textcoords="offset points",
                        fontsize=fontsize, **kw)
        e = t.get_window_extent(r)
        t.remove()
        w, h = e.width, e.height
        lo = np.array([x, y]) + _OFFSETS * px + shift * (w, h) - 1.5  # 1.5 pixels of air
        cand = np.hstack([lo, lo + (w + 3, h + 3)])  # (offsets, 4)
        inside = ((cand[:, 0] >= box.x0) & (cand[:, 2] <= box.x1) & (cand[:, 1] >= box.y0)
                  & (cand[:, 3] <= box.y1))
        clash = ((cand[:, None, 0] < taken[None, :, 2]) & (taken[None, :, 0] < cand[:, None, 2])
                 & (cand[:, None, 1] < taken[None, :, 3]) & (taken[None, :, 1] < cand[:, None, 3]))
        free = inside & ~clash.any(axis=1)
        centre = (cand[:, :2] + cand[:, 2:]) / 2  # a leader runs from the label's centre
        seg = np.array([x, y]) + along * (centre - (x, y))[:, None, :]  # (offsets, 9, 2)
        if labels_at:  # a leader line may pass points, not other labels
            lb = np.array(labels_at)
            hit = ((seg[..., None, 0] > lb[:, 0]) & (seg[..., None, 0] < lb[:, 2])
                   & (seg[..., None, 1] > lb[:, 1]) & (seg[..., None, 1] < lb[:, 3]))
            free &= ~(far & hit.any(axis=(1, 2)))
        if len(leaders):  # nor a label an earlier leader line
            covers = ((leaders[None, :, 0] > cand[:, None, 0]) & (leaders[None, :, 0] < cand[:, None, 2])
                      & (leaders[None, :, 1] > cand[:, None, 1]) & (leaders[None, :, 1] < cand[:, None, 3]))
            free &= ~covers.any(axis=1)
        ok = np.flatnonzero(free)
        if not ok.size:
            continue
        i = ok[0]
        if far[i]:
            leaders = np.vstack([leaders, seg[i]])
        t = ax.annotate(text, (xd, yd), xytext=tuple(_OFFSETS[i]), textcoords="offset points",
                        fontsize=fontsize, ha=_ALIGN[i][0], va=_ALIGN[i][1],
                        arrowprops=_LEADER_STYLE if far[i] else None, **kw)
        t.set_in_layout(False)
        taken = np.vstack([taken, cand[i]])
        labels_at.append(cand[i])
        placed.append(t)
    return placed


def save(fig, path, dpi=150) -> Path:
    """Write the figure; the format follows the suffix (.png, .svg, .pdf)."""
    p = Path(path)
    if p.suffix.lower() not in FORMATS:
        raise InputError(f"cannot write {str(p)!r}: use a file ending in {', '.join(FORMATS)}")
    if not p.parent.is_dir():
        raise InputError(f"cannot write {str(p)!r}: folder {str(p.parent)!r} does not exist")
    fig.savefig(p, dpi=dpi, metadata=_metadata(p.suffix.lower()))
    return p


def _metadata(fmt):
    """No dates in files, so regenerated figures only change when their content does."""
    return {".png": {"Software": None}, ".svg": {"Date": None},
            ".pdf": {"CreationDate": None}}[fmt]


def svg(fig) -> str:
    """The figure as SVG text (text drawn as paths: no fonts needed to view it)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


# --- the figures ---------------------------------------------------------------------------------

def isoflop_figure(compute=(1e19, 1e20, 1e21, 1e22, 1e23, 1e24, 1e25), law=DEFAULT_LAW):
    """Loss against N at fixed compute (D = C/6N), one curve per budget, the optimum marked."""
    law, c = _law(law, "loss", "isoFLOP curves (they draw L(N, C/6N))"), _budgets(compute)
    opt = law.optimal(c)
    n = np.atleast_1d(opt.n_params)[:, None] * np.logspace(-1.5, 1.5, 200)  # (budgets, points)
    loss = law.loss(n, tokens_for_compute(c[:, None], n))
    fig, (row,) = _figure(size=(9, 5), footnote=f"{_form(law)}, D = C/6N; law {law.id}: {law.source}")
    ax = row[0]
    colors = _colors(len(c))
    for ni, li, ci, col in zip(n, loss, c, colors):
        ax.plot(ni, li, color=col, lw=1.6, label=f"C = {format_sci(ci, 2)} FLOP")
    ax.plot(opt.n_params, opt.loss, ls="--", color="0.4", lw=0.8, zorder=3)
    ax.plot(opt.n_params, opt.loss, "o", color="k", ms=5, zorder=4, gid="optimum",
            label="optimum N_opt = G (C/6)^a")
    ax.set_xscale("log")
    _count_axis(ax.xaxis)
    ax.set_xlabel("model size N (parameters)")
    ax.set_ylabel("predicted loss (nats/token)")
    ax.set_title(f"IsoFLOP curves: loss vs model size at fixed compute ({law.id})")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def _form(law) -> str:
    """The law's formula for a footnote, as the law declares it."""
    return law.formula if law.additive else f"{law.formula} ({law.note})"


def _colors(k):
    from matplotlib import colormaps

    return colormaps["viridis"](np.linspace(0.1, 0.85, k))


def _catalog_points(models):
    """(names, C = 6 N_active D, N_active, D, confidences) for models with N and D known."""
    rows = [m for m in models if m.compute_params and m.n_tokens]
    n = np.array([m.compute_params for m in rows])
    d = np.array([m.n_tokens for m in rows])
    names = [m.name + (" (active)" if m.is_moe else "") for m in rows]
    return names, FLOPS_PER_PARAM_TOKEN * n * d, n, d, [m.confidence for m in rows]


def _scatter_confidence(ax, x, y, conf, legend=True, **kw):
    """One marker style per confidence level, each labelled once for the legend."""
    conf = np.asarray(conf)
    for level, style in CONFIDENCE_STYLE.items():
        m = conf == level
        if m.any():
            ax.plot(x[m], y[m], ls="none", ms=5, label=level if legend else None, **style, **kw)


def frontier_figure(laws=None, models=None, compute=(1e18, 1e27), mark=None):
    """Compute-optimal N and D against C (log-log) under several laws, catalogue models overlaid.

    mark: optional (C, N, D) of a plan to highlight.
    """
    from scalinglab.catalog import MODELS

    laws = [_law(x) for x in (laws or LAWS)]
    models = MODELS if models is None else models
    c = np.logspace(*np.log10(_budgets(compute)[[0, -1]]), 100)
    fig, axes = _figure(1, 2, size=(15, 6.2), footnote=(
        "Lines: closed-form optimum of each law under C = 6ND. Points: catalogue models at "
        "C = 6 N D (MoE: active parameters); data Epoch AI (CC BY 4.0), papers, model cards.\n"
        "Marker: filled = reported, hollow = third-party estimate, X = rumoured. A label far from "
        "its point has a leader line; labels are left out where they would overlap (`scalinglab "
        "models` lists every row)."))
    names, mc, mn, md, conf = _catalog_points(models)
    order = _label_order(names, mc)
    panels = ((axes[0, 0], "n_params", mn, "model size N (parameters)"),
              (axes[0, 1], "n_tokens", md, "training tokens D"))
    for k, (ax, what, pts, ylabel) in enumerate(panels):
        first = k == 0  # one legend for both panels, from the first
        for i, lw in enumerate(laws):  # laws that nearly coincide stay visible: a style each
            counted = "" if lw.counts == "total" else f", {lw.counts} N"
            style = LAW_STYLES[i % len(LAW_STYLES)]
            ax.plot(c, getattr(lw.optimal(c), what), lw=style[1], ls=style[0],
                    color=f"C{i + 1}", zorder=3 + 0.01 * i, gid=f"law-{lw.id}",
                    label=f"{lw.id} (N ~ C^{lw.a:.2f}, D ~ C^{lw.b:.2f}{counted})" if first else None)
        twenty = twenty_to_one(c)[1 if what == "n_tokens" else 0]  # D = 20N with C = 6ND
        ax.plot(c, twenty, ls=(0, (2, 1.5)), color="k", lw=1.1, zorder=4.5, gid="twenty",
                label="20 tokens/param (Chinchilla's rule), drawn over the laws" if first else None)
        _scatter_confidence(ax, mc, pts, conf, legend=first, gid=f"catalog-{what}", zorder=5)
        shown = pts
        if mark is not None:  # hollow and beneath them: catalogue points stay whole
            ax.plot(mark[0], mark[k + 1], "*", ms=15, mfc="none", mec="darkorange", mew=1.6,
                    zorder=4.8, label="this plan" if first else None, gid="plan")
            shown = np.append(pts, mark[k + 1])
        ax.set(xscale="log", yscale="log", xlabel="training compute C (FLOP)", ylabel=ylabel,
               ylim=(shown.min() / 5, shown.max() * 20))  # the models set the view, not the laws
        _count_axis(ax.yaxis)
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside right upper", fontsize=8)
    axes[0, 0].set_title("Model size N against compute")
    axes[0, 1].set_title("Training tokens D against compute")
    fig.suptitle("Compute-optimal allocation under each law (lines) and models as trained "
                 "(points)", fontsize=12)
    fig.draw_without_rendering()  # the layout is final now: label both panels against it
    for k, (ax, _, pts, _) in enumerate(panels):
        xs, ys, texts = mc[order], pts[order], [names[i] for i in order]
        if mark is not None:  # the plan is labelled first, tied to its star
            xs, ys, texts = np.append(mark[0], xs), np.append(mark[k + 1], ys), ["this plan", *texts]
        label_points(ax, xs, ys, texts, fontsize=6.5, layout=False)
    return fig


def contour_figure(law=DEFAULT_LAW, n_range=(1e7, 1e13), d_range=(1e9, 1e14),
                   compute=(1e19, 1e21, 1e23, 1e25, 1e27)):
    """Loss over (N, D), iso-compute lines C = 6ND, and the compute-optimal path."""
    law = _law(law, "loss", "a loss landscape")
    n = np.logspace(*np.log10(n_range), 240)
    d = np.logspace(*np.log10(d_range), 240)
    loss = law.loss(n[None, :], d[:, None])
    fig, (row,) = _figure(size=(8, 6), footnote=f"{_form(law)} under {law.id}: {law.source}")
    ax = row[0]
    base = max(law.E, float(loss.min()) - 0.1)  # kaplan2020 has E = 0 but no loss near it here
    levels = np.arange(np.ceil((base + 0.02) * 10) / 10, min(float(loss.max()), base + 2.2), 0.1)
    cs = ax.contourf(n, d, loss, levels=levels, cmap="viridis_r", extend="both")
    fig.colorbar(cs, ax=ax, label="predicted loss (nats/token)")
    ax.contour(n, d, loss, levels=levels[::2], colors="white", linewidths=0.5)
    cc = _budgets(compute)
    for ci in cc:
        ax.plot(n, tokens_for_compute(ci, n), color="k", lw=0.8, ls="--")
    c = np.logspace(10, 32, 200)
    o = law.optimal(c)
    ax.plot(o.n_params, o.n_tokens, color="C3", lw=2.2, label=f"compute-optimal path ({law.id})")
    ax.plot([], [], color="k", lw=0.8, ls="--", label="iso-compute C = 6ND")
    ax.set(xscale="log", yscale="log", xlim=n_range, ylim=d_range,
           xlabel="model size N (parameters)", ylabel="training tokens D")
    _count_axis(ax.xaxis)
    _count_axis(ax.yaxis)
    _label_lines(ax, cc, n_range, d_range)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(f"Loss landscape over (N, D) under {law.id}")
    return fig


def _label_lines(ax, compute, n_range, d_range):
    """Write '1e21 FLOP' along each iso-compute line, near its top, rotated with it."""
    fig = ax.figure
    fig.draw_without_rendering()
    (n0, n1), (d0, d1) = np.log10(n_range), np.log10(d_range)
    for ci in compute:
        # the point of N D = C/6 near the top, kept far enough from the edges for the text to fit
        u = np.clip((np.log10(ci / 6) - (d0 + 0.85 * (d1 - d0)) - n0) / (n1 - n0), 0.06, 0.9)
        n = 10 ** (n0 + u * (n1 - n0))
        d = tokens_for_compute(ci, n)
        if not (0.05 <= (np.log10(d) - d0) / (d1 - d0) <= 0.97):
            continue
        p = ax.transData.transform([(n, d), (n * 2, d / 2)])
        angle = np.degrees(np.arctan2(*(p[1] - p[0])[::-1]))
        t = ax.annotate(f"{format_sci(ci, 1)} FLOP", (n, d), xytext=(0, -3),
                        textcoords="offset points", rotation=angle, rotation_mode="anchor",
                        fontsize=7, ha="center", va="top",  # hangs below the line
                        bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.75))
        t.set_in_layout(False)


def history_figure(models=None):
    """Parameter counts at each model's release date (year and month, catalog.Model.released)
    on a log scale, marked by how far each number is trusted."""
    from matplotlib.ticker import MultipleLocator

    from scalinglab.catalog import MODELS

    models = [m for m in (MODELS if models is None else models) if m.n_params]
    x = np.array([m.release_year for m in models])
    n = np.array([m.n_params for m in models])
    undated = [m.name for m in models if not m.released]
    fig, (row,) = _figure(size=(11, 6.5), footnote=(
        "Each model at its release date (data/models.csv 'released': Epoch AI's publication date, "
        "or the paper or model card named per row). Total parameters; MoE models also show the "
        "parameters active per token (small dot). Data: Epoch AI (CC BY 4.0), papers and model "
        "cards; rumoured = leaks and the lecture's slide, not published."
        + (f"\nNo release date, drawn at mid-year in a grey ring: {', '.join(undated)}."
           if undated else "")))
    ax = row[0]
    for m, xi in zip(models, x):
        if m.is_moe:
            ax.plot([xi, xi], [m.active_params, m.n_params], color="0.6", lw=1, zorder=2)
            ax.plot(xi, m.active_params, "o", ms=3, color="0.4", zorder=3)
        if not m.released:
            ax.plot(xi, m.n_params, "o", ms=11, mfc="none", mec="0.45", ls="none", zorder=3)
            ax.plot([], [], "o", ms=8, mfc="none", mec="0.45", ls="none")
    _scatter_confidence(ax, x, n, [m.confidence for m in models], gid="history", zorder=4)
    ax.plot([], [], "o", ms=3, color="0.4", label="MoE: active per token")
    ax.set_yscale("log")
    _count_axis(ax.yaxis)
    first, last = int(np.floor(x.min())), int(np.floor(x.max())) + 1
    ax.set_xticks(np.arange(first, last + 1))
    ax.xaxis.set_minor_locator(MultipleLocator(0.25))  # quarters
    ax.grid(True, which="minor", axis="x", alpha=0.12)
    ax.set_xlim(first - 0.05, last + 0.05)
    ax.set(xlabel="release date (tick: 1 January of the year; minor ticks: quarters)",
           ylabel="parameters N (log scale)",
           title="Parameter counts of notable language models, at their release dates")
    ax.legend(fontsize=8, loc="upper left", title="confidence", title_fontsize=8)
    order = _label_order([m.name for m in models], n)
    label_points(ax, x[order], n[order], [models[i].name for i in order], fontsize=7)
    return fig


def fit_figure(n_params, n_tokens, loss, law=DEFAULT_LAW):
    """Observed against predicted loss, and residuals against compute, for runs and a law."""
    from matplotlib.colors import LogNorm

    law = _law(law, "loss", "predicted losses for runs")
    n, d, obs = (np.asarray(v, dtype=float) for v in (n_params, n_tokens, loss))
    if not (n.shape == d.shape == obs.shape) or n.ndim != 1 or n.size < 2:
        raise InputError("fit_figure needs equally long 1-D arrays of N, D and loss (2+ runs)")
    pred = law.loss(n, d)
    resid = obs - pred
    c = FLOPS_PER_PARAM_TOKEN * n * d
    rms = float(np.sqrt(np.mean(np.log(pred / obs) ** 2)))
    constants = ", ".join(f"{k}={v:.4g}" for k, v in law.constants().items())
    fig, axes = _figure(1, 2, size=(12, 5.2), footnote=(
        f"{n.size} runs; prediction {law.formula} under {law.id} ({constants}); N counts "
        f"{law.counts} parameters; compute C = 6ND."))
    ax1, ax2 = axes[0]
    norm = LogNorm(c.min(), c.max()) if c.max() > c.min() else None
    sc = ax1.scatter(pred, obs, c=c, norm=norm, cmap="viridis", s=18, gid="fit-points")
    lo, hi = min(pred.min(), obs.min()), max(pred.max(), obs.max())
    ax1.plot([lo, hi], [lo, hi], color="0.3", lw=1, ls="--", label="observed = predicted")
    ax1.set(xlabel="predicted loss (nats/token)", ylabel="observed loss (nats/token)",
            title=f"Observed vs predicted ({law.id}); RMS log error {rms:.4f}")
    ax1.legend(fontsize=8, loc="upper left")
    ax2.scatter(c, resid, c=c, norm=norm, cmap="viridis", s=18, gid="fit-residuals")
    ax2.axhline(0, color="0.3", lw=1, ls="--")
    ax2.set(xscale="log", xlabel="training compute C = 6ND (FLOP)",
            ylabel="residual: observed - predicted (nats/token)", title="Residuals by compute")
    fig.colorbar(sc, ax=ax2, label="compute C (FLOP)")
    return fig


def plan_figure(plan, laws=()):
    """One page for a plan (a plan.Plan): loss along its iso-compute line under every law with an
    additive L(N, D), and the loss terms.

    laws: law objects the plan used that are not registered (a fit loaded from JSON).
    """
    known = {**LAWS, **{lw.id: lw for lw in laws}}
    n, d, c = plan.n_params, plan.n_tokens, plan.flops
    fig, axes = _figure(1, 2, size=(13, 5.4), footnote=(
        f"{plan.derivation}. Compute C = 6ND = {format_sci(c, 3)} FLOP "
        f"({plan.pf_days:,.0f} PF-days). Curves: D = C/6N under each law; circles: each "
        f"law's optimum at this compute.\nLosses are nats/token on each law's own data; "
        f"different data are not comparable. Laws whose terms do not add up or with no L(N, D) "
        f"are left out; `scalinglab plan` lists them."))
    ax1, ax2 = axes[0]
    grid = n * np.logspace(-2, 2, 200)
    # Laws of another form (kaplan2020: non-embedding N, WebText2 loss, a tabulated optimum that
    # is not the curve's minimum; hoffmann2022-approach1: no loss) would mislead here.
    ids = [lid for lid, v in plan.losses.items() if v.loss is not None
           and (lid not in known or known[lid].additive)]
    for i, lid in enumerate(ids):
        lw = known.get(lid)
        o = plan.losses[lid].optimal_at_same_compute
        if lw is not None:
            ax1.plot(grid, lw.loss(grid, tokens_for_compute(c, grid)), color=f"C{i}", lw=1.6,
                     label=lid + (" (plan's law)" if lid == plan.law else ""))
        ax1.plot(o.n_params, o.loss, "o", color=f"C{i}", mec="k", ms=6, zorder=4)
    ax1.plot([], [], "o", color="w", mec="k", label="each law's optimum at this compute")
    ax1.axvline(n, color="k", lw=1.2, ls="--", label=f"this plan: N = {format_count(n)}")
    ax1.set_xscale("log")
    _count_axis(ax1.xaxis)
    ax1.set(xlabel="model size N (parameters) at this compute",
            ylabel="predicted loss (nats/token)",
            title=f"Loss along C = {format_sci(c, 3)} FLOP")
    ax1.legend(fontsize=8)
    terms = np.array([[plan.losses[k].terms[t] for t in ("irreducible", "model", "data")]
                      for k in ids])
    left = np.zeros(len(ids))
    for j, (name, col) in enumerate(zip(("E (irreducible)", "A/N^alpha (model)",
                                         "B/D^beta (data)"), ("0.75", "C0", "C1"))):
        ax2.barh(ids, terms[:, j], left=left, color=col, label=name, height=0.6)
        left += terms[:, j]
    for y, total in enumerate(left):
        ax2.text(total, y, f" {total:.3f}", va="center", fontsize=8)
    ax2.set_xlim(0, left.max() * 1.15)
    ax2.invert_yaxis()
    ax2.set(xlabel="predicted loss (nats/token), split into its terms", ylabel="law",
            title=f"N = {format_count(n)}, D = {format_count(d)} ({format_ratio(d / n)} tokens/param)")
    ax2.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    loss = f"loss {plan.loss:.3f} under {plan.law}" if plan.loss is not None else plan.law
    fig.suptitle(f"Plan: {format_count(n)} parameters on {format_count(d)} tokens, {loss}",
                 fontsize=12)
    return fig


def infer_figure(estimates, max_tpot=None):
    """Serving throughput against latency over batch size: decode tokens/s per GPU (B / TPOT / n)
    against time per output token, one curve per setup (GPU, weights), from inference.sweep
    results; the roofline knee (decode turns compute-bound) starred, batches that do not fit in
    memory dotted, powers of two labelled."""
    if not estimates:
        raise InputError("infer_figure needs at least one inference estimate")
    fig, (row,) = _figure(size=(9, 5.8), footnote=(
        "Roofline: step = max(bytes / (bandwidth x e_bw), FLOP / (peak x e_flop)) + all-reduces "
        "(scalinglab inference); static batches of one prompt and output length. Dashed "
        "lines: the compute roof, peak x e_flop / FLOP per token.\n" + "; ".join(sorted({
            f"{e.prompt:,} + {e.output:,} tokens, e_flop {e.setup.compute_efficiency:.2g}, "
            f"e_bw {e.setup.bandwidth_efficiency:.2g}" for e in estimates}))))
    ax = row[0]
    for i, e in enumerate(estimates):
        r = {k: np.array([x[k] for x in e.rows]) for k in ("batch", "tpot_s", "fits")}
        thr = r["batch"] / r["tpot_s"] / e.setup.n_gpus
        ms = r["tpot_s"] * 1e3
        col = f"C{i}"
        ax.plot(ms, thr, color=col, lw=1.8, ls=":", gid=f"infer-{i}")
        ok = r["fits"].astype(bool)
        ax.plot(np.where(ok, ms, np.nan), np.where(ok, thr, np.nan), color=col, lw=1.8,
                label=setup_label(e))
        two = np.flatnonzero(np.log2(r["batch"]) % 1 == 0)
        ax.plot(ms[two], thr[two], "o", ms=3.5, color=col)
        for j in two[::2]:
            ax.annotate(f"{int(r['batch'][j])}", (ms[j], thr[j]), xytext=(3, -8),
                        textcoords="offset points", fontsize=6.5, color=col)
        ax.axhline(e.compute_roof, color=col, lw=0.8, ls="--", alpha=0.7)
        k = np.flatnonzero(r["batch"] == e.compute_bound_batch)
        if k.size:
            ax.plot(ms[k], thr[k], "*", ms=13, color=col, mec="k", zorder=5,
                    label=f"knee: compute-bound from batch {e.compute_bound_batch:,}")
    if max_tpot is not None:
        ax.axvline(max_tpot * 1e3, color="0.3", lw=1, ls="--",
                   label=f"latency target {max_tpot * 1e3:g} ms")
    ax.plot([], [], color="0.4", ls=":", label="does not fit in memory")
    ax.set(xscale="log", yscale="log", xlabel="time per output token, TPOT (ms)",
           ylabel="decode output tokens/s per GPU (B / TPOT / n)",
           title=f"Throughput vs latency over batch size: {estimates[0].setup.model}")
    _count_axis(ax.yaxis)
    ax.legend(fontsize=7.5, loc="lower right")
    return fig


def setup_label(e) -> str:
    s = e.setup
    return f"{s.n_gpus} x {s.gpu}, {s.weights}"


FIGURES = {"isoflop": isoflop_figure, "frontier": frontier_figure, "contour": contour_figure,
           "history": history_figure, "fit": fit_figure, "plan": plan_figure,
           "infer": infer_figure}


def lab_figure(points, curves, parabolas, optimum, optimum2=(), holdout=None, law_label="",
               footnote=""):
    """A trained ladder (scalinglab lab fit): held-out loss against N per budget with the fitted
    law and parabolas (left), compute-optimal N against C (right).

    points, curves, parabolas: {budget: (N array, loss array)}; optimum: the fitted law's
    optimum per budget ({flops, n_opt, loss_opt, ci}); optimum2: Approach 2's ({flops, n_opt,
    loss_opt}); holdout: lab's held-out test ({flops, predicted, measured}) or None.
    """
    budgets = sorted(points)
    fig, axes = _figure(1, 2, size=(13, 5.2), footnote=footnote)
    ax, bx = axes[0]
    colors = dict(zip(budgets, _colors(len(budgets))))
    for c in budgets:
        col = colors[c]
        ax.plot(*points[c], "o", color=col, ms=5, label=f"C = {format_sci(c, 2)} FLOP")
        if c in curves:
            ax.plot(*curves[c], "-", color=col, lw=1.3)
        if c in parabolas:
            ax.plot(*parabolas[c], "--", color=col, lw=0.9)
    o = [x for x in optimum if x["flops"] in points]
    ax.plot([x["n_opt"] for x in o], [x["loss_opt"] for x in o], "x", color="k", ms=7,
            label="fitted law's optimum")
    if holdout and holdout.get("available"):
        p, b = holdout["predicted_optimum"], holdout["best_loss"]
        ci = p.get("ci", {})
        err = ([[p["loss_opt"] - ci["loss_opt"][0]], [ci["loss_opt"][1] - p["loss_opt"]]]
               if ci else None)
        xerr = ([[p["n_opt"] - ci["n_opt"][0]], [ci["n_opt"][1] - p["n_opt"]]] if ci else None)
        ax.errorbar(p["n_opt"], p["loss_opt"], yerr=err, xerr=xerr, fmt="*", ms=13,
                    color="gold", mec="k", ecolor="k", capsize=3, zorder=6,
                    label="optimum predicted from the smaller budgets")
        ax.plot(b["measured_n"], b["measured"], "o", ms=11, mfc="none", mec="r", mew=1.5,
                zorder=7, label="best run measured at the held-out budget")
        bx.errorbar(holdout["flops"], p["n_opt"], yerr=xerr, fmt="*", ms=13, color="gold",
                    mec="k", ecolor="k", capsize=3, zorder=6, label="held-out prediction")
        if holdout["n_opt"]["measured"]:
            bx.plot(holdout["flops"], holdout["n_opt"]["measured"], "o", ms=11, mfc="none",
                    mec="r", mew=1.5, zorder=7, label="measured (parabola minimum)")
    ys = np.concatenate([points[c][1] for c in budgets])
    pad = 0.15 * (ys.max() - ys.min()) + 1e-3
    ax.set_ylim(ys.min() - pad, ys.max() + pad)
    ax.set_xscale("log")
    _count_axis(ax.xaxis)
    ax.set(xlabel="model size N (parameters, head included)", ylabel="held-out loss (nats/byte)",
           title=law_label or "IsoFLOP curves of the ladder")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7)
    c = np.array([x["flops"] for x in optimum])
    bx.plot(c, [x["n_opt"] for x in optimum], "-", color="C0", label="Approach 3 (fitted law)")
    if all("ci" in x for x in optimum):
        bx.fill_between(c, [x["ci"]["n_opt"][0] for x in optimum],
                        [x["ci"]["n_opt"][1] for x in optimum], color="C0", alpha=0.15,
                        label="95% bootstrap interval")
    if len(optimum2):
        bx.plot([x["flops"] for x in optimum2], [x["n_opt"] for x in optimum2], "s", color="C1",
                label="Approach 2 (parabola minima)")
    bx.set(xscale="log", yscale="log", xlabel="compute C (FLOP)", ylabel="compute-optimal N",
           title="Compute-optimal model size")
    _count_axis(bx.yaxis)
    bx.legend(fontsize=7)
    return fig
