"""The `plan` verb: one page for a whole training run."""

from typing import Annotated, Optional

import typer

from scalinglab.cli._common import verb_app
from scalinglab.cli import hardware as hw
from scalinglab.cli._common import Json, assumptions, console, kv, print_json, table, warn
from scalinglab.laws import DEFAULT_LAW
from scalinglab import api
from scalinglab.units import format_count, format_flops, format_pf_days, format_ratio

app = verb_app()


def _f(x, spec) -> str:
    return "-" if x is None else format(x, spec)


def given_options(ctx, *leave_out) -> dict:
    """The options given on the command line, as typed: {"--gpu": "h100", "--sparse": True}."""
    out = {}
    for param in ctx.command.params:
        source = ctx.get_parameter_source(param.name)
        flag = param.opts[0] if param.opts else param.name
        if source is not None and source.name == "COMMANDLINE" and flag not in leave_out:
            out[flag] = ctx.params[param.name]
    return out


def _caption(p) -> str | None:
    from scalinglab.laws.base import form_notes

    return "\n".join(form_notes(p.losses)) or None


@app.command("plan")
def plan_cmd(
    ctx: typer.Context,
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
    family: Annotated[Optional[str], typer.Option(
        "--family", help="Without --arch: the family of the suggested shape (llama, llama3, "
                         "gpt3; see `scalinglab shape`).")] = None,
    seq_len: Annotated[Optional[str], typer.Option(
        "--seq-len", help="Memory check: training sequence length (default 2048).")] = None,
    micro_batch: Annotated[Optional[str], typer.Option(
        "--micro-batch", help="Memory check: sequences per GPU per step (default 1).")] = None,
    recompute: Annotated[Optional[str], typer.Option(
        "--recompute", help="Memory check: none | selective (default) | full.")] = None,
    json: Json = False,
    report: Annotated[Optional[str], typer.Option(
        "--report", help="Also write a self-contained HTML report (figures, assumptions).")] = None,
):
    """A whole training plan: N, D, FLOP, PF-days, loss under every law, the 20:1 check."""
    from scalinglab.cli.beyond import print_plan_extras

    p = api.plan(compute, params, tokens, target_loss, law, arch, gpu, n_gpus, days, dtype, mfu,
                 sparse, price, inference_tokens, unique_tokens, family, seq_len, micro_batch,
                 recompute)
    if report is not None:
        from scalinglab.cli.plots import write_plan_report
        write_plan_report(p, report, law, announce=not json, inputs=given_options(ctx, "--report"))
    if json:
        return print_json(p)
    c = p.compute
    console.print(f"[bold]Plan[/bold]: {p.derivation}")
    console.print(kv(None, [
        ("model", f"{format_count(p.n_params)} parameters"
                  + (f" ({p.arch.name}, exact: {p.arch.n_params:,})" if p.arch else "")),
        ("data", f"{format_count(p.n_tokens)} tokens ({format_ratio(p.tokens_per_param)} per param)"),
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
         format_ratio(v.optimal_at_same_compute.tokens_per_param),
         _f(v.optimal_at_same_compute.loss, ".4f")) for lid, v in p.losses.items()],
        caption=_caption(p)))
    console.print()
    console.print(f"[bold]20:1 check[/bold]: {p.ratio}", markup=True)
    print_plan_extras(p)
    console.print()
    if p.shape is not None:
        from scalinglab.cli.shape import shape_rows

        console.print(kv(f"Shape (suggested, {p.shape.family} family; --arch to give one)",
                         shape_rows(p.shape)))
        console.print()
    if p.hardware is not None:
        console.print(kv("Hardware", hw.time_rows(p.hardware)))
        console.print()
    if p.warnings:
        warn(p.warnings)
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
