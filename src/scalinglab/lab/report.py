"""`lab fit`: fit a trained ladder with scalinglab's own fitters and test the fit on a budget it
did not see.

- runs.csv: one row per finished run, in the format `scalinglab fit` reads (store.write_csv);
  the loss is the held-out loss in nats per token (one token = one byte).
- runs that diverged (held-out loss not finite, or above ln 256 = a uniform guess over bytes)
  are left out and listed.
- Approach 3 (fit/parametric.py, Epoch AI's 4,500 starts, Huber 1e-3 in log space) with
  `n_boot` bootstrap resamples (fit/bootstrap.py); Approach 2 (fit/isoflop.py) with t intervals.
- the optimum of a fitted law at a budget C is found the way the ladder counts compute: along
  the ladder's width/depth rule (ladder.rule_shapes: FLOP per token = k N^e fitted to the shapes
  it picks), D = C / (FLOP per token), the lowest L(N, D). Its N*, L* and D*/N* get bootstrap
  intervals by doing the same for every resample; N* ~ C^a is the slope of log N* on log C.
- the held-out test: Approach 3 (and 2) refitted on every budget but the largest, the largest
  budget's best loss and its N predicted, against what was measured there (the minimum of the
  isoFLOP parabola through its runs; the best run when the parabola has no interior minimum).
- an isoFLOP figure (plots.lab_figure) and a self-contained HTML report (report.page).
"""

import html
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from scalinglab.errors import InputError
from scalinglab.lab.data import VOCAB
from scalinglab.lab.ladder import RULES, rule_shapes
from scalinglab.lab.store import CSV, load_store, write_csv
from scalinglab.results import Result
from scalinglab.units import format_count, format_sci

MIN_RUNS = 5


@dataclass(frozen=True)
class LabFit(Result):
    """Everything `lab fit` found (its --json)."""

    runs_dir: str
    csv: str
    figure: str | None
    html: str | None
    n_runs: int
    missing: tuple       # rung ids without a result yet
    excluded: tuple      # {"rung", "why"}
    budgets: tuple       # per budget: runs, best run, parabola optimum, edge flag
    approach3: dict
    approach2: dict
    holdout: dict
    runs: tuple          # every run's row (the CSV's columns and more)
    ladder: dict
    assumptions: tuple


def _runs(results, source):
    from scalinglab.fit.io import from_arrays

    return from_arrays([r.n_params for r in results], [r.heldout_loss for r in results],
                       n_tokens=[r.n_tokens for r in results], flops=[r.flops for r in results],
                       source=source)


def _rule_optimum(samples: np.ndarray, flops: float, shapes) -> dict:
    """Per row of samples (K, 5: E, A, B, alpha, beta): the rule shape with the lowest loss at
    `flops`; arrays n_opt, d_opt, loss_opt."""
    n, f = shapes
    E, A, B, al, be = (samples[:, k:k + 1] for k in range(5))
    d = flops / f
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        loss = E + A / n ** al + B / d ** be
    loss = np.where(np.isfinite(loss), loss, np.inf)
    i = np.argmin(loss, axis=1)
    return {"n_opt": n[i], "d_opt": d[i], "loss_opt": loss[np.arange(len(i)), i]}


def _interval(x, level: float = 0.95) -> list:
    tail = 50 * (1 - level)
    lo, hi = np.nanpercentile(np.asarray(x, dtype=float), [tail, 100 - tail])
    return [float(lo), float(hi)]


