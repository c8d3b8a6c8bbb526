"""The `plan` verb: one page for a whole training run."""

from typing import Annotated, Optional

import typer

from scalinglab.cli._common import verb_app
from scalinglab.cli import hardware as hw
from scalinglab.cli._common import Json, assumptions, console, kv, print_json, table
from scalinglab.laws import DEFAULT_LAW
from scalinglab import api
from scalinglab.units import format_count, format_flops, format_pf_days

app = verb_app()


def _f(x, spec) -> str:
    return "-" if x is None else format(x, spec)


def _caption(p) -> str | None:
    """What the rows of laws of another form mean (from what each law declares)."""
    from scalinglab.laws import get_laws

    laws = {lw.id: lw for lw in get_laws("all")}
    odd = [laws[lid] for lid in p.losses if lid in laws and (not laws[lid].additive
                                                              or not laws[lid].can("loss"))]
    lines = [f"{lw.id}: " + (f"not additive, {lw.formula}; its terms are L(N, D = inf) and the "
                             f"finite-D excess; N counts {lw.counts} parameters; optimum: "
                             f"{lw.optimum_formula}" if lw.can("loss") else
                             f"no L(N, D); optimum: {lw.optimum_formula}") for lw in odd]
    return "\n".join(lines) or None


@app.command("plan")
def plan_cmd(
    compute: Annotated[Optional[str], typer.Option("--compute", "-c",
                                                   help="Budget in FLOP or PF-days.")] = None,
    params: Annotated[Optional[str], typer.Option("--params", "-n", help="Parameters N.")] = None,
    tokens: Annotated[Optional[str], typer.Option("--tokens", "-d", help="Tokens D.")] = None,
    target_loss: Annotated[Optional[float], typer.Option("--loss", help="Target loss.")] = None,
    law: Annotated[str, typer.Option("--law", help="The plan's law id (see `scalinglab laws`) or a "
                                                   "fit saved as JSON; every law is shown beside it.")] = DEFAULT_LAW,
    gpu: hw.GpuOpt = None,
    n_gpus: hw.NGpusOpt = None,
    days: Annotated[Optional[str], typer.Option("--days", help="With --gpu: days on n_gpus set "
                                                "the compute budget.")] = None,
    dtype: hw.DtypeOpt = hw.DEFAULT_DTYPE,
    mfu: hw.MfuOpt = None,
    sparse: hw.SparseOpt = False,
    price: hw.PriceOpt = None,
    inference_tokens: Annotated[Optional[str], typer.Option(
        "--inference-tokens", help="Tokens served: lifetime FLOP and the inference-aware optimum.")] = None,
    unique_tokens: Annotated[Optional[str], typer.Option(
        "--unique-tokens", help="Unique tokens available: repeated-data loss and best split.")] = None,
    arch: Annotated[Optional[str], typer.Option("--arch", help="N from an architecture: preset or "
                                                               "config.json (exact count); with "
                                                               "--gpu, a memory check.")] = None,
    json: Json = False,
    report: Annotated[Optional[str], typer.Option(
        "--report", help="Also write a self-contained HTML report (figures, assumptions).")] = None,
):
    """A whole training plan: N, D, FLOP, PF-days, loss under every law, the 20:1 check."""
    from scalinglab.cli.beyond import print_plan_extras

    p = api.plan(compute, params, tokens, target_loss, law, arch, gpu, n_gpus, days, dtype, mfu,
                 sparse, price, inference_tokens, unique_tokens)
    if report is not None:
        from scalinglab.cli.plots import write_plan_report
        write_plan_report(p, report, law, announce=not json)
    if json:
        return print_json(p)
    c = p.compute
    console.print(f"[bold]Plan[/bold]: {p.derivation}")
    console.print(kv(None, [
        ("model", f"{format_count(p.n_params)} parameters"
                  + (f" ({p.arch.name}, exact: {p.arch.n_params:,})" if p.arch else "")),
        ("data", f"{format_count(p.n_tokens)} tokens ({p.n_tokens / p.n_params:,.1f} per param)"),
        ("compute", f"{format_flops(c.flops)} = {format_pf_days(c.pf_days)}  "
                    f"(forward {format_flops(c.forward_flops)}, backward {format_flops(c.backward_flops)})"),
        ("loss", f"{p.loss:.4f} under {p.law}" if p.loss is not None
                 else f"n/a: {p.law} has no L(N, D) (see the table)"),
    ]))
    console.print()
    console.print(table("Predicted loss by law (same N, D) and each law's optimum at this compute",
                        "law", "N counted", "loss", "E", "A/N^a", "B/D^b", "opt N", "opt D",
                        "opt D/N", "opt loss", rows=[
        (lid + (" *" if lid == p.law else ""), format_count(v.n_params), _f(v.loss, ".4f"),
         *(_f(v.terms and v.terms[t], ".3f") for t in ("irreducible", "model", "data")),
         format_count(v.optimal_at_same_compute.n_params),
         format_count(v.optimal_at_same_compute.n_tokens),
         f"{v.optimal_at_same_compute.tokens_per_param:.3g}",
         _f(v.optimal_at_same_compute.loss, ".4f")) for lid, v in p.losses.items()],
        caption=_caption(p)))
    console.print()
    console.print(f"[bold]20:1 check[/bold]: {p.ratio}", markup=True)
    print_plan_extras(p)
    console.print()
    if p.hardware is not None:
        console.print(kv("Hardware", hw.time_rows(p.hardware)))
        console.print()
    if p.memory is not None:
        from scalinglab.cli.memory import memory_summary

        memory_summary(p.memory)
        console.print()
    if p.serving is not None:
        from scalinglab.cli.infer import serving_summary

        serving_summary(p.serving)
        console.print()
    assumptions(p.assumptions)
