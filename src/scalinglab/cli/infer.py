"""The `infer` verb: how fast and how cheap a model serves (the roofline in inference.py)."""

from typing import Annotated, Optional

import typer

from scalinglab.cli._common import Json, assumptions, console, print_json, table, verb_app
from scalinglab.units import format_bytes

app = verb_app()


def ms(seconds) -> str:
    return "n/a" if seconds is None else (f"{seconds:.3g} s" if seconds >= 1 else
                                          f"{seconds * 1e3:.3g} ms")


def usd(x) -> str:
    return "-" if x is None else f"${x:,.3g}"


def rate(x) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


@app.command("infer")
def infer_cmd(
    arch: Annotated[str, typer.Argument(help="Preset (llama-2-7b; see `scalinglab params`) or a "
                                             "config.json path.")],
    gpu: Annotated[Optional[str], typer.Option("--gpu", help="Accelerator, e.g. a100, h100 "
                                                             "(see `scalinglab gpus`).")] = None,
    n_gpus: Annotated[str, typer.Option("--n-gpus", help="GPUs, tensor parallel.")] = "1",
    weights: Annotated[str, typer.Option("--weights", help="bf16 fp16 fp8 int8 int4 (= AWQ/GPTQ "
                                                           "int4-g128), GGUF q4_k..., "
                                                           "'4.85bpw'.")] = "bf16",
    kv_dtype: Annotated[Optional[str], typer.Option("--kv-dtype", help="KV cache dtype (default: "
                                                    "16-bit).")] = None,
    compute_dtype: Annotated[Optional[str], typer.Option(
        "--compute-dtype", help="The peak the matmuls run at (default: the weights' format's).")] = None,
    batch: Annotated[str, typer.Option("--batch", "-b", help="Batch sizes, e.g. 1,8,64,256.")] = "1,8,64,256",
    prompt: Annotated[str, typer.Option("--prompt", help="Prompt tokens per request.")] = "2048",
    output: Annotated[str, typer.Option("--output", help="Output tokens per request.")] = "512",
    price: Annotated[Optional[str], typer.Option("--price", help="USD per GPU-hour.")] = None,
    max_tpot: Annotated[Optional[str], typer.Option("--max-tpot", help="Latency target per output "
                                                    "token, e.g. 50ms: the largest batch meeting "
                                                    "it that fits.")] = None,
    compute_efficiency: Annotated[Optional[str], typer.Option(
        "--compute-efficiency", help="Share of peak FLOP/s achieved (default 0.76).")] = None,
    bandwidth_efficiency: Annotated[Optional[str], typer.Option(
        "--bandwidth-efficiency", help="Share of memory bandwidth achieved (default 0.834).")] = None,
    interconnect: Annotated[Optional[str], typer.Option(
        "--interconnect", help="GB/s per direction between GPUs (default: the catalogue's).")] = None,
    allreduce_latency: Annotated[Optional[str], typer.Option(
        "--allreduce-latency", help="Latency of one all-reduce (default 6us).")] = None,
    json: Json = False,
):
    """Serving speed and cost: TTFT, TPOT, tokens/s per sequence and per GPU, the bound, memory,
    $ per million tokens, over batch sizes."""
    from scalinglab import api

    e = api.infer(arch, gpu, n_gpus, weights, kv_dtype, batch=batch, prompt=prompt, output=output,
                  price=price, max_tpot=max_tpot, compute_dtype=compute_dtype,
                  compute_efficiency=compute_efficiency,
                  bandwidth_efficiency=bandwidth_efficiency, interconnect=interconnect,
                  allreduce_latency=allreduce_latency)
    if json:
        return print_json(e)
    show(e)


def show(e) -> None:
    s = e.setup
    console.print(f"[bold]{s.model}[/bold] on {s.n_gpus} x {s.gpu}, {s.weights} weights "
                  f"({s.weight_bits:.4g} bits), {s.kv_dtype} KV cache, matmuls in "
                  f"{s.compute_dtype}; prompt {e.prompt:,}, output {e.output:,} tokens")
    console.print(table(None, "batch", "TTFT", "TPOT", "tok/s/seq", "tok/s", "tok/s/GPU", "bound",
                        "weights read", "mem/GPU", "fits", "$/M out", "$/M in",
                        rows=[(f"{r['batch']:,}", ms(r["ttft_s"]), ms(r["tpot_s"]),
                               rate(r["tokens_per_s_per_sequence"]), rate(r["tokens_per_s"]),
                               rate(r["tokens_per_s_per_gpu"]), r["bound"],
                               format_bytes(r["weights_read_bytes"]),
                               format_bytes(r["memory_per_gpu_bytes"]),
                               "yes" if r["fits"] else "NO",
                               usd(r["usd_per_million_output_tokens"]),
                               usd(r["usd_per_million_input_tokens"])) for r in e.rows]))
    for line in summary(e):
        console.print(line, markup=False)
    console.print()
    assumptions(e.assumptions)


def summary(e) -> list[str]:
    """The lines under the table: memory vs bytes read (MoE), the knee, the fit, the target."""
    s = e.setup
    lines = [f"weights in memory: {format_bytes(s.weights_bytes)} (every parameter"
             + (f", all {s.spec.n_experts} experts of each MoE layer" if s.is_moe else "")
             + f"), {format_bytes(s.weights_per_gpu_bytes)} per GPU"]
    if s.is_moe:
        lines.append("weights read per decode step (only the experts the batch touches, "
                     "E (1 - (1 - k/E)^B) per layer): " + ", ".join(
                         f"batch {r['batch']:,}: {r['experts_touched']:.3g} of {s.spec.n_experts}"
                         f" -> {format_bytes(r['weights_read_bytes'])}" for r in e.rows))
    knee = e.compute_bound_batch
    lines.append(f"decode turns compute-bound from batch {knee:,} (the compute roof: "
                 f"{rate(e.compute_roof)} tokens/s per GPU)" if knee else
                 "decode stays memory-bound at every batch: each sequence's KV cache read costs "
                 "more time than its FLOPs")
    lines.append(f"memory: at most {e.max_fit_batch:,} sequences of {e.prompt + e.output:,} "
                 f"tokens fit on {s.n_gpus} x {s.gpu}" if e.max_fit_batch else
                 f"memory: not even one sequence of {e.prompt + e.output:,} tokens fits")
    if e.rows[0]["kwh_per_million_output_tokens"] is not None:
        lines.append("energy per million output tokens (TDP x PUE): " + ", ".join(
            f"batch {r['batch']:,}: {r['kwh_per_million_output_tokens']:.3g} kWh" for r in e.rows))
    if e.verdict:
        lines.append(f"--max-tpot: {e.verdict}")
    return lines


def serving_summary(c) -> None:
    """`plan --inference-tokens T` with --arch and --gpu: what serving T tokens takes."""
    from scalinglab.units import format_count

    console.print(f"[bold]Serving[/bold] {format_count(c.tokens)} tokens: "
                  f"{format_count(c.gpu_hours)} GPU-hours on {c.n_gpus} x {c.gpu} per replica"
                  + (f", ${format_count(c.cost_usd)}" if c.cost_usd is not None else
                     " (give --price for the cost)"))
    console.print(f"  batch {c.batch:,}, TPOT {ms(c.tpot_s)}, TTFT {ms(c.ttft_s)}, "
                  f"{rate(c.tokens_per_s_per_gpu)} prompt + output tokens/s per GPU; {c.weights} "
                  f"weights", markup=False)
    console.print(f"  - {c.assumptions[-1]}", markup=False)