def _approach3(runs, budgets, shapes, n_boot, seed, starts=None) -> tuple[dict, object]:
    """The fit, its bootstrap, and the rule optimum at each budget with intervals."""
    from scalinglab.fit.bootstrap import bootstrap
    from scalinglab.fit.parametric import fit_parametric

    fit = fit_parametric(runs, starts=starts)
    point = np.array([[fit.E, fit.A, fit.B, fit.alpha, fit.beta]])
    boot = bootstrap(fit, runs, n=n_boot, seed=seed) if n_boot else None
    ci = boot.ci() if boot is not None else {}
    at, per_resample = [], []
    for c in budgets:
        o = {k: float(v[0]) for k, v in _rule_optimum(point, c, shapes).items()}
        o = {"flops": float(c), **o, "tokens_per_param": o["d_opt"] / o["n_opt"]}
        if boot is not None:
            b = _rule_optimum(boot.samples, c, shapes)
            per_resample.append(b["n_opt"])
            o["ci"] = {"n_opt": _interval(b["n_opt"]), "loss_opt": _interval(b["loss_opt"]),
                       "tokens_per_param": _interval(b["d_opt"] / b["n_opt"])}
        at.append(o)
    x = np.log(np.asarray(budgets, dtype=float))

    def slope(y):  # least-squares slope of y (budgets, ...) on x, every column at once
        return ((x - x.mean()) @ (y - y.mean(0))) / ((x - x.mean()) @ (x - x.mean()))

    rule_a = {"a": float(slope(np.log([o["n_opt"] for o in at]))) if len(x) > 1 else None}
    if per_resample and len(x) > 1:
        rule_a["ci"] = _interval(slope(np.log(np.array(per_resample))))
    a = fit.beta / (fit.alpha + fit.beta)  # as fit.a, also when alpha or beta sits at 0
    doc = {"params": fit.params, "objective": fit.objective, "n_points": fit.n_points,
           "a": a, "b": 1 - a, "se": fit.se, "at_bound": list(fit.at_bound),
           "ci": {k: ci[k] for k in ("E", "A", "B", "alpha", "beta", "a", "b") if k in ci},
           "n_resamples": n_boot, "seed": seed, "optimum": at, "a_rule": rule_a}
    return doc, boot


def _approach2(runs, budgets, shapes) -> dict:
    """Approach 2 per budget, N* ~ C^a with its t interval; D*/N* at the ladder's FLOP/token."""
    from scalinglab.fit.isoflop import fit_isoflop

    try:
        fit = fit_isoflop(runs, budgets=budgets)
    except InputError as e:
        return {"available": False, "reason": str(e)}
    n, f = shapes
    per = []
    for c, nopt, lopt, k in zip(fit.budgets, fit.n_opt, fit.loss_opt, fit.n_points):
        fpt = float(np.exp(np.interp(np.log(nopt), np.log(n), np.log(f))))
        per.append({"flops": float(c), "n_opt": float(nopt), "loss_opt": float(lopt),
                    "n_points": int(k), "tokens_per_param": float(c / fpt / nopt)})
    return {"available": True, "a": fit.a, "a_ci": list(fit.a_ci), "level": fit.level,
            "n_opt_coefficient": float(np.exp(fit.log_kn)), "optimum": per,
            "skipped": [{"flops": c, "reason": r} for c, r in fit.skipped], "fit": fit}


def _budget_rows(ladder, results, a2) -> list:
    rows = []
    opt = {o["flops"]: o for o in a2.get("optimum", [])}
    for c in ladder.budgets:
        rs = [r for r in results if r.budget == c]
        if not rs:
            continue
        rs.sort(key=lambda r: r.n_params)
        i = int(np.argmin([r.heldout_loss for r in rs]))
        o = opt.get(c, {})
        edge = len(rs) >= 3 and i in (0, len(rs) - 1)
        note = ("best run at the edge of the grid: the optimum may lie outside it" if edge
                else "" if o else "no interior parabola minimum")
        rows.append({"flops": c, "n_runs": len(rs), "best_rung": rs[i].rung,
                     "best_n": rs[i].n_params, "best_loss": rs[i].heldout_loss,
                     "n_opt": o.get("n_opt"), "loss_opt": o.get("loss_opt"),
                     "tokens_per_param": o.get("tokens_per_param"), "edge": edge,
                     "interior": bool(o) and not edge, "note": note})
    return rows


