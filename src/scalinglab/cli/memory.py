"""The `memory` verb: will this model fit on this GPU for training, fine-tuning or inference?"""

from typing import Annotated, Optional

import typer

from scalinglab.cli._common import verb_app
from scalinglab.cli._common import Json, assumptions, console, print_json, table
from scalinglab.memory import LORA_MODES, LORA_TARGETS, MemoryEstimate, RESERVE_BYTES
from scalinglab import api
from scalinglab.units import bytes_unit, format_bytes, format_gib, format_share

app = verb_app()


def size(n: float) -> str:
    """A size in decimal and binary units, so that GB and GiB cannot be confused."""
    return f"{format_bytes(n)} ({format_gib(n)})"


def verdict(e: MemoryEstimate) -> str:
    """One line: fits or not, on what, and the fewest GPUs that would."""
    need = f"{size(e.per_gpu_bytes)} per GPU"
    if e.fits is None:
        return f"{need} (give --gpu for a verdict)"
    on = (f"{e.gpu} ({size(e.gpu_memory_bytes)} as the device reports it, "
          f"{size(e.usable_bytes)} after the {format_gib(e.reserve_bytes)} reserve)")
    head = f"FITS on {on}: {need}" if e.fits else f"DOES NOT FIT on {on}: {need}"
    fewest = (f"fewest GPUs that fit: {e.min_gpus}" if e.min_gpus else
              "no GPU count fits with this strategy")
    return f"{head} on {e.n_gpus} GPU(s); {fewest}"


