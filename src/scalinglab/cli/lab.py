"""The `lab` verbs: plan a ladder, train it, fit it, measure the peak. Thin: the work is in lab/."""

import contextlib
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from scalinglab.cli._common import Json, assumptions, console, kv, print_json, table, verb_app
from scalinglab.errors import InputError
from scalinglab.laws import DEFAULT_LAW
from scalinglab.units import (format_bytes, format_count, format_duration, format_sci,
                              parse_flops)

app = verb_app()
lab = typer.Typer(name="lab", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Train your own ladder of small models, fit your own law, test its "
                       "prediction (needs torch: pip install 'scalinglab[lab]').")
app.add_typer(lab, name="lab")

def _default_budgets() -> str:
    from scalinglab.lab.ladder import DEFAULT_BUDGETS

    return ",".join(f"{b:g}" for b in DEFAULT_BUDGETS)


def _budgets(text: str) -> list:
    return [parse_flops(b, "--budgets") for b in text.split(",") if b.strip()]


@lab.command("plan")
def plan_cmd(
    budgets: Annotated[Optional[str], typer.Option("--budgets", help="Compute budgets per run, "
                       "FLOP, comma-separated (default 5e11,1e12,2e12,4e12).")] = None,
    sizes: Annotated[int, typer.Option("--sizes", help="Model sizes per budget.")] = 5,
    corpus: Annotated[str, typer.Option("--corpus", help="stdlib (CPython's standard library) "
                                        "or a text file or folder.")] = "stdlib",
    law: Annotated[str, typer.Option("--law", help="Law whose optimum centres each budget.")] =
    DEFAULT_LAW,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every run.")] = 0,
    rules: Annotated[Optional[list[str]], typer.Option("--set", help="A rule KEY=VALUE (any key "
                     "of the TOML's [rules]; repeatable), e.g. --set seq_len=256.")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the ladder "
                      "TOML here (edit it, then `lab run` it).")] = None,
    json: Json = False,
):
    """Plan a ladder: shapes around a law's optimum per budget, hyperparameters by rule."""
    from scalinglab.lab.ladder import RULES, parse_rules, plan, to_toml
    from scalinglab.lab.store import write_atomic

    ladder = plan(_budgets(budgets or _default_budgets()), corpus=corpus, seed=seed,
                  name=output.stem if output else "ladder",
                  **{"law": law, "sizes": sizes, **parse_rules(rules or [])})
    if output is not None:
        if not output.parent.is_dir():
            raise InputError(f"cannot write {str(output)!r}: folder {str(output.parent)!r} "
                             "does not exist")
        write_atomic(output, to_toml(ladder))
    if json:
        return print_json(ladder.to_dict())
    console.print(f"[bold]Ladder[/bold] {ladder.name} ({ladder.hash}): {len(ladder.rungs)} runs, "
                  f"{format_sci(ladder.total_flops)} FLOP in all, corpus {ladder.corpus} "
                  f"(sha256 {ladder.corpus_sha256[:12]}...)")
    console.print(table(None, "rung", "N", "d x L (heads)", "D", "D/N", "batch", "steps", "lr",
                        "warmup", rows=[
        (r.id, format_count(r.n_params), f"{r.d_model} x {r.n_layers} ({r.n_heads})",
         format_count(r.n_tokens), f"{r.tokens_per_param:.1f}", f"{r.batch_tokens:,}",
         f"{r.steps:,}", f"{r.lr:.2e}", r.warmup_steps) for r in ladder.rungs]))
    centres = ", ".join(f"{format_sci(c)}: {format_count(n)}" for c, n in
                        zip(ladder.budgets, ladder.centres))
    console.print(f"law {ladder.rules.law}: compute-optimal N at {centres}", markup=False)
    if output is not None:
        console.print(f"saved to {output}: edit any rule or rung, then `scalinglab lab run "
                      f"{output} -o runs/`", markup=False)
    console.print()
    assumptions([f"shapes: {ladder.shape_rule}", f"FLOP per token: {ladder.flops_formula}"]
                + [f"{k} = {getattr(ladder.rules, k):g}: {RULES[k]}"
                   if isinstance(getattr(ladder.rules, k), float)
                   else f"{k} = {getattr(ladder.rules, k)}: {RULES[k]}" for k in RULES])