def _holdout(ladder, results, shapes, n_boot, seed, budget_rows, starts=None) -> dict:
    """Fit on every budget but the largest; predict the largest's best loss and its N.

    Best loss: the lowest predicted loss over the held-out budget's own runs (their N and D),
    against the lowest measured one (the same grid, so no interpolation enters). N: the fitted
    law's optimum over the rule's shapes against the minimum of the budget's isoFLOP parabola.
    """
    c = max(ladder.budgets)
    train = [r for r in results if r.budget < c]
    held = [r for r in results if r.budget == c]
    doc = {"flops": c, "n_train_runs": len(train), "n_heldout_runs": len(held)}
    if not held or len(train) < MIN_RUNS:
        return {**doc, "available": False, "summary": f"not available: needs runs at the "
                f"largest budget and at least {MIN_RUNS} runs below it"}
    try:
        a3, boot = _approach3(_runs(train, "runs below the largest budget"), [c], shapes,
                              n_boot, seed, starts)
    except InputError as e:
        return {**doc, "available": False, "summary": f"not available: {e}"}
    n = np.array([r.n_params for r in held], dtype=float)
    d = np.array([r.n_tokens for r in held], dtype=float)
    measured = np.array([r.heldout_loss for r in held])
    p = a3["params"]
    grid = p["E"] + p["A"] / n ** p["alpha"] + p["B"] / d ** p["beta"]
    best, i = float(grid.min()), int(np.argmin(measured))
    loss_ci = None
    if boot is not None:
        E, A, B, al, be = (boot.samples[:, k:k + 1] for k in range(5))
        loss_ci = _interval((E + A / n ** al + B / d ** be).min(axis=1))
    err = best / measured[i] - 1
    inside = loss_ci is not None and loss_ci[0] <= measured[i] <= loss_ci[1]
    opt = a3["optimum"][0]
    row = next(b for b in budget_rows if b["flops"] == c)
    doc.update({
        "available": True,
        "best_loss": {"predicted": best, "ci": loss_ci, "measured": float(measured[i]),
                      "measured_rung": held[i].rung, "measured_n": held[i].n_params,
                      "predicted_rung": held[int(np.argmin(grid))].rung,
                      "error": err, "inside_interval": inside},
        "n_opt": {"predicted": opt["n_opt"], "ci": opt.get("ci", {}).get("n_opt"),
                  "measured": row["n_opt"], "how": "minimum of the isoFLOP parabola" if
                  row["n_opt"] else "no parabola minimum",
                  "ratio": opt["n_opt"] / row["n_opt"] if row["n_opt"] else None},
        "predicted_optimum": opt, "approach3_train": {k: a3[k] for k in ("params", "a", "ci",
                                                                         "n_points")}})
    a2 = _approach2(_runs(train, "runs below the largest budget"),
                    [b for b in ladder.budgets if b < c], shapes)
    if a2["available"]:
        try:
            doc["n_opt"]["approach2"] = float(a2["fit"].optimal(c).n_params)
        except InputError:  # a fit whose exponent is no law (a tiny or flat ladder)
            pass
    rng = f" [{loss_ci[0]:.4f}, {loss_ci[1]:.4f}]" if loss_ci else ""
    no = doc["n_opt"]
    doc["summary"] = (
        f"best loss predicted {best:.4f}{rng} from the {len(train)} runs below it, measured "
        f"{measured[i]:.4f} ({held[i].rung}): error {100 * err:+.2f}%, "
        + ("inside" if inside else "outside") + " the 95% interval; N* predicted "
        + format_count(no["predicted"])
        + (f" [{format_count(no['ci'][0])}, {format_count(no['ci'][1])}]" if no["ci"] else "")
        + (f", parabola minimum {format_count(no['measured'])}" if no["measured"] else ""))
    return doc


