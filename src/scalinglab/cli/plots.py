"""Verbs for pictures and the model catalogue: models, plot (and plan's --report)."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from scalinglab.cli._common import verb_app
from scalinglab.cli._common import Json, assumptions, console, print_json, table
from scalinglab.errors import InputError, unknown
from scalinglab.laws import DEFAULT_LAW
from scalinglab.units import format_count, format_ratio, format_sci, parse_flops, parse_number

from scalinglab.catalog import SORT_KEYS

app = verb_app()


def _fmt(x, f) -> str:
    return "-" if x is None else f(x)


@app.command("models")
def models_cmd(
    sort: Annotated[str, typer.Option("--sort", help="Sort by: " + ", ".join(SORT_KEYS) +
                                      " (unknown values last).")] = "year",
    reverse: Annotated[bool, typer.Option("--reverse", help="Largest first.")] = False,
    law: Annotated[str, typer.Option("--law", help="Law for the optimum and loss columns.")] =
    DEFAULT_LAW,
    json: Json = False,
):
    """Notable models: size, tokens, tokens/param against the compute-optimal ratio, 6ND against
    the reported FLOP, and the predicted loss, each row with its source and confidence."""
    from scalinglab.catalog import compare

    rows = [r.to_dict() for r in compare(law, sort=sort, reverse=reverse)]
    notes = [
        f"law: {rows[0]['law']}; 'x opt' = tokens/param divided by the law's compute-optimal "
        "tokens/param at the same 6ND compute",
        "MoE rows (marked MoE): D/N, x opt, 6ND and loss use the ACTIVE parameters, as `explain` "
        "does; the laws were fitted on dense models, so they are only a rough guide there",
        "loss: the law's prediction for a decoder LM of that N and D on the law's own data; "
        "encoder (BERT) and encoder-decoder (T5) rows are not like-for-like",
        "6ND/rep far from 1 usually means the tokens column is a dataset size, not tokens seen "
        "(GPT-1, GPT-2), or the reported FLOP counts more than 6ND",
        "confidence: reported (developer), estimated (third party), rumoured (leaks, lectures)",
        "data: Epoch AI 'All ML Systems' (CC BY 4.0), papers and model cards; `--json` has each "
        "row's source and notes",
    ]
    if json:
        return print_json({"law": rows[0]["law"], "sort": sort, "models": rows,
                           "assumptions": notes})
    console.print(table(None, "model", "released", "N", "active", "D", "D/N", "x opt", "6ND",
                        "reported", "6ND/rep", "loss", "conf.", rows=[
        (r["name"] + (" (MoE)" if r["params_counted"] == "active" else ""),
         r["released"][:7] or r["year"], _fmt(r["n_params"], format_count),
         _fmt(r["active_params"], format_count), _fmt(r["n_tokens"], format_count),
         _fmt(r["tokens_per_param"], format_ratio),
         _fmt(r["times_optimal"], format_ratio), _fmt(r["flops_6nd"], format_sci),
         _fmt(r["train_flops"], format_sci), _fmt(r["flops_6nd_over_reported"], lambda x: f"{x:.2f}"),
         _fmt(r["loss"], lambda x: f"{x:.3f}"), r["confidence"]) for r in rows]))
    assumptions(notes)


# --- plot ----------------------------------------------------------------------------------------

def read_runs(path) -> tuple:
    """(N, D, loss) arrays from a runs CSV (the same column detection as `scalinglab fit`)."""
    from scalinglab.fit.io import read_csv

    runs = read_csv(path, min_points=1)
    return runs.n_params, runs.n_tokens, runs.loss


def _check_output(output: str) -> str:
    from scalinglab.plots import FORMATS

    if Path(output).suffix.lower() not in FORMATS:
        raise InputError(f"-o {output!r}: use a file ending in {', '.join(FORMATS)}")
    return output


@app.command("plot")
def plot_cmd(
    name: Annotated[str, typer.Argument(help="isoflop, frontier, contour, history, fit, plan or "
                                             "infer.")],
    runs: Annotated[Optional[str], typer.Argument(help="plot fit: CSV of runs (N, D, loss); plot "
                                                       "infer: the model (preset or config.json).")] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="File: .png, .svg or .pdf.")] = "",
    law: Annotated[Optional[str], typer.Option("--law", help="Law id or fit.json (frontier: "
                                               "all laws unless given).")] = None,
    compute: Annotated[Optional[list[str]], typer.Option(
        "--compute", "-c", help="isoflop: budgets (repeat); plan: the budget.")] = None,
    params: Annotated[Optional[str], typer.Option("--params", "-n", help="plan: N.")] = None,
    tokens: Annotated[Optional[str], typer.Option("--tokens", "-d", help="plan: D.")] = None,
    target_loss: Annotated[Optional[float], typer.Option("--loss", help="plan: target.")] = None,
    gpu: Annotated[Optional[list[str]], typer.Option("--gpu", help="infer: accelerator (repeat "
                                                                   "to compare).")] = None,
    weights: Annotated[Optional[list[str]], typer.Option("--weights", help="infer: weight dtype "
                                                         "(repeat to compare; default bf16).")] = None,
    n_gpus: Annotated[str, typer.Option("--n-gpus", help="infer: tensor-parallel GPUs.")] = "1",
    prompt: Annotated[str, typer.Option("--prompt", help="infer: prompt tokens.")] = "2048",
    out_tokens: Annotated[str, typer.Option("--output-tokens", help="infer: output tokens per "
                                                                    "request.")] = "512",
    max_tpot: Annotated[Optional[str], typer.Option("--max-tpot", help="infer: latency target, "
                                                                       "e.g. 50ms.")] = None,
    interconnect: Annotated[Optional[str], typer.Option("--interconnect", help="infer: GB/s per "
                                                        "direction between GPUs.")] = None,
    json: Json = False,
):
    """Draw a figure to a file: isoflop, frontier, contour, history, fit (runs CSV), plan or infer
    (throughput vs latency over batch size for a model on one or several GPUs / dtypes)."""
    from scalinglab import plots
    from scalinglab.laws import LAWS, get_law

    name = name.lower()
    if name not in plots.FIGURES:
        raise unknown("figure", name, plots.FIGURES)
    if not output:
        raise InputError("give the output file with -o FILE (.png, .svg or .pdf)")
    _check_output(output)
    if runs is not None and name not in ("fit", "infer"):
        raise InputError(f"only `plot fit` takes a runs file (got {runs!r} for {name})")
    if name == "infer":
        return _infer(runs, output, gpu, weights, n_gpus, prompt, out_tokens, max_tpot,
                      interconnect, json)
    budgets = [parse_flops(c) for c in compute or ()]
    every = law is not None and law.lower() == "all"
    if every and name != "frontier":
        raise InputError("--law all only applies to `plot frontier`; give one law id")
    lw = get_law(DEFAULT_LAW if law is None or every else law)
    if name == "isoflop":
        fig = plots.isoflop_figure(budgets, lw) if budgets else plots.isoflop_figure(law=lw)
    elif name == "frontier":
        laws = list(LAWS.values()) if law is None or every else [lw]
        fig = plots.frontier_figure(laws)
    elif name == "contour":
        fig = plots.contour_figure(lw)
    elif name == "history":
        fig = plots.history_figure()
    elif name == "fit":
        if runs is None:
            raise InputError("`plot fit` needs a CSV of runs with N, D (or C) and loss columns")
        fig = plots.fit_figure(*read_runs(runs), lw)
    else:
        fig = plots.plan_figure(_plan(budgets, params, tokens, target_loss, lw), [lw])
    path = plots.save(fig, output)
    used = (None if name == "history" else [x.id for x in laws] if name == "frontier" else lw.id)
    if json:
        return print_json({"figure": name, "path": str(path), "format": path.suffix[1:].lower(),
                           "law": used})
    console.print(f"wrote {path} ({name}" + (f", law {used}" if isinstance(used, str) else "")
                  + ")")


def _infer(arch, output, gpus, weights, n_gpus, prompt, out_tokens, max_tpot, interconnect,
           json) -> None:
    """`plot infer ARCH --gpu G [--gpu G2] [--weights W ...]`: one curve per GPU x weights."""
    from scalinglab import api, plots

    if arch is None:
        raise InputError("`plot infer` needs a model: plot infer llama-2-7b --gpu a100 -o FILE")
    curves = api.infer_sweeps(arch, gpus, weights or ["bf16"], n_gpus, prompt, out_tokens,
                              max_tpot, interconnect)
    path = plots.save(plots.infer_figure(curves, curves[0].max_tpot_s), output)
    labels = [plots.setup_label(c) for c in curves]
    if json:
        return print_json({"figure": "infer", "path": str(path),
                           "format": path.suffix[1:].lower(), "law": None, "curves": labels})
    console.print(f"wrote {path} (infer: {', '.join(labels)})")


def _plan(budgets, params, tokens, target_loss, law):
    from scalinglab.plan import make_plan

    if len(budgets) > 1:
        raise InputError("a plan takes one --compute budget")
    return make_plan(compute=budgets[0] if budgets else None,
                     n_params=parse_number(params, "--params") if params is not None else None,
                     n_tokens=parse_number(tokens, "--tokens") if tokens is not None else None,
                     loss=target_loss, law=law)



def write_plan_report(plan, path, law=DEFAULT_LAW, announce=True, inputs=None) -> None:
    """`plan --report FILE`: write the self-contained HTML page of a plan made under `law`;
    inputs: the options given, which the page shows as its command line."""
    from scalinglab.laws import get_law
    from scalinglab.report import write_report

    if Path(path).suffix.lower() not in (".html", ".htm"):
        raise InputError(f"--report {path!r}: use a file ending in .html")
    out = write_report(plan, path, [get_law(law)], inputs)
    if announce:
        console.print(f"report written to {out}")