class _Bars:
    """Rich progress bars on stderr (the ladder's rungs, each running rung's steps), or nothing."""

    def __init__(self, bar):
        self.bar, self.rungs = bar, {}
        self.ladder_task = bar.add_task("ladder", total=1)

    def ladder(self, total, done, todo):
        self.bar.update(self.ladder_task, total=total, completed=done,
                        description=f"ladder ({len(todo)} to train)")

    def start(self, rung):
        self._drop(rung.id)  # a retried rung starts a new bar
        self.rungs[rung.id] = self.bar.add_task(f"{rung.id} (N {format_count(rung.n_params)})",
                                                total=rung.steps)

    def step(self, rung, step, steps, loss):
        self.bar.update(self.rungs[rung.id], completed=step,
                        description=f"{rung.id} (N {format_count(rung.n_params)}) loss {loss:.3f}")

    def done(self, result):
        self._drop(result.rung)
        self.bar.advance(self.ladder_task)

    def _drop(self, rung_id):
        if rung_id in self.rungs:
            self.bar.remove_task(self.rungs.pop(rung_id))


@contextlib.contextmanager
def _progress():
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True),
                  transient=True) as bar:
        yield _Bars(bar)


@lab.command("run")
def run_cmd(
    ladder_file: Annotated[Path, typer.Argument(help="The ladder TOML (from `lab plan -o`).")],
    out: Annotated[Path, typer.Option("--output", "-o", help="Folder for the results (runs/); "
                                      "rerun to resume.")],
    engine: Annotated[str, typer.Option("--engine", help="local (this machine, one rung after "
                                        "another) or ray (every rung a Ray task; needs "
                                        "scalinglab[cluster]; docs/cluster.md).")] = "local",
    address: Annotated[Optional[str], typer.Option("--address", help="Ray cluster: auto, "
                       "HOST:PORT or ray://HOST:10001 (default: a local instance on "
                       "127.0.0.1).")] = None,
    cpus_per_run: Annotated[Optional[float], typer.Option("--cpus-per-run", help="Ray: CPUs "
                            "each rung asks for, and its CPU threads (default 1).")] = None,
    gpus_per_run: Annotated[Optional[float], typer.Option("--gpus-per-run", help="Ray: GPUs "
                            "each rung asks for (default 0).")] = None,
    retries: Annotated[Optional[int], typer.Option("--retries", help="Ray: times a rung whose "
                       "worker died is retried (default 2).")] = None,
    checkpoints: Annotated[Optional[str], typer.Option("--checkpoints", help="Ray: shared (OUT/"
                           "work, which every worker must reach; default) or worker (each "
                           "worker's own disk, results through the object store).")] = None,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Train rungs recorded as "
                            "failed again (default: list them, leave them).")] = False,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = "auto",
    threads: Annotated[Optional[int], typer.Option("--threads", help="CPU threads (default: "
                       "per rung, the faster of 1 and all cores for one of its steps; with "
                       "--engine ray: --cpus-per-run).")] = None,
    peak_flops: Annotated[Optional[str], typer.Option("--peak-flops", help="Peak FLOP/s for MFU "
                          "(default: measured on CPU, the catalogue's on GPU).")] = None,
    only: Annotated[Optional[str], typer.Option("--only", help="Train only these rung ids "
                    "(comma-separated).")] = None,
    json: Json = False,
):
    """Train every rung not yet finished in OUT; finished ones are skipped, a killed one resumes."""
    from scalinglab.lab.engines import run_ladder
    from scalinglab.lab.ladder import load_ladder

    given = {k: v for k, v in (("address", address), ("cpus_per_run", cpus_per_run),
                               ("gpus_per_run", gpus_per_run), ("retries", retries),
                               ("checkpoints", checkpoints)) if v is not None}
    if given and engine != "ray":
        flags = ", ".join("--" + k.replace("_", "-") for k in given)
        raise InputError(f"{flags}: for --engine ray; the {engine} engine runs here")
    if threads is not None and threads < 1:
        raise InputError(f"--threads must be at least 1, got {threads}")
    ladder = load_ladder(ladder_file)
    ids = None
    if only is not None:
        ids = {s.strip() for s in only.split(",") if s.strip()}
        for i in ids:
            ladder.rung(i)
    peak = parse_flops(peak_flops, "--peak-flops") if peak_flops else None
    try:
        with _progress() as bars:
            run = run_ladder(ladder, out, engine, device, peak, threads, bars, ids,
                             engine_options=given, retry_failed=retry_failed)
    except KeyboardInterrupt:
        print(f"scalinglab: interrupted; finished results are in {out}, the rung in training "
              "saved a checkpoint: run the same command again to resume", file=sys.stderr)
        raise typer.Exit(130)
    if json:
        return print_json(run.to_dict())
    console.print(f"{out}: {len(run.trained)} rung(s) trained, {len(run.skipped)} already "
                  f"finished, of {run.n_rungs}, in {format_duration(run.seconds)}", markup=False)
    for rid, why in run.redone:
        console.print(f"  {rid}: result was {why}; trained again", markup=False)
    for rid, error in run.failed:
        console.print(f"  {rid}: FAILED ({error}); recorded, the ladder went on", markup=False)
    for rid, error in run.failed_earlier:
        console.print(f"  {rid}: failed earlier ({error}); --retry-failed trains it again",
                      markup=False)
    _show_engine(run.engine_report)
    console.print(f"next: scalinglab lab fit {out}", markup=False)