def _run_row(r, rung) -> dict:
    """One run as the report shows it; the memory estimate recomputed with this scalinglab's
    memory.py (the one stored with the run is what its version said)."""
    from scalinglab.lab.train import comparable, memory_estimate

    cuda = r.device == "cuda"
    est = comparable(memory_estimate(rung, "fp32", "bf16" if cuda else None), cuda)
    return {"rung": r.rung, "budget": r.budget, "N": r.n_params, "D": r.n_tokens,
            "D/N": round(r.tokens_per_param, 2), "d x L": f"{r.d_model} x {r.n_layers}",
            "batch": r.batch_size * r.seq_len, "steps": r.steps, "lr": r.lr,
            "held-out loss": r.heldout_loss, "bits/byte": r.heldout_bpb, "train loss": r.train_loss,
            "train s": r.train_seconds, "tokens/s": r.tokens_per_second,
            "GFLOP/s": r.achieved_flops / 1e9, "MFU": r.mfu, "threads": r.threads,
            "memory measured": r.memory_bytes, "memory estimate": est,
            "measured/estimate": r.memory_bytes / est}


def fit_runs(runs_dir, n_boot: int = 4000, seed: int = 0, report=None, plot=None,
             figures: bool = True, starts: int | None = None) -> LabFit:
    """Fit a runs/ folder; write runs.csv, the figure and the HTML report (see module doc)."""
    if n_boot < 0:
        raise InputError(f"--bootstrap must be >= 0, got {n_boot}")
    for name in ("scipy",) + (("matplotlib",) if figures else ()):
        try:
            __import__(name)
        except ImportError:
            raise InputError(f"lab fit needs {name}, which is not installed: pip install "
                             "'scalinglab[lab]'") from None
    root = Path(runs_dir)
    store = load_store(root)
    ladder = store.ladder
    found = store.results()
    results = [found[r.id] for r in ladder.rungs if r.id in found]
    failures = store.failures()  # rungs recorded failed (engines.py): listed, never fitted
    missing = tuple(r.id for r in ladder.rungs if r.id not in found and r.id not in failures)
    if len(results) < MIN_RUNS:
        raise InputError(f"{str(root)!r} has {len(results)} finished run(s); fitting needs at "
                         f"least {MIN_RUNS} (`scalinglab lab run` trains the rest)")
    csv_path = write_csv(results, root / CSV)
    ok = [r for r in results if math.isfinite(r.heldout_loss) and r.heldout_loss < math.log(VOCAB)]
    excluded = tuple({"rung": f.rung, "why": f"failed: {f.error}"} for f in failures.values())
    excluded += tuple({"rung": r.rung, "why": f"held-out loss {r.heldout_loss} is not below "
                      f"ln {VOCAB} (a uniform guess): diverged"} for r in results if r not in ok)
    if len(ok) < MIN_RUNS:
        raise InputError(f"only {len(ok)} runs in {str(root)!r} trained (the rest diverged); "
                         f"fitting needs {MIN_RUNS}")
    runs = _runs(ok, f"{root.name}/{CSV}")
    ns = np.array([r.n_params for r in ok], dtype=float)
    shapes = rule_shapes(ladder.rules, ns.min() / 4, ns.max() * 4)
    a3, boot = _approach3(runs, ladder.budgets, shapes, n_boot, seed, starts)
    a2 = _approach2(runs, list(ladder.budgets), shapes)
    rows = _budget_rows(ladder, ok, a2)
    hold = _holdout(ladder, ok, shapes, n_boot, seed, rows, starts)
    a3["summary"] = _a3_summary(a3)
    a2["summary"] = _a2_summary(a2)
    fig_path = html_path = None
    if figures:
        fig, svg_text = _figure(ok, ladder, a3, a2, hold, shapes)
        from scalinglab import plots

        fig_path = str(plots.save(fig, Path(plot) if plot else root / "isoflop.png"))
    notes = _assumptions(ladder, runs, n_boot, seed, excluded, missing, starts)
    a2.pop("fit", None)
    res = LabFit(str(root), str(csv_path), fig_path, None, len(results), missing, excluded,
                 tuple(rows), a3, a2, hold,
                 tuple(_run_row(r, ladder.rung(r.rung)) for r in results),
                 ladder.to_dict(), tuple(notes))
    if figures:
        where = Path(report) if report else root / "report.html"
        html_path = str(_write_html(res, svg_text, where))
        res = replace(res, html=html_path)
    return res


