"""The `plan` verb: one page for a whole training run."""

from typing import Annotated, Optional

import typer

from scalinglab.cli import app
from scalinglab.cli import hardware as hw
from scalinglab.cli._common import Json, assumptions, console, kv, print_json, table
from scalinglab.cli.core import KAPLAN_NOTE
from scalinglab.laws import DEFAULT_LAW
from scalinglab.plan import make_plan
from scalinglab.units import (format_count, format_flops, format_pf_days, parse_flops,
                              parse_fraction, parse_number)


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
    from scalinglab.cli.beyond import parse_tokens_or_zero, print_plan_extras

    num = hw.parse_optional  # an option not given stays None
    p = make_plan(
        compute=num(parse_flops, compute, "compute"),
        n_params=num(parse_number, params, "--params"),
        n_tokens=num(parse_number, tokens, "--tokens"),
        loss=target_loss, law=law, arch=arch, gpu=gpu,
        n_gpus=hw.parse_n_gpus(n_gpus) if n_gpus is not None else None,
        days=num(parse_number, days, "--days"), dtype=dtype,
        mfu=num(parse_fraction, mfu, "--mfu"), sparse=sparse, price=hw.parse_price(price),
        inference_tokens=num(parse_tokens_or_zero, inference_tokens, "--inference-tokens"),
        unique_tokens=num(parse_number, unique_tokens, "--unique-tokens"),
    )
    if report is not None:
        from scalinglab.cli.plots import write_plan_report
        write_plan_report(p, report, law, announce=not json)
    if json:
        return print_json(p.to_dict())
    c = p.compute
    console.print(f"[bold]Plan[/bold]: {p.derivation}")
    console.print(kv(None, [
        ("model", f"{format_count(p.n_params)} parameters"
                  + (f" ({p.arch['name']}, exact: {p.arch['n_params']:,})" if p.arch else "")),
        ("data", f"{format_count(p.n_tokens)} tokens ({p.n_tokens / p.n_params:,.1f} per param)"),
        ("compute", f"{format_flops(c.flops)} = {format_pf_days(c.pf_days)}  "
                    f"(forward {format_flops(c.forward_flops)}, backward {format_flops(c.backward_flops)})"),
        ("loss", f"{p.loss:.4f} under {p.law}"),
    ]))
    console.print()
    console.print(table("Predicted loss by law (same N, D) and each law's optimum at this compute",
                        "law", "loss", "E", "A/N^a", "B/D^b", "opt N", "opt D", "opt D/N",
                        "opt loss", rows=[
        (lid + (" *" if lid == p.law else ""), f"{r['loss']:.4f}",
         f"{r['terms']['irreducible']:.3f}", f"{r['terms']['model']:.3f}",
         f"{r['terms']['data']:.3f}", format_count(r["optimal_at_same_compute"]["n_params"]),
         format_count(r["optimal_at_same_compute"]["n_tokens"]),
         f"{r['optimal_at_same_compute']['tokens_per_param']:.3g}",
         f"{r['optimal_at_same_compute']['loss']:.4f}") for lid, r in p.losses.items()],
        caption=(f"{KAPLAN_NOTE}; its optimum is Table 6's N_opt ~ C^0.73, not its curve's minimum"
                 if "kaplan2020" in p.losses else None)))
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
