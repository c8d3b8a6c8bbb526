"""The `fit` verb: fit a scaling law to your own runs (Approach 3 or 2), with uncertainty."""

import contextlib
import json as jsonlib
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from scalinglab.cli._common import verb_app
from scalinglab.cli._common import Json, assumptions, console, kv, print_json, table, warn
from scalinglab.errors import InputError
from scalinglab.units import format_count, format_flops, format_ratio, parse_flops, parse_number

app = verb_app()



def _col(role: str):
    """The type of a --ROLE-col option."""
    return Annotated[Optional[str], typer.Option(
        f"--{role}-col", help=f"CSV column holding {role} (default: detected by name).")]


DEFAULT_BOOTSTRAP = 4000  # resamples, as Besiroglu et al. 2024 (Epoch AI): fit.bootstrap.N_RESAMPLES


@app.command("fit")
def fit_cmd(
    csv: Annotated[Optional[Path], typer.Argument(help="CSV of runs: columns for N (params), "
                                                       "D (tokens) and/or C (flops), and loss.")] = None,
    dataset: Annotated[Optional[str], typer.Option("--dataset", help="Built-in data: chinchilla "
                                                   "(Epoch AI, CC BY 4.0).")] = None,
    approach: Annotated[int, typer.Option("--approach", help="3: parametric L(N, D) (default); "
                                          "2: isoFLOP parabolas.")] = 3,
    n_boot: Annotated[Optional[int], typer.Option("--bootstrap", help="Bootstrap resamples for "
                      "percentile intervals (default 4000 for Approach 3, as Epoch AI); 0: "
                      "sandwich SEs only (quick).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the bootstrap.")] = 0,
    starts: Annotated[Optional[int], typer.Option("--starts", help="Starts from the 4,500-point "
                                                  "grid (default: all).")] = None,
    delta: Annotated[float, typer.Option("--delta", help="Huber delta on log residuals.")] = 1e-3,
    drop_highest: Annotated[Optional[int], typer.Option("--drop-highest", help="Drop the K "
                            "highest-loss runs (chinchilla: 5, as Epoch AI).")] = None,
    budgets: Annotated[Optional[str], typer.Option("--budgets", help="Approach 2: compute budgets "
                       "to group runs by, e.g. '1e19,1e20,1e21' (default: equal FLOP within 5%).")] = None,
    compute: Annotated[Optional[str], typer.Option("--compute", "-c", help="Also report N_opt, "
                       "D_opt (and intervals) at this compute.")] = None,
    at: Annotated[Optional[tuple[str, str]], typer.Option("--at", help="N D: also report the "
                  "predicted loss (and interval) there, e.g. --at 70B 15T.")] = None,
    params_col: _col("params") = None,
    tokens_col: _col("tokens") = None,
    flops_col: _col("flops") = None,
    loss_col: _col("loss") = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Save a figure of data and fit.")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Save the fit as JSON "
                      "(usable as --law FILE by loss, optimal, plan).")] = None,
    json: Json = False,
):
    """Fit L(N, D) = E + A/N^alpha + B/D^beta to runs (Chinchilla Approach 3), or isoFLOP optima."""
    from scalinglab.fit import io

    from scalinglab.fit.summary import fit_runs

    if (csv is None) == (dataset is None):
        raise InputError("give one of a CSV file or --dataset NAME (e.g. --dataset chinchilla)")
    names = {k: v for k, v in (("n_params", params_col), ("n_tokens", tokens_col),
                               ("flops", flops_col), ("loss", loss_col)) if v is not None}
    if dataset is not None:
        runs = io.dataset(dataset, drop_highest)
    else:
        runs = io.drop_highest(io.load_runs(csv, names), drop_highest or 0)
    if plot is not None:
        if approach == 2:
            raise InputError("--plot draws Approach 3 fits (data against the fitted law); "
                             "drop --approach 2")
        draw = _plotter(plot)
    with _progress(n_boot if n_boot is not None else DEFAULT_BOOTSTRAP, approach) as cb:
        report = fit_runs(runs, approach, n_boot, seed, starts, delta,
                          parse_flops(compute) if compute is not None else None,
                          (parse_number(at[0], "--at N"), parse_number(at[1], "--at D")) if at else None,
                          [parse_flops(b, "--budgets") for b in budgets.split(",") if b.strip()]
                          if budgets is not None else None, progress=cb)
    doc = report.to_dict()
    if output is not None:
        _save(doc, output)
    if plot is not None:
        draw(runs, report.law)
    if json:
        return print_json(report)
    _show(doc, output, plot, report.data)


def _plotter(path: Path):
    """A function (runs, law) -> None that saves scalinglab.plots.fit_figure to `path`, or a
    clear error when this build has no plots module."""
    try:
        from scalinglab import plots

        figure = plots.fit_figure
    except (ImportError, AttributeError):
        raise InputError("--plot is not available in this build (no scalinglab.plots.fit_figure); "
                         "use -o fit.json and plot elsewhere") from None
    formats = getattr(plots, "FORMATS", (".png", ".svg", ".pdf"))
    if path.suffix.lower() not in formats:
        raise InputError(f"--plot {str(path)!r}: use a file ending in {', '.join(formats)}")
    save = getattr(plots, "save", lambda fig, p: fig.savefig(p))

    def draw(runs, law):
        save(figure(runs.n_params, runs.n_tokens, runs.loss, law), path)

    return draw