def _a3_summary(a3) -> str:
    ci, ra = a3.get("ci", {}), a3["a_rule"]
    a = (f"N_opt ~ C^{ra['a']:.3f}" + (f" [{ra['ci'][0]:.3f}, {ra['ci'][1]:.3f}]" if "ci" in ra
                                         else "") + " along the ladder's FLOP count; "
         if ra["a"] is not None else "")
    a += f"closed form beta/(alpha+beta) under 6ND {a3['a']:.3f}" + (
        f" [{ci['a'][0]:.3f}, {ci['a'][1]:.3f}]" if "a" in ci else "")
    tpp = "; ".join(
        f"{format_sci(o['flops'], 2)}: N* {format_count(o['n_opt'])}, {o['tokens_per_param']:.1f}"
        + (f" [{o['ci']['tokens_per_param'][0]:.1f}, {o['ci']['tokens_per_param'][1]:.1f}]"
           if "ci" in o else "") + " tokens/param" for o in a3["optimum"])
    p = a3["params"]
    return (f"E {p['E']:.3f}, A {p['A']:.4g}, B {p['B']:.4g}, alpha {p['alpha']:.3f}, beta "
            f"{p['beta']:.3f}; {a} (95% bootstrap); {tpp}")


def _a2_summary(a2) -> str:
    if not a2["available"]:
        return f"not available: {a2['reason']}"
    tpp = "; ".join(f"{format_sci(o['flops'], 2)}: N* {format_count(o['n_opt'])}, "
                    f"{o['tokens_per_param']:.1f} tokens/param" for o in a2["optimum"])
    return (f"N* ~ C^{a2['a']:.3f} [{a2['a_ci'][0]:.3f}, {a2['a_ci'][1]:.3f}] "
            f"({int(100 * a2['level'])}% t interval); {tpp}")


def _assumptions(ladder, runs, n_boot, seed, excluded, missing, starts) -> list:
    r = ladder.rules
    out = [f"loss: held-out nats per byte-token over {r.eval_tokens:,} fixed held-out tokens "
           f"(corpus {ladder.corpus}, sha256 {ladder.corpus_sha256[:12]}...)",
           f"compute C: FLOP per token x tokens, {r.flops_convention}: {RULES['flops_convention']}",
           "N: every parameter, the tied embedding/output matrix once (Porian et al. 2024 count "
           "the head)",
           "Approach 3: log L = logsumexp(log A - alpha log N, log B - beta log D, log E), Huber "
           f"delta 1e-3 (Besiroglu et al. 2024), {starts or 4500:,} starts of Epoch AI's grid"
           + (f"; {n_boot} bootstrap resamples (seed {seed}), 2.5-97.5 percentiles" if n_boot
              else "; no bootstrap (--bootstrap 0)"),
           "a fitted law's optimum at C: the lowest L(N, C / FLOP-per-token) along the ladder's "
           f"shape rule ({ladder.shape_rule}), FLOP per token = k N^e fitted to its shapes",
           "Approach 2: a least-squares parabola of loss against log N per budget (Hoffmann et "
           "al. 2022), N* = its minimum; log N* = a log C + k, t interval on a",
           "held-out test: both fits redone without the largest budget; its 'measured' best is "
           "the minimum of its own isoFLOP parabola (the best run where there is none)",
           "memory: measured on CPU as the bytes saved for backward plus weights, gradients and "
           "AdamW states (on CUDA the peak allocated), against memory.estimate of this "
           "scalinglab for the same shape, micro-batch and dtype",
           f"data: {runs.source}, {len(runs)} runs"]
    if excluded:
        out.append("left out: " + ", ".join(
            f"{e['rung']} ({'failed' if e['why'].startswith('failed') else 'diverged'})"
            for e in excluded))
    if missing:
        out.append(f"not yet trained: {len(missing)} rung(s) ({', '.join(missing[:4])}"
                   f"{'...' if len(missing) > 4 else ''})")
    return out


