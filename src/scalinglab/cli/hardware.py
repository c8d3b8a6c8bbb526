"""Verbs for hardware: time (how long, GPU-hours, cost, energy), gpus (catalogue), precision."""

from typing import Annotated, Optional

import typer

from scalinglab import api
from scalinglab.cli._common import (Json, assumptions, console, kv, print_json, table, verb_app,
                                    warn)
from scalinglab.hardware import DTYPES, compare, get_accelerator, precision_table, select
from scalinglab.training import DEFAULT_DTYPE, DEFAULT_MFU, DEFAULT_PUE
from scalinglab.units import (format_bytes, format_count, format_duration, format_energy,
                              format_flops, parse_bytes)

app = verb_app()

# Options shared with `plan` (cli/plan.py imports them).
GpuOpt = Annotated[Optional[str], typer.Option("--gpu", help="Accelerator, e.g. h100, a100, "
                                                             "'tpu v5e' (see `scalinglab gpus`).")]
NGpusOpt = Annotated[Optional[str], typer.Option("--n-gpus", help="Number of accelerators "
                                                                  "(default 1).")]
DtypeOpt = Annotated[str, typer.Option("--dtype", help="Precision of the matmuls: fp32, tf32, "
                                                       "bf16, fp16, fp8, int8, int4, fp4.")]
MfuOpt = Annotated[Optional[str], typer.Option("--mfu", help=f"Model FLOPs utilisation in (0, 1] "
                                                             f"(default {DEFAULT_MFU}).")]
SparseOpt = Annotated[bool, typer.Option("--sparse", help="Use the 2:4-sparse peak (2x dense).")]
PriceOpt = Annotated[Optional[str], typer.Option("--price", help="USD per GPU-hour, e.g. 2.5 "
                                                                 "or '$2.50'.")]


def fmt_energy(kwh) -> str:
    return "n/a (no TDP in the catalogue: --power W)" if kwh is None else format_energy(kwh)


def time_rows(t) -> list:
    """The rows `time` and `plan` print for a TrainingTime."""
    a = t.accelerator
    rows = [
        ("accelerator", ("" if t.n_gpus is None else f"{t.n_gpus:,.0f} x ")
                        + f"{a.name}, {t.dtype}, {t.peak_kind} peak {t.peak_flops / 1e12:,.1f} "
                        "TFLOP/s each"),
        ("MFU", f"{t.mfu:.3g} ({t.mfu_source})"),
        ("time", "n/a: GPU-hours alone do not fix the wall-clock time (give --n-gpus)"
         if t.days is None else f"{t.days:,.1f} days" + (
             f" ({format_duration(t.seconds)})" if t.days >= 730 else "")
         if t.days >= 2 else format_duration(t.seconds)),
        ("GPU-hours", f"{format_count(t.gpu_hours)} ({format_count(t.gpu_hours / 24)} GPU-days)"),
        ("cost", f"${format_count(t.cost_usd)} at ${t.price_per_gpu_hour:g}/GPU-hour"
         if t.cost_usd is not None else "n/a (give --price USD per GPU-hour)"),
        ("energy", fmt_energy(t.energy_kwh)),
    ]
    if t.co2_kg is not None:
        rows.append(("CO2", f"{format_count(t.co2_kg / 1000)} t CO2e"))
    return rows