def _save(doc: dict, path: Path) -> None:
    saved = {**doc}
    if "law" in saved:  # let `--law FILE` name the law after the file
        saved["law"] = {k: v for k, v in saved["law"].items() if k != "id"}
    try:
        path.write_text(jsonlib.dumps(saved, indent=2, default=_plain) + "\n")
    except OSError as e:
        raise InputError(f"cannot write {str(path)!r} ({e.strerror})") from None


def _plain(o):
    return o.tolist() if hasattr(o, "tolist") else str(o)


@contextlib.contextmanager
def _progress(total: int, approach: int):
    """A progress bar on stderr when it is a terminal; yields a callback(done, total)."""
    if not sys.stderr.isatty() or approach != 3 or not total:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("bootstrap resamples converged", total=total)
        yield lambda done, _: bar.update(task, completed=done)


def _show(doc: dict, output, plot, runs) -> None:
    ci = doc["ci"]
    console.print(f"data: {len(runs)} runs from {runs.source}; columns {runs.columns_used}",
                  markup=False)
    for line in runs.notes:
        console.print(f"  {line}", markup=False)
    if doc["approach"] == 2:
        console.print(f"[bold]Approach 2[/bold] (isoFLOP profiles): N* ~ C^{doc['a']:.3f}, "
                      f"D* ~ C^{doc['b']:.3f}")
        console.print(table(None, "budget", "runs", "N*", "D*", "D*/N*", "loss at N*", rows=[
            (format_flops(b["flops"]), b["n_points"], format_count(b["n_opt"]),
             format_count(b["d_opt"]), format_ratio(b['d_opt'] / b['n_opt']), f"{b['loss_opt']:.4f}")
            for b in doc["budgets"]]))
        console.print(f"a = {doc['a']:.3f} [{ci['a'][0]:.3f}, {ci['a'][1]:.3f}], "
                      f"b = {doc['b']:.3f} [{ci['b'][0]:.3f}, {ci['b'][1]:.3f}] "
                      f"({int(ci['level'] * 100)}% t intervals)")
        for s in doc["skipped"]:
            console.print(f"  skipped {format_flops(s['flops'])}: {s['reason']}", markup=False)
    else:
        p, se = doc["params"], doc["se"]
        console.print(f"[bold]Approach 3[/bold]: L = E + A/N^alpha + B/D^beta fitted to "
                      f"{doc['n_points']} runs")
        console.print(table(None, "param", "value", "95% interval", "sandwich SE", rows=[
            (k, f"{p[k]:.5g}", f"[{ci[k][0]:.5g}, {ci[k][1]:.5g}]", f"{se[k]:.3g}") for k in p]))
        st = ", ".join(f"{v} {k}" for k, v in doc["status"].items() if v)
        console.print(kv(None, [
            ("objective", f"{doc['objective']:.10f}  (Huber delta {doc['delta']:g}, log space)"),
            ("starts", f"{doc['n_at_best']} of {doc['n_starts']} reached the best ({st})"),
            ("exponents", f"N_opt ~ C^{doc['a']:.3f}, D_opt ~ C^{doc['b']:.3f}, G = {doc['G']:.4g}"),
        ]))

        extra = [(k, ci[k]) for k in ("a", "b", "G") if k in ci]
        for k, v in extra:
            console.print(f"  {k}: [{v[0]:.4g}, {v[1]:.4g}]", markup=False)
        if doc["at_bound"]:
            from scalinglab.fit.parametric import BOUNDS

            where = ", ".join(f"{'log E' if k == 'e' else k} in {list(BOUNDS[k])}" for k in doc["at_bound"])
            console.print(f"  warning: the best fit sits on a bound of the search box ({where}): "
                          "the data do not pin it down", markup=False)
        if doc.get("loss_at"):
            la = doc["loss_at"]
            rng = f" [{ci['loss_at'][0]:.4f}, {ci['loss_at'][1]:.4f}]" if "loss_at" in ci else ""
            console.print(f"loss at N = {format_count(la['n_params'])}, D = "
                          f"{format_count(la['n_tokens'])}: {la['loss']:.4f}{rng}")
    if doc.get("optimal"):
        o = doc["optimal"]
        rng = (f" (N [{format_count(ci['n_opt'][0])}, {format_count(ci['n_opt'][1])}], D "
               f"[{format_count(ci['d_opt'][0])}, {format_count(ci['d_opt'][1])}])"
               if "n_opt" in ci else "")
        console.print(f"optimum at {format_flops(o['flops'])}: N = {format_count(o['n_params'])}, "
                      f"D = {format_count(o['n_tokens'])}, {format_ratio(o['tokens_per_param'])} tokens/param"
                      + rng, markup=False)
    if output is not None:
        console.print(f"saved to {output}" + (" (use it as --law FILE)" if doc["approach"] == 3
                                               else ""), markup=False)
    if plot is not None:
        console.print(f"figure saved to {plot}", markup=False)
    if doc["warnings"]:
        warn(doc["warnings"])
    console.print()
    assumptions(doc["assumptions"])