def _figure(results, ladder, a3, a2, hold, shapes):
    from scalinglab import plots

    points = {c: (np.array([r.n_params for r in results if r.budget == c], dtype=float),
                  np.array([r.heldout_loss for r in results if r.budget == c]))
              for c in ladder.budgets}
    n, f = shapes
    p = a3["params"]
    curves = {}
    for c in ladder.budgets:
        if len(points[c][0]):
            m = (n >= points[c][0].min() / 1.5) & (n <= points[c][0].max() * 1.5)
            curves[c] = (n[m], p["E"] + p["A"] / n[m] ** p["alpha"]
                         + p["B"] / (c / f[m]) ** p["beta"])
    parab = {}
    if a2["available"]:
        for c in ladder.budgets:
            x, y = np.log(points[c][0]), points[c][1]
            if len(x) >= 3:
                co = np.polyfit(x, y, 2)
                g = np.linspace(x.min(), x.max(), 100)
                parab[c] = (np.exp(g), np.polyval(co, g))
    fig = plots.lab_figure(points, curves, parab, a3["optimum"],
                           a2.get("optimum", []), hold, law_label=(
                               f"Approach 3: E {p['E']:.3f} + {p['A']:.3g}/N^{p['alpha']:.3f} + "
                               f"{p['B']:.3g}/D^{p['beta']:.3f}"),
                           footnote=(f"Ladder {ladder.name} ({ladder.hash}) on {ladder.corpus}; "
                                     f"C = {ladder.rules.flops_convention} FLOP; loss: held-out "
                                     "nats/byte. Lines: fitted law along the ladder's shape "
                                     "rule; dashed: per-budget parabolas (Approach 2)."))
    return fig, plots.svg(fig)


def _write_html(res: LabFit, svg_text: str, path: Path) -> Path:
    from scalinglab import report
    from scalinglab.lab.store import write_atomic

    if not path.parent.is_dir():
        raise InputError(f"cannot write {str(path)!r}: folder {str(path.parent)!r} does not exist")
    h = res.holdout
    title = f"Lab ladder {res.ladder['name']}: {res.n_runs} runs, fitted and tested"
    head = {"held-out budget": h["summary"], "Approach 3": res.approach3["summary"],
            "Approach 2": res.approach2["summary"],
            "runs": f"{res.n_runs} finished, {len(res.missing)} missing, "
                    f"{len(res.excluded)} left out"}
    mfu = [r["MFU"] for r in res.runs]
    mem = [r["measured/estimate"] for r in res.runs]
    head["measured MFU"] = (f"{min(mfu):.1%} to {max(mfu):.1%} (largest run "
                            f"{res.runs[int(np.argmax([r['N'] for r in res.runs]))]['MFU']:.1%})")
    head["memory measured / estimate"] = f"{min(mem):.3f} to {max(mem):.3f}"
    parts = [f"<h1>{html.escape(title)}</h1>", report.render(head), "<h2>Figure</h2>",
             report.figure(svg_text, "Left: held-out loss against N at each budget (points), "
                           "the Approach 3 law (lines) and parabolas (dashed); the held-out "
                           "budget's prediction from the smaller budgets (star, with its "
                           "interval). Right: compute-optimal N against C."),
             "<h2>Per budget</h2>", report.render(list(res.budgets)),
             "<h2>Approach 3</h2>", report.render({k: v for k, v in res.approach3.items()
                                                   if k != "summary"}),
             "<h2>Approach 2</h2>", report.render({k: v for k, v in res.approach2.items()
                                                   if k != "summary"}),
             "<h2>Held-out budget</h2>", report.render(h),
             "<h2>Runs: loss, throughput, MFU, memory against scalinglab's estimate</h2>",
             report.render(list(res.runs)),
             "<h2>The ladder</h2>", report.render({k: v for k, v in res.ladder.items()
                                                   if k != "rungs"}),
             "<h2>Assumptions</h2>", report.render(list(res.assumptions))]
    write_atomic(path, report.page(title, parts, f"scalinglab lab fit {res.runs_dir} --json"))
    return path