def _show_engine(r: dict) -> None:
    if "cluster" not in r:
        return
    console.print(f"ray: {r['cluster']}, {r['nodes']} node(s), {r['cluster_cpus']:g} CPUs, "
                  f"{r['cluster_gpus']:g} GPUs; each rung {r['cpus_per_run']:g} CPU(s), "
                  f"{r['gpus_per_run']:g} GPU(s)", markup=False)
    retried = ", ".join(f"{k} x{n}" for k, n in r["retried"].items()) or "none"
    console.print(f"  retried after a worker died: {retried} (at most {r['max_retries']} each)",
                  markup=False)
    console.print(f"  {r['resume']}", markup=False)
    b = r["bytes"]
    console.print(f"  moved: {format_bytes(b['results_through_object_store'])} of results through "
                  f"the object store, {format_bytes(b['checkpoints_to_shared_folder'])} of "
                  f"checkpoints to the shared folder ({format_bytes(b['checkpoints_kept_on_workers'])}"
                  " kept on the workers)", markup=False)


@lab.command("fit")
def fit_cmd(
    runs: Annotated[Path, typer.Argument(help="The runs/ folder of `lab run`.")],
    n_boot: Annotated[int, typer.Option("--bootstrap", help="Bootstrap resamples for the "
                      "intervals.")] = 4000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")] = 0,
    starts: Annotated[Optional[int], typer.Option("--starts", help="Approach 3 starts from the "
                      "4,500-point grid (default: all).")] = None,
    report: Annotated[Optional[Path], typer.Option("--report", help="HTML report (default: "
                      "RUNS/report.html).")] = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="isoFLOP figure (default: "
                    "RUNS/isoflop.png).")] = None,
    json: Json = False,
):
    """Fit the runs (Approach 2 and 3), test the law on the largest budget, write the report."""
    from scalinglab.lab.report import fit_runs

    res = fit_runs(runs, n_boot=n_boot, seed=seed, report=report, plot=plot, starts=starts)
    if json:
        return print_json(res.to_dict())
    _show_fit(res)


def _show_fit(res) -> None:
    console.print(f"[bold]{res.n_runs} runs[/bold] in {res.runs_dir} -> {res.csv}", markup=True)
    console.print(table(None, "budget", "runs", "best run", "best loss", "parabola N*",
                        "loss at N*", "D*/N*", "note", rows=[
        (format_sci(b["flops"]), b["n_runs"], b["best_rung"], f"{b['best_loss']:.4f}",
         format_count(b["n_opt"]) if b["n_opt"] else "-",
         f"{b['loss_opt']:.4f}" if b["loss_opt"] else "-",
         f"{b['tokens_per_param']:.1f}" if b["tokens_per_param"] else "-", b["note"])
        for b in res.budgets]))
    for name, f in (("Approach 3", res.approach3), ("Approach 2", res.approach2)):
        console.print(f"{name}: {f['summary']}", markup=False)
    h = res.holdout
    console.print(f"[bold]Held-out budget[/bold] {format_sci(h['flops'])}: {h['summary']}")
    console.print(kv(None, [("report", res.html), ("figure", res.figure)]))
    console.print()
    assumptions(res.assumptions)


@lab.command("peak")
def peak_cmd(
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = "auto",
    threads: Annotated[Optional[int], typer.Option("--threads", help="CPU threads (default: "
                       "all cores).")] = None,
    json: Json = False,
):
    """The peak FLOP/s the lab's MFU is measured against: measured fp32 matmul on CPU, the
    catalogue's dense bf16 on a GPU."""
    from scalinglab.lab.device import peak

    p = peak(device, threads)
    if json:
        return print_json(p.to_dict())
    console.print(f"peak {p.peak_flops / 1e9:,.1f} GFLOP/s ({p.dtype}) on {p.name}, "
                  f"{p.threads or ''}{' thread(s)' if p.threads else ''}", markup=False)
    if p.by_size:
        console.print("  " + ", ".join(f"n={n}: {f / 1e9:,.1f}" for n, f in p.by_size.items())
                      + " GFLOP/s", markup=False)
    console.print(f"  {p.method}", markup=False)