@app.command("time")
def time_cmd(
    flops: Annotated[Optional[str], typer.Option("--flops", "-c", help="Compute: 1e24, "
                                                 "'3.64e3 PF-days'.")] = None,
    params: Annotated[Optional[str], typer.Option("--params", "-n", help="Parameters N (C = 6ND).")] = None,
    tokens: Annotated[Optional[str], typer.Option("--tokens", "-d", help="Tokens D (C = 6ND).")] = None,
    gpu: GpuOpt = None,
    n_gpus: NGpusOpt = None,
    dtype: DtypeOpt = DEFAULT_DTYPE,
    mfu: MfuOpt = None,
    sparse: SparseOpt = False,
    price: PriceOpt = None,
    gpu_hours: Annotated[Optional[str], typer.Option("--gpu-hours", help="Reported GPU-hours: "
                                                     "solve for the MFU instead.")] = None,
    pue: Annotated[str, typer.Option("--pue", help="Datacentre PUE (>= 1).")] = str(DEFAULT_PUE),
    power: Annotated[Optional[str], typer.Option("--power", help="Watts per GPU (default: TDP).")] = None,
    grid: Annotated[Optional[str], typer.Option("--grid", help="Grid intensity, kg CO2e/kWh.")] = None,
    arch: Annotated[Optional[str], typer.Option("--arch", help="With --tokens: FLOP from this "
                                                "architecture (preset or config.json).")] = None,
    convention: Annotated[str, typer.Option("--convention", help="FLOP convention with --arch: 6N, "
                                            "kaplan, palm, chinchilla, megatron, matmul.")] = "6N",
    seq_len: Annotated[str, typer.Option("--seq-len", help="Sequence length with --arch.")] = "2048",
    mode: Annotated[Optional[str], typer.Option("--mode", help="Fine-tuning: full (6N) or lora, "
                                                "qlora, lora8 with --arch (frozen base, no weight "
                                                "gradients: 4N + 6N_adapters).")] = None,
    rank: Annotated[Optional[str], typer.Option("--rank", help="LoRA rank (default 16).")] = None,
    targets: Annotated[Optional[str], typer.Option("--targets", help="LoRA targets, e.g. q,v or "
                                                   "q_proj,v_proj (default: all linears).")] = None,
    json: Json = False,
):
    """Training time, GPU-hours, cost and energy: C / (n_gpus x peak[dtype] x MFU)."""
    t = api.training_time(flops, gpu, n_gpus, dtype, mfu, sparse, price, params, tokens, gpu_hours,
                          pue, power, grid, arch, convention, seq_len, mode, rank, targets)
    if json:
        return print_json(t)
    what = "Fine-tuning" if mode is not None else "Training"
    console.print(f"[bold]{what}[/bold] {format_flops(t.flops)}"
                  + (f" ({arch}, {mode or convention}, D = {tokens})" if arch is not None else
                     f" (6ND, N = {params}, D = {tokens})" if flops is None else ""))
    console.print(kv(None, time_rows(t)))
    warn(t.warnings)
    console.print()
    assumptions(t.assumptions)


def _tflops(a, d) -> str:
    return f"{a.peaks[d] / 1e12:,.5g}" if d in a.peaks else "-"


@app.command("gpus")
def gpus_cmd(
    name: Annotated[Optional[str], typer.Argument(help="Show one accelerator in full.")] = None,
    compare_: Annotated[Optional[tuple[str, str]], typer.Option(
        "--compare", help="Two accelerators: per-dtype peak ratios A/B.")] = None,
    vendor: Annotated[Optional[str], typer.Option("--vendor", help="NVIDIA, AMD, Google or Intel.")] = None,
    dtype: Annotated[Optional[str], typer.Option("--dtype", help="Only chips that run it.")] = None,
    min_memory: Annotated[Optional[str], typer.Option("--min-memory", help="e.g. 80GB.")] = None,
    sort: Annotated[Optional[str], typer.Option("--sort", help="Sort by a dtype's peak, or "
                                                "'memory', 'bandwidth', 'year'.")] = None,
    json: Json = False,
):
    """The accelerator catalogue: dense peak TFLOP/s per dtype, memory, bandwidth, TDP, source."""
    if compare_ is not None:
        return _compare(*compare_, json=json)
    if name is not None:
        return _show(get_accelerator(name), json)
    accs = select(vendor, dtype, None if min_memory is None else
                  parse_bytes(min_memory, "--min-memory (e.g. 80GB or 80GiB)"), sort)
    if json:
        return print_json({"accelerators": accs})
    if not accs:
        return console.print("No accelerator in the catalogue matches these filters.", markup=False)
    cols = [d for d in DTYPES if any(d in a.peaks for a in accs)]
    console.print(table("Dense peak TFLOP/s (TOP/s for int) per dtype; 2:4 sparse = 2x where 'yes'",
                        "id", *cols, "2:4", "GB", "GiB", "TB/s", "TDP W", "year", rows=[
        (a.id, *(_tflops(a, d) for d in cols), "yes" if a.sparse_2to4 else "no",
         f"{a.memory_nominal_gb:g}", f"{a.memory_gib:.1f}", f"{a.bandwidth / 1e12:.3g}",
         f"{a.tdp_w:g}" if a.tdp_w else "-", a.year) for a in accs]))
    console.print("GB: nominal memory (marketing, 1 GB = 1e9 B); GiB: as the device reports it "
                  "(nvidia-smi MiB; 1 GiB = 2^30 B). Sources, confidence and interconnect: "
                  "`scalinglab gpus NAME`.", markup=False)