@app.command("memory")
def memory_cmd(
    arch: Annotated[str, typer.Argument(help="Preset (llama-2-7b; see `scalinglab params`), "
                                             "a config.json path, or a size (13B: the shape "
                                             "`scalinglab shape 13B` suggests).")],
    mode: Annotated[str, typer.Option("--mode", "-m", help="train | finetune | lora | qlora | "
                                                           "lora8 (int8 base) | infer.")] = "train",
    dtype: Annotated[str, typer.Option("--dtype", help="Weights: fp32 bf16 fp16 fp8 int8 int4 "
                                                       "nf4, GGUF q4_k..., or '4.85bpw'; qlora, "
                                                       "lora8: the base (nf4, int8) or the "
                                                       "16-bit dtype.")] = "bf16",
    gpu: Annotated[Optional[str], typer.Option("--gpu", help="Accelerator for the verdict, "
                                                             "e.g. a100, h100, a10.")] = None,
    n_gpus: Annotated[str, typer.Option("--n-gpus", help="GPUs (= data x tensor x pipeline "
                                                         "parallel; inference: tensor).")] = "1",
    zero: Annotated[Optional[str], typer.Option("--zero", help="Training: ZeRO stage 0-3 "
                                                               "(3 = FSDP; default 0).")] = None,
    batch: Annotated[str, typer.Option("--batch", "-b", help="Micro-batch (sequences) per "
                                                             "GPU.")] = "1",
    seq: Annotated[str, typer.Option("--seq", "-s", help="Training sequence length.")] = "2048",
    context: Annotated[Optional[str], typer.Option("--context", help="Inference tokens in the "
                                                                     "KV cache (default --seq).")] = None,
    tp: Annotated[Optional[str], typer.Option("--tp", help="Training: tensor parallel (default "
                                                           "1; inference: --n-gpus).")] = None,
    pp: Annotated[str, typer.Option("--pp", help="Pipeline parallel.")] = "1",
    optimizer: Annotated[Optional[str], typer.Option("--optimizer", help="adamw | adamw8bit | "
                                                                         "sgd | adafactor.")] = None,
    recompute: Annotated[Optional[str], typer.Option("--recompute", help="none | selective | "
                                                                         "full.")] = None,
    rank: Annotated[Optional[str], typer.Option("--rank", help="LoRA rank (default 16).")] = None,
    targets: Annotated[Optional[str], typer.Option("--targets", help="LoRA targets: roles "
                                                                     f"{','.join(LORA_TARGETS)} "
                                                                     "or module names (q_proj, "
                                                                     "c_attn, w1, router...; "
                                                                     "default: all).")] = None,
    lora_experts: Annotated[Optional[bool], typer.Option("--lora-experts/--no-lora-experts",
                                                         help="Adapters on every routed expert "
                                                              "(default).")] = None,
    lora_dropout: Annotated[Optional[str], typer.Option("--lora-dropout", help="LoRA dropout "
                                                                           "(PEFT default 0).")] = None,
    kv_dtype: Annotated[Optional[str], typer.Option("--kv-dtype", help="Inference: KV cache "
                                                                       "dtype.")] = None,
    attention: Annotated[Optional[str], typer.Option("--attention", help="sdpa (flash/memory-"
                                                                         "efficient kernels; "
                                                                         "default) | eager.")] = None,
    autocast: Annotated[Optional[str], typer.Option("--autocast", help="bf16|fp16 autocast over "
                                                                       "--dtype fp32 weights (HF "
                                                                       "Trainer bf16=True).")] = None,
    dropout: Annotated[Optional[str], typer.Option("--dropout", help="Dropout probability "
                                                                     "(default: the config's; "
                                                                     "none when it has none).")] = None,
    loss_impl: Annotated[Optional[str], typer.Option("--loss-impl", help="hf (fp32 log-probs; "
                                                                         "default) | fused "
                                                                         "(fused linear "
                                                                         "cross-entropy).")] = None,
    reserve: Annotated[Optional[str], typer.Option("--reserve", help="Per-GPU reserve for the "
                                                                     "CUDA context and kernels, "
                                                                     "e.g. 2GiB (default "
                                                                     f"{RESERVE_BYTES // 2**20} "
                                                                     "MiB).")] = None,
    overhead: Annotated[str, typer.Option("--overhead", help="Allocator overhead: a fraction or "
                                                             "a percent (0.1 or 10%).")] = "0.10",
    json: Json = False,
):
    """Memory per GPU: weights, gradients, optimizer, activations, KV cache; fits? fewest GPUs?"""
    e = api.memory(arch, mode, dtype, gpu=gpu, n_gpus=n_gpus, zero=zero, tp=tp, pp=pp,
                   batch=batch, seq=seq, context=context, optimizer=optimizer,
                   recompute=recompute, rank=rank, targets=targets, kv_dtype=kv_dtype,
                   dropout=dropout, attention=None if attention is None else attention.lower(),
                   autocast=autocast, loss_impl=None if loss_impl is None else loss_impl.lower(),
                   lora_dropout=lora_dropout, lora_experts=lora_experts, overhead=overhead,
                   reserve=reserve)
    if json:
        return print_json(e)
    total = e.per_gpu_bytes
    console.print(f"[bold]{e.model}[/bold], {e.mode}, {e.weights_format}: weights "
                  f"{size(e.weights_bytes)}"
                  + (f", KV cache {size(e.kv_cache_bytes)}" if e.mode == "infer" else "")
                  + (f", {e.trainable_params:,.0f} trainable parameters"
                     if e.mode in LORA_MODES else ""))
    unit = bytes_unit(total)  # one scale for the whole table
    rows = [(k, format_bytes(v, unit=unit), format_gib(v), format_share(v / total))
            for k, v in e.breakdown.items()]
    if e.mode == "infer":  # the KV cache by layer kind, under its row
        at = [r[0] for r in rows].index("kv_cache") + 1
        rows[at:at] = [(f"  {k} layers", format_bytes(v, unit=unit), format_gib(v), "")
                       for k, v in e.kv_cache_by_kind.items() if v]
    console.print(table(None, "per GPU", "bytes", "GiB", "share", rows=rows
                        + [("total", format_bytes(total, unit=unit), format_gib(total), "100%")]))
    console.print(verdict(e), markup=False)
    console.print()
    assumptions(e.assumptions)



def memory_summary(e: MemoryEstimate) -> None:
    """A few lines for `plan`: the verdict, loud when it does not fit, and the breakdown."""
    style = "bold" if e.fits else "bold red"
    console.print(f"[{style}]Memory[/{style}] ({e.model}, ZeRO-{e.parallel['zero']} over "
                  f"{e.n_gpus} GPU(s)): " + ("" if e.fits else "THIS PLAN CANNOT FIT. "))
    console.print("  " + verdict(e), markup=False)
    unit = bytes_unit(e.per_gpu_bytes)
    console.print("  " + ", ".join(f"{k} {format_bytes(v, unit=unit)}" for k, v in e.breakdown.items())
                  + f" (total {format_bytes(e.per_gpu_bytes, unit=unit)}, "
                    f"{format_gib(e.per_gpu_bytes)})", markup=False)

    for line in e.assumptions:
        console.print(f"  - {line}", markup=False)
