"""The `memory` verb: will this model fit on this GPU for training, fine-tuning or inference?"""

from typing import Annotated, Optional

import typer

from scalinglab.cli._common import verb_app
from scalinglab.cli._common import Json, assumptions, console, print_json, table
from scalinglab.memory import LORA_TARGETS, MemoryEstimate, RESERVE_BYTES, estimate_for
from scalinglab.units import format_bytes, format_gib, parse_size, parse_whole

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
    arch: Annotated[str, typer.Argument(help="Preset (llama-2-7b; see `scalinglab params`) or "
                                             "a config.json path.")],
    mode: Annotated[str, typer.Option("--mode", "-m", help="train | finetune | lora | qlora | "
                                                           "infer.")] = "train",
    dtype: Annotated[str, typer.Option("--dtype", help="Weights: fp32 bf16 fp16 fp8 int8 int4 "
                                                       "nf4, GGUF q4_k..., or '4.85bpw'.")] = "bf16",
    gpu: Annotated[Optional[str], typer.Option("--gpu", help="Accelerator for the verdict, "
                                                             "e.g. a100, h100, a10.")] = None,
    n_gpus: Annotated[str, typer.Option("--n-gpus", help="GPUs (= data x tensor x pipeline "
                                                         "parallel; inference: tensor).")] = "1",
    zero: Annotated[int, typer.Option("--zero", help="ZeRO stage 0-3 (3 = FSDP).")] = 0,
    batch: Annotated[str, typer.Option("--batch", "-b", help="Micro-batch (sequences) per "
                                                             "GPU.")] = "1",
    seq: Annotated[str, typer.Option("--seq", "-s", help="Training sequence length.")] = "2048",
    context: Annotated[Optional[str], typer.Option("--context", help="Inference tokens in the "
                                                                     "KV cache (default --seq).")] = None,
    tp: Annotated[int, typer.Option("--tp", help="Tensor parallel (training).")] = 1,
    pp: Annotated[int, typer.Option("--pp", help="Pipeline parallel.")] = 1,
    optimizer: Annotated[Optional[str], typer.Option("--optimizer", help="adamw | adamw8bit | "
                                                                         "sgd | adafactor.")] = None,
    recompute: Annotated[Optional[str], typer.Option("--recompute", help="none | selective | "
                                                                         "full.")] = None,
    rank: Annotated[int, typer.Option("--rank", help="LoRA rank.")] = 16,
    targets: Annotated[Optional[str], typer.Option("--targets", help="LoRA targets: roles "
                                                                     f"{','.join(LORA_TARGETS)} "
                                                                     "or module names (q_proj, "
                                                                     "c_attn, w1, router...; "
                                                                     "default: all).")] = None,
    lora_experts: Annotated[bool, typer.Option("--lora-experts/--no-lora-experts",
                                               help="Adapters on every routed expert.")] = True,
    lora_dropout: Annotated[float, typer.Option("--lora-dropout", help="LoRA dropout "
                                                                       "(PEFT default 0).")] = 0.0,
    kv_dtype: Annotated[Optional[str], typer.Option("--kv-dtype", help="KV cache dtype.")] = None,
    attention: Annotated[str, typer.Option("--attention", help="sdpa (flash/memory-efficient "
                                                               "kernels) | eager.")] = "sdpa",
    autocast: Annotated[Optional[str], typer.Option("--autocast", help="bf16|fp16 autocast over "
                                                                       "--dtype fp32 weights (HF "
                                                                       "Trainer bf16=True).")] = None,
    dropout: Annotated[Optional[float], typer.Option("--dropout", help="Dropout probability "
                                                                       "(default: the config's; "
                                                                       "none when it has none).")] = None,
    loss_impl: Annotated[str, typer.Option("--loss-impl", help="hf (fp32 log-probs) | fused "
                                                               "(fused linear cross-entropy).")] = "hf",
    reserve: Annotated[Optional[str], typer.Option("--reserve", help="Per-GPU reserve for the "
                                                                     "CUDA context and kernels, "
                                                                     "e.g. 2GiB (default "
                                                                     f"{RESERVE_BYTES // 2**20} "
                                                                     "MiB).")] = None,
    overhead: Annotated[float, typer.Option("--overhead", help="Allocator overhead "
                                                               "fraction.")] = 0.10,
    json: Json = False,
):
    """Memory per GPU: weights, gradients, optimizer, activations, KV cache; fits? fewest GPUs?"""
    e = estimate_for(arch, mode, dtype, gpu=gpu, n_gpus=parse_whole(n_gpus, "--n-gpus"), zero=zero, tp=tp, pp=pp,
                 batch=parse_whole(batch, "--batch"), seq=parse_whole(seq, "--seq"),
                 context=parse_whole(context, "--context") if context is not None else None,
                 optimizer=optimizer, recompute=recompute, rank=rank,
                 targets=tuple(t.strip() for t in (targets or "").split(",") if t.strip()),
                 kv_dtype=kv_dtype, dropout=dropout, attention=attention.lower(),
                 autocast=autocast, loss_impl=loss_impl.lower(), lora_dropout=lora_dropout,
                 lora_experts=lora_experts, overhead=overhead,
                 reserve=None if reserve is None else parse_size(reserve, "--reserve"))
    if json:
        return print_json(e)
    total = e.per_gpu_bytes
    base = "nf4 base, 16-bit embeddings and head" if e.mode == "qlora" else dtype
    console.print(f"[bold]{e.model}[/bold], {e.mode}, {base}: weights "
                  f"{size(e.weights_bytes)}"
                  + (f", KV cache {size(e.kv_cache_bytes)}" if e.mode == "infer" else "")
                  + (f", {e.trainable_params:,.0f} trainable parameters"
                     if e.mode in ("lora", "qlora") else ""))
    rows = [(k, format_bytes(v), format_gib(v), f"{v / total:.1%}") for k, v in e.breakdown.items()]
    if e.mode == "infer":  # the KV cache by layer kind, under its row
        at = [r[0] for r in rows].index("kv_cache") + 1
        rows[at:at] = [(f"  {k} layers", format_bytes(v), format_gib(v), "")
                       for k, v in e.kv_cache_by_kind.items() if v]
    console.print(table(None, "per GPU", "bytes", "GiB", "share", rows=rows
                        + [("total", format_bytes(total), format_gib(total), "100%")]))
    console.print(verdict(e), markup=False)
    console.print()
    assumptions(e.assumptions)



def memory_summary(e: MemoryEstimate) -> None:
    """A few lines for `plan`: the verdict, loud when it does not fit, and the breakdown."""
    style = "bold" if e.fits else "bold red"
    console.print(f"[{style}]Memory[/{style}] ({e.model}, ZeRO-{e.parallel['zero']} over "
                  f"{e.n_gpus} GPU(s)): " + ("" if e.fits else "THIS PLAN CANNOT FIT. "))
    console.print("  " + verdict(e), markup=False)
    console.print("  " + ", ".join(f"{k} {size(v)}" for k, v in e.breakdown.items()),
                  markup=False)

    for line in e.assumptions:
        console.print(f"  - {line}", markup=False)