def _show(a, json: bool):
    if json:
        return print_json({"accelerators": [a]})
    console.print(f"[bold]{a.name}[/bold] ({a.id}, {a.vendor}, {a.year})")
    console.print(kv(None, [
        *((d, f"{a.peaks[d] / 1e12:,.5g} {'TOP/s' if d.startswith('int') else 'TFLOP/s'} dense"
              + (f", {a.peak_flops(d, sparse=True) / 1e12:,.5g} 2:4-sparse" if a.has_sparse(d) else ""))
          for d in a.dtypes),
        ("memory", f"{a.memory_label} ({a.memory_bytes:,} B; {a.memory_confidence}: "
                   f"{a.memory_source})"),
        ("bandwidth", f"{a.bandwidth / 1e12:.4g} TB/s"),
        ("link", f"{a.interconnect_bw / 1e9:g} GB/s both directions, {a.interconnect}"
         if a.interconnect_bw else a.interconnect or "-"),
        ("TDP", f"{a.tdp_w:g} W" if a.tdp_w else "not published"),
        ("source", f"{a.source} [{a.confidence}]"), ("note", a.note),
    ]))


def _compare(a_name: str, b_name: str, json: bool):
    c = compare(a_name, b_name)
    if json:
        return print_json({"accelerators": [c.a, c.b], "comparison": c})
    rows = [(dt, _tflops(c.a, dt), _tflops(c.b, dt),
             f"{c.ratios[dt]:.2f}x" if dt in c.ratios else "-")
            for dt in DTYPES if dt in c.a.peaks or dt in c.b.peaks]
    rows += [("memory", format_bytes(c.a.memory_bytes), format_bytes(c.b.memory_bytes),
              f"{c.memory_ratio:.2f}x"),
             ("bandwidth TB/s", f"{c.a.bandwidth / 1e12:.3g}", f"{c.b.bandwidth / 1e12:.3g}",
              f"{c.bandwidth_ratio:.2f}x")]
    console.print(f"{c.a.name} vs {c.b.name}: dense peak TFLOP/s per dtype", markup=False)
    console.print(table(None, "", c.a.id, c.b.id, f"{c.a.id} / {c.b.id}", rows=rows))


def _runs_on(ids: list) -> str:
    if not ids:
        return "none: storage only (dequantised for matmuls)"
    rest = [i for i in api.accelerators() if i not in ids]
    return (f"{len(ids)}: " + ", ".join(ids) if len(ids) <= 9
            else f"{len(ids)}: all but " + ", ".join(rest))


@app.command("precision")
def precision_cmd(
    gpu: Annotated[Optional[str], typer.Option("--gpu", help="Add this accelerator's peaks.")] = None,
    json: Json = False,
):
    """Bytes per value for each dtype, its bit layout, and which accelerators run it."""
    a = get_accelerator(gpu) if gpu is not None else None
    rows = precision_table(a)
    if json:
        return print_json({"accelerator": a.id if a else None, "dtypes": rows})
    extra = (f"{a.id} TFLOP/s",) if a else ()
    console.print(table("Precisions: memory per value and the accelerators with a peak for it",
                        "dtype", "bits", "bytes", "sign/exp/mantissa", *extra, "runs on", rows=[
        (r["dtype"], f"{r['bits']:g}", f"{r['bytes']:g}", r["format"],
         *((f"{r['peak_flops'] / 1e12:,.5g}" if r["peak_flops"] else "-",) if a else ()),
         _runs_on(r["accelerators"])) for r in rows]))

    console.print("bytes: weights only; mixed-precision Adam training needs ~16 bytes/param "
                  "before activations (REFERENCES.md §5).", markup=False)
