"""Will it fit? Memory per GPU for training, fine-tuning (full, LoRA, QLoRA) and inference.

Every term is a named formula on plain numbers (bytes, parameters, layers, hidden size, heads):
- model states: weights, gradients, fp32 master weights and optimizer states, sharded by ZeRO
  stage 1/2/3 across data-parallel ranks (Rajbhandari et al. 2020) and split by tensor x pipeline
  parallelism; mixed-precision AdamW is 2 + 2 + 4 + 8 = 16 bytes/parameter.
- activations: what autograd keeps for backward, tensor by tensor as the Hugging Face
  implementation saves it, and the loss peak (activations.py; measured: memcheck.py).
- LoRA: PEFT's r (d_in + d_out) per targeted linear, by module name (lora.py).
- KV cache by layer kind: full attention keeps the context, sliding-window layers at most the
  window, MLA its latent + rope key (DeepSeek-V2 Sec. 2.1).
- the device: its memory as the device reports it, less a reserve for the CUDA context and
  kernels (RESERVE_BYTES) that PyTorch's allocator never sees; and an overhead term,
  OVERHEAD_FRACTION of the estimate, for the caching allocator's fragmentation.
Functions broadcast over numpy arrays, so a whole range of GPU counts is one call.
"""

from dataclasses import dataclass, field

import numpy as np

from scalinglab import activations as act
from scalinglab import precision
from scalinglab.errors import InputError, unknown
from scalinglab.hardware import get_accelerator
from scalinglab.lora import ROLES as LORA_TARGETS, lora_params, select as lora_select  # noqa: F401
from scalinglab.results import Result
from scalinglab.validate import fraction, out

OVERHEAD_FRACTION = 0.10
# The CUDA context and kernels: "GPU memory occupied: 1343 MB" (nvidia-smi, MiB) after the first
# tensor reaches the GPU (Hugging Face Transformers docs, "Model training anatomy"); outside what
# torch.cuda.memory_allocated counts. Change it with --reserve.
RESERVE_BYTES = 1343 * 2**20
MAX_GPUS = 16_384  # search limit for min_gpus

# Optimizer state bytes per trained parameter, besides the fp32 master copy (see master_bytes).
OPTIMIZERS = {
    "adamw": 8.0,      # m and v in fp32 (Loshchilov & Hutter 2019; ZeRO's K = 12 with the master)
    "adamw8bit": 2.0,  # m and v block-quantised to 8 bits (Dettmers et al. 2022, 8-bit optimizers)
    "sgd": 4.0,        # fp32 momentum buffer
    "adafactor": None,  # factored second moment, no momentum: see optimizer_state_bytes
    "none": 0.0,
}
RECOMPUTE = act.RECOMPUTE
ATTENTION = act.ATTENTION
LOSS_IMPLS = act.LOSS_IMPLS
MODES = ("train", "finetune", "lora", "qlora", "lora8", "infer")
LORA_MODES = ("lora", "qlora", "lora8")  # frozen base + adapters: 16-bit, NF4 or int8 base
# options that apply only to some modes (estimate's keyword -> the CLI's flag); given to any
# other mode they are refused, not ignored
ONLY = {
    "training": ({"zero": "--zero", "optimizer": "--optimizer", "recompute": "--recompute",
                  "tp": "--tp", "attention": "--attention", "autocast": "--autocast",
                  "loss_impl": "--loss-impl", "dropout": "--dropout"},
                 ("train", "finetune", *LORA_MODES)),
    "LoRA": ({"rank": "--rank", "targets": "--targets", "lora_dropout": "--lora-dropout",
              "lora_experts": "--lora-experts/--no-lora-experts"}, LORA_MODES),
    "inference": ({"context": "--context", "kv_dtype": "--kv-dtype"}, ("infer",)),
}
# Base weights of the LoRA modes: QLoRA's NF4 (Dettmers et al. 2023), LLM.int8()'s int8
# (Dettmers et al. 2022, arXiv:2208.07339; bitsandbytes load_in_8bit, as PEFT's 8-bit LoRA)
QUANTISED_BASE = {"qlora": "nf4", "lora8": "int8"}
KV_KINDS = ("full", "sliding", "latent")


def bits_per_value(dtype) -> float:
    """Bits of one stored value: a dtype name (bf16, nf4, q4_k...) or a number like '4.85bpw'
    (the one table: precision.py)."""
    return precision.bits(dtype)


def bytes_per_value(dtype) -> float:
    return bits_per_value(dtype) / 8


def weight_bytes(n_params, dtype="bf16"):
    """Bytes of the weights: parameters x bits / 8 (Llama-2-7B in bf16: 13,476,831,232)."""
    return np.asarray(n_params, dtype=float) * bytes_per_value(dtype)


def kv_cache_bytes(n_layers, n_kv_heads, head_dim, tokens, batch=1, dtype="bf16",
                   kv_lora_rank=0, rope_dim=0, sliding_window=0, sliding_layers=0):
    """KV cache: 2 (K and V) x kv_heads x head_dim x bytes x tokens x batch per layer.

    Sliding-window layers (Mistral, Gemma 2/3's local layers) keep at most `sliding_window`
    tokens once decoding starts (transformers' DynamicSlidingWindowLayer); the other layers keep
    all `tokens`. With multi-head latent attention (kv_lora_rank > 0) each layer caches one latent
    of kv_lora_rank values plus a shared rope key of rope_dim values per token (DeepSeek-V2 Sec.
    2.1). Arrays broadcast (tokens, batch, kv heads per rank...).
    """
    return sum(kv_cache_by_kind(n_layers, n_kv_heads, head_dim, tokens, batch, dtype, kv_lora_rank,
                                rope_dim, sliding_window, sliding_layers).values())


def kv_cache_by_kind(n_layers, n_kv_heads, head_dim, tokens, batch=1, dtype="bf16",
                     kv_lora_rank=0, rope_dim=0, sliding_window=0, sliding_layers=0) -> dict:
    """The KV cache of kv_cache_bytes by layer kind: full, sliding (window-capped), latent (MLA)."""
    tokens, batch = np.asarray(tokens, dtype=float), np.asarray(batch, dtype=float)
    per_value = bytes_per_value(dtype) * batch
    n_layers = np.asarray(n_layers, dtype=float)
    if kv_lora_rank:
        latent = n_layers * (kv_lora_rank + rope_dim) * per_value * tokens
        return {"full": 0.0 * latent, "sliding": 0.0 * latent, "latent": latent}
    per_token = 2 * np.asarray(n_kv_heads, dtype=float) * head_dim * per_value
    slide = sliding_layers if sliding_window else 0
    kept = np.minimum(tokens, sliding_window) if sliding_window else tokens
    full = (n_layers - slide) * per_token * tokens
    return {"full": full, "sliding": slide * per_token * kept, "latent": 0.0 * full}


def master_bytes(dtype, optimizer) -> float:
    """An fp32 master copy of the weights when training in 16-bit (mixed precision), else 0."""
    return 4.0 if precision.get_precision(dtype).master and optimizer != "none" else 0.0


def optimizer_state_bytes(n_params, optimizer="adamw", d_model=None):
    """Optimizer states (without the master copy). Adafactor keeps fp32 row and column sums of
    its second moment: an r x c matrix costs 4 (r + c) bytes, ~8 / d_model bytes per parameter for
    d_model-square matrices (Shazeer & Stern 2018, no momentum)."""
    if optimizer not in OPTIMIZERS:
        raise unknown("optimizer", optimizer, OPTIMIZERS)
    per = OPTIMIZERS[optimizer]
    if per is None:
        if not d_model:
            raise InputError("adafactor's state size needs the model's hidden size d_model")
        per = 8.0 / d_model
    return np.asarray(n_params, dtype=float) * per


def model_state_bytes(n_params, dtype="bf16", optimizer="adamw", zero=0, dp=1, tp=1, pp=1,
                      grad_dtype=None, d_model=None, trainable=None, master=True) -> dict:
    """Per-GPU bytes of weights, gradients and optimizer (master + states).

    ZeRO-1 shards the optimizer (and master) across dp ranks, ZeRO-2 also the gradients, ZeRO-3
    (= FSDP full sharding) also the weights (Rajbhandari et al. 2020, Fig. 1). Tensor x pipeline
    parallelism splits everything tp x pp ways. `trainable` (default: all) parameters get
    gradients and optimizer states; the rest are frozen (LoRA). master=False: no fp32 master copy
    (the optimizer steps the 16-bit weights directly, as QLoRA's bf16 adapters).
    """
    if zero not in (0, 1, 2, 3):
        raise InputError(f"ZeRO stage {zero!r}: use 0, 1, 2 or 3 (3 = FSDP full sharding)")
    n = np.asarray(n_params, dtype=float)
    trained = n if trainable is None else np.asarray(trainable, dtype=float)
    dp = np.asarray(dp, dtype=float)
    split = np.asarray(tp, dtype=float) * np.asarray(pp, dtype=float)
    weights = weight_bytes(n, dtype)
    grads = weight_bytes(trained, grad_dtype or dtype)
    opt = trained * master_bytes(dtype, optimizer) * master + optimizer_state_bytes(trained, optimizer,
                                                                           d_model)
    one = np.ones_like(dp)
    return {"weights": weights / split / (dp if zero >= 3 else one),
            "gradients": grads / split / (dp if zero >= 2 else one),
            "optimizer": opt / split / (dp if zero >= 1 else one)}


# --- models --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Shape(Result):
    """What memory needs to know of a model (sizes as in its config.json)."""

    name: str
    n_params: float
    n_layers: int
    d_model: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    vocab: int
    d_ff: int
    gated_mlp: bool = True           # SwiGLU: gate, up, down (Llama); False: fc, proj (GPT)
    embedding_params: float = 0.0    # token embedding + untied output head (kept 16-bit by QLoRA)
    kv_lora_rank: int = 0            # MLA latent size (DeepSeek-V2/V3); 0 = ordinary attention
    rope_dim: int = 0                # MLA decoupled rope key per token
    q_lora_rank: int = 0             # MLA query latent (0: a plain q_proj)
    qk_nope_dim: int = 0             # MLA per-head query/key width without rope
    v_head_dim: int = 0              # MLA per-head value width
    # the implementation (transformers model_type) and what training keeps (activations.py)
    model_type: str = ""
    norm: str = "rmsnorm"
    norms_per_layer: int = 2
    qk_norm: str = "none"
    activation: str = ""             # transformers' hidden_act; "" = silu (gated) / gelu
    positions: str = "rotary"
    dropout: float = 0.0             # residual dropout (from the config; none when it has none)
    attention_dropout: float = 0.0
    embedding_dropout: float = 0.0
    sliding_window: int = 0          # tokens a sliding-window layer keeps (0: none)
    sliding_layers: int = 0          # how many layers slide
    # mixture of experts
    n_experts: int = 0
    top_k: int = 0
    d_ff_expert: int = 0
    n_shared_experts: int = 0
    d_ff_shared: int = 0
    shared_expert_gate: bool = False
    n_moe_layers: int = 0
    expert_params: float = 0.0       # all routed experts' parameters
    tied_embeddings: bool = False


# --- the verdict ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class MemoryEstimate(Result):
    """Bytes per GPU by term, the verdict on one accelerator and the fewest GPUs that fit."""

    model: str
    mode: str
    breakdown: dict            # term -> bytes on one GPU (overhead included as a term)
    weights_bytes: float       # the whole model's weights, before any split
    kv_cache_bytes: float      # the whole KV cache (0 when training)
    n_gpus: int
    gpu: str | None = None
    gpu_memory_bytes: float | None = None   # as the device reports it
    min_gpus: int | None = None
    parallel: dict = field(default_factory=dict)
    assumptions: tuple = ()
    reserve_bytes: float = 0.0              # CUDA context and kernels, outside the allocator
    kv_cache_by_kind: dict = field(default_factory=dict)  # full / sliding / latent, whole model
    activations: dict = field(default_factory=dict)       # activations.Activations, per GPU
    trainable_params: float | None = None   # LoRA/QLoRA adapters; all parameters otherwise
    weights_format: str = ""                # how the weights are stored: "nf4 base, bf16 embeddings and head"

    _derived = ("per_gpu_bytes", "usable_bytes", "fits")

    @property
    def per_gpu_bytes(self):
        return out(sum(self.breakdown.values()))

    @property
    def usable_bytes(self) -> float | None:
        """What PyTorch can allocate: the device's memory less the reserve."""
        return None if self.gpu_memory_bytes is None else self.gpu_memory_bytes - self.reserve_bytes

    @property
    def fits(self):
        if self.usable_bytes is None:
            return None
        ok = np.asarray(self.per_gpu_bytes) <= self.usable_bytes
        return bool(ok) if ok.ndim == 0 else ok


def _inference_terms(shape: Shape, dtype, tp, pp, batch, context, kv_dtype) -> tuple[dict, list]:
    """Weights and KV cache per GPU, arrays over tp."""
    w = weight_bytes(shape.n_params, dtype) / (np.asarray(tp, dtype=float) * pp)
    kv_heads_per_gpu = np.ceil(shape.n_kv_heads / np.minimum(tp, shape.n_kv_heads))
    kv = kv_cache_bytes(shape.n_layers, kv_heads_per_gpu, shape.head_dim, context, batch,
                        kv_dtype, shape.kv_lora_rank, shape.rope_dim, shape.sliding_window,
                        shape.sliding_layers) / pp
    window = (f"; {shape.sliding_layers} sliding-window layers keep at most "
              f"{shape.sliding_window:,} tokens" if shape.sliding_window and shape.sliding_layers
              else "")
    notes = [f"weights: {bits_per_value(dtype):.4g} bits/weight ({dtype}) on every parameter, "
             "split evenly over tensor x pipeline ranks",
             "KV cache: " + ("MLA latent + rope key per token per layer, replicated on each "
                             "tensor rank" if shape.kv_lora_rank else
                             f"2 x layers x kv_heads x head_dim, {kv_dtype}; kv heads split over "
                             "tensor ranks (replicated when fewer than ranks)")
             + f"; {_show(batch)} x {_show(context)} tokens" + window]
    return {"weights": w, "kv_cache": kv}, notes


def _show(x) -> str:
    x = np.asarray(x)
    return f"{x.item():g}" if x.ndim == 0 else f"{x.min():g}..{x.max():g}"


def _adapters(shape: Shape, targets, rank, dropout, experts) -> act.Adapters:
    """Which linear groups of a layer carry adapters, for the activation count."""
    chosen = lora_select(shape, targets, experts, moe=shape.n_moe_layers == shape.n_layers)
    h = shape.d_model
    return act.Adapters(
        rank, dropout, experts=experts,
        qkv=sum(lin.where == "attention" and lin.role != "o" and lin.d_in == h for lin in chosen),
        o=sum(lin.role == "o" for lin in chosen),
        up=sum(lin.where == "mlp" and lin.role in ("gate", "up", "gate_up") for lin in chosen),
        down=sum(lin.where == "mlp" and lin.role == "down" for lin in chosen))


def base_dtypes(mode: str, dtype) -> tuple[str, str]:
    """(base weights' dtype, the 16-bit dtype of embeddings, head and matmuls) of a mode.

    qlora and lora8 quantise the base's linears to NF4 or int8 and keep embeddings and the
    output head 16-bit: --dtype is either that base format (nf4; int8), then the rest is bf16,
    or the 16-bit dtype, then the base is NF4 (int8). Other modes: (dtype, dtype)."""
    p = precision.get_precision(dtype)
    base = QUANTISED_BASE.get(mode)
    if base is None:
        return p.name, p.name
    if p.name == base:
        return base, "bf16"
    if p.bits >= 16 and p.trains:
        return base, p.name
    other = {"nf4": "--mode qlora", "int8": "--mode lora8"}
    alt = next((m for b, m in other.items() if b == p.name and m != f"--mode {mode}"), None)
    raise InputError(f"--mode {mode} keeps a {base} base: give --dtype {base}, or the 16-bit dtype "
                     f"of its embeddings, head and matmuls (bf16, fp16), not {p.name}"
                     + (f"; an {p.name} base is {alt}" if alt else ""))


def _adapter_states(shape: Shape, mode, dtype, optimizer, zero, dp, tp, pp, rank,
                    targets, experts) -> tuple[dict, str, float]:
    """LoRA, QLoRA, LoRA over int8: frozen base weights plus trained adapters with their
    gradients and optimizer states."""
    trainable = lora_params(shape, rank, targets, experts)
    qbase, dtype = base_dtypes(mode, dtype)
    quantised = shape.n_params - shape.embedding_params if mode in QUANTISED_BASE else 0.0
    adapter_dtype = "bf16" if mode == "qlora" else "fp32"
    frozen = (model_state_bytes(shape.n_params - quantised, dtype, "none", zero, dp, tp, pp)
              ["weights"] + model_state_bytes(quantised, qbase, "none", zero, dp, tp, pp)["weights"])
    adapters = model_state_bytes(trainable, adapter_dtype, optimizer, zero, dp, tp, pp,
                                 d_model=shape.d_model, master=False)
    base = {
        "qlora": (" in NF4 with double quantisation (4.127 bits: 8-bit block constants, "
                  "themselves quantised, QLoRA Sec. 3) except embeddings and output head "
                  f"({dtype}); paged optimizer (NVIDIA unified memory pages its states to the "
                  "CPU under memory spikes, QLoRA Sec. 3): counted here on the GPU"),
        "lora8": (" in int8 (LLM.int8(), Dettmers et al. 2022: bitsandbytes' 8-bit linears; "
                  "their fp32 row scales, 4 bytes per output row, not counted) except embeddings "
                  f"and output head ({dtype})"),
    }.get(mode, f" in {dtype}")
    kinds = [k for k, n in ((False, shape.n_layers - shape.n_moe_layers),
                            (True, shape.n_moe_layers)) if n]
    where = ", ".join(sorted({lin.name for k in kinds
                              for lin in lora_select(shape, targets, experts, k)}))
    note = (f"LoRA rank {rank} on {where} (PEFT's r (d_in + d_out) per linear"
            + ("" if not shape.n_moe_layers else ", every routed expert" if experts
               else ", routed experts left out") + f"): {trainable:,.0f} trainable parameters, "
            f"{adapter_dtype} adapters, {optimizer} states; base frozen{base}")
    return {"weights": frozen, "adapters": adapters["weights"],
            "gradients": adapters["gradients"], "optimizer": adapters["optimizer"]}, note, trainable


@dataclass(frozen=True)
class _Training:
    """The training-side settings estimate passes down (one place, not ten arguments)."""

    mode: str
    dtype: str
    autocast: str | None
    optimizer: str
    zero: int
    tp: int
    pp: int
    batch: object
    seq: object
    recompute: str
    attention: str
    loss: str
    dropout: float | None
    rank: int
    targets: tuple
    lora_dropout: float
    experts: bool


def _training_terms(shape: Shape, t: _Training, dp) -> tuple[dict, list, act.Activations, float]:
    """Model states, activations and the loss per GPU, arrays over dp."""
    lora = None
    if t.mode in LORA_MODES:
        states, note, trainable = _adapter_states(shape, t.mode, t.dtype, t.optimizer, t.zero, dp,
                                                  t.tp, t.pp, t.rank, t.targets, t.experts)
        lora = _adapters(shape, t.targets, t.rank, t.lora_dropout, t.experts)
    else:
        trainable = shape.n_params
        states = model_state_bytes(shape.n_params, t.dtype, t.optimizer, t.zero, dp, t.tp, t.pp,
                                   d_model=shape.d_model)
        per = OPTIMIZERS[t.optimizer]
        note = (f"model states: {t.dtype} weights and gradients"
                + (", fp32 master weights" if master_bytes(t.dtype, t.optimizer) else "")
                + f", {t.optimizer} states" + ("" if per is None else " = {:g} bytes/param".format(
                    2 * bytes_per_value(t.dtype) + master_bytes(t.dtype, t.optimizer) + per)))
    a = act.activations(shape, t.seq, t.batch, t.dtype, t.autocast, t.attention, t.recompute,
                        t.loss, t.dropout, lora, t.tp)
    ones = np.ones_like(np.asarray(dp, dtype=float))
    states["activations"] = (a.layers + a.recompute + a.outside) * ones
    if t.autocast:
        states["autocast_weights"] = a.weight_copies * ones
    states["logits"] = (a.loss_saved + a.loss_peak) * ones
    return states, [note] + _activation_notes(shape, t, a), a, trainable


def _activation_notes(shape: Shape, t: _Training, a: act.Activations) -> list:
    impl = act.implementation(shape)
    n = act.numerics(t.dtype, t.autocast)
    p = shape.dropout if t.dropout is None else t.dropout
    pa = shape.attention_dropout if t.dropout is None else t.dropout
    kind = ("MoE: top-" f"{shape.top_k} routed copies of each token + router"
            + (f" + {shape.n_shared_experts} shared expert(s)" if shape.n_shared_experts else "")
            if shape.n_moe_layers else f"{'gated ' if shape.gated_mlp else ''}MLP")
    attn = ("sdpa (flash/memory-efficient kernel: no s x s scores)" if t.attention == "sdpa"
            else "eager (s x s probabilities kept"
            + (", fp32 softmax + its cast" if impl.softmax_fp32 or n.autocast else "") + ")")
    compute = (f"{t.autocast} autocast over fp32 weights (bf16 weight copies kept by the "
               "matmuls; fp32 residual stream)" if t.autocast else f"{t.dtype}")
    recompute = {"none": "no recomputation",
                 "selective": "selective recomputation (scores recomputed)",
                 "full": "full checkpointing: each layer keeps its input, plus the one layer "
                         "recomputed during backward"}[t.recompute]
    loss = ("HF loss: fp32 log-probs kept (4 s b v) + their and the logits' fp32 gradients "
            "during backward (8 s b v)" if t.loss == "hf" else
            "fused linear cross-entropy (Liger-Kernel): hidden-state gradient + one logits "
            "chunk of the same size + fp32 loss per token, no full logits")
    return [
        f"parallelism: ZeRO stage {t.zero}; tensor parallel {t.tp} (with sequence parallel: "
        f"activations / {t.tp}), pipeline parallel {t.pp} (model states split tp x pp ways; "
        "1F1B: the first stage holds all layers' activations)",
        f"activations ({shape.model_type or 'unknown family: Llama code'}, {impl.source}): "
        f"micro-batch {_show(t.batch)} x {_show(t.seq)} tokens, {compute}; attention {attn}; "
        f"{impl.norm} norms; {kind} with {shape.activation or 'default'} activation; "
        f"dropout {p:g} on residuals, {pa:g} on attention "
        f"({'--dropout' if t.dropout is not None else 'from the config; none when it has none'})"
        f"; {recompute}",
        f"logits: {loss}",
    ]


def model_weight_bytes(shape: Shape, mode: str, dtype) -> float:
    """The whole model's weights; QLoRA (lora8) keeps embeddings and output head in 16-bit, the
    rest NF4 (int8)."""
    base, dtype = base_dtypes(mode, dtype)
    if mode not in QUANTISED_BASE:
        return weight_bytes(shape.n_params, dtype)
    return (weight_bytes(shape.n_params - shape.embedding_params, base)
            + weight_bytes(shape.embedding_params, dtype))


def refuse_options(mode: str, given: dict) -> None:
    """Options given that do not apply to `mode` are an error naming the modes they are for."""
    for kind, (flags, modes) in ONLY.items():
        if mode in modes:
            continue
        bad = [flag for key, flag in flags.items() if given.get(key) is not None]
        if bad:
            hint = ("; inference splits the model over --n-gpus / --pp tensor-parallel ranks"
                    if "--tp" in bad and mode == "infer" else "")
            raise InputError(f"{', '.join(bad)} {'does' if len(bad) == 1 else 'do'} not apply to "
                             f"--mode {mode}: {kind} option{'s' if len(bad) > 1 else ''}, for "
                             f"--mode {' | '.join(modes)}{hint}")


def _scalar(x):
    x = np.asarray(x)
    return x.item() if x.ndim == 0 else x


def _with_overhead(terms: dict, overhead: float) -> dict:
    total = sum(terms.values())
    return {**terms, "overhead": total * overhead}


def _check(mode, n_gpus, tp, pp, batch, seq, overhead, reserve, attention, loss_impl, dropout,
           lora_dropout):
    if mode not in MODES:
        raise unknown("mode", mode, MODES)
    for what, v, valid in (("attention implementation", attention, ATTENTION),
                           ("loss implementation", loss_impl, LOSS_IMPLS)):
        if v not in valid:
            raise InputError(f"unknown {what} {v!r}; use one of: {', '.join(valid)}")
    for what, v in (("--n-gpus", n_gpus), ("tensor parallel", tp), ("pipeline parallel", pp),
                    ("--batch", batch), ("--seq", seq)):
        if not np.all(np.asarray(v) >= 1):
            raise InputError(f"{what} must be at least 1 (got {v!r})")
    if n_gpus % (tp * pp):
        raise InputError(f"--n-gpus {n_gpus} is not a multiple of tensor x pipeline = {tp * pp}")
    fraction(overhead, "overhead", allow_zero=True)  # 0.1 or "10%" (units.parse_fraction), not 10
    if reserve is not None and not (np.isfinite(reserve) and reserve >= 0):
        raise InputError(f"--reserve {reserve!r} must be zero or a positive size in bytes "
                         f"(e.g. 1343MiB, 2GB; default {RESERVE_BYTES / 2**20:.0f} MiB)")
    for what, p in (("--dropout", dropout), ("--lora-dropout", lora_dropout)):
        if p is not None and (isinstance(p, bool) or not 0 <= p < 1):
            raise InputError(f"{what} {p!r} must be a probability in [0, 1)")


def estimate(shape: Shape, mode="train", dtype="bf16", *, gpu=None, gpu_memory_bytes=None,
             n_gpus=1, zero=None, tp=None, pp=1, batch=1, seq=2048, context=None, optimizer=None,
             recompute=None, rank=None, targets=None, kv_dtype=None, dropout=None,
             attention=None, autocast=None, loss_impl=None, lora_dropout=None,
             lora_experts=None, reserve=None, overhead=OVERHEAD_FRACTION) -> MemoryEstimate:
    """Memory per GPU for `mode` on n_gpus (= dp x tp x pp), the verdict and the fewest GPUs.

    Keywords (all optional): gpu (a name shown) and gpu_memory_bytes (as the device reports it);
    n_gpus, zero (0-3), tp, pp; batch and seq (a micro-batch; arrays broadcast), context (the
    inference KV cache, default seq); optimizer (adamw, adamw8bit, sgd, adafactor); recompute
    (none, selective, full); attention (sdpa, eager); autocast (bf16/fp16 over fp32 weights);
    dropout (a probability overriding the config's; None: the config's, none when it has none);
    loss_impl (hf, fused); rank, targets (roles or transformers module names), lora_dropout,
    lora_experts (adapters on every routed expert); kv_dtype; reserve (bytes for the CUDA
    context, default RESERVE_BYTES when a GPU is given); overhead (a fraction).

    Defaults: mixed-precision AdamW for train/finetune/lora, paged 32-bit AdamW for qlora; no
    recomputation for train/finetune, full (gradient checkpointing) for lora/qlora as the QLoRA
    recipe does; ZeRO-0 unless given; KV cache in the weights' dtype (bf16 for quantised weights);
    tp 1, sdpa attention, hf loss, rank 16 on every linear, no LoRA dropout, adapters on experts.
    An option that does not apply to the mode (zero for inference, kv_dtype for training, rank
    without a LoRA mode, ...) is an InputError (ONLY), as are empty targets. lora8 is LoRA over an
    int8 base; for qlora and lora8 `dtype` is the base format or the 16-bit dtype (base_dtypes).
    """
    if mode not in MODES:
        raise unknown("mode", mode, MODES)
    refuse_options(mode, dict(zero=zero, optimizer=optimizer, recompute=recompute, tp=tp,
                              attention=attention, autocast=autocast, loss_impl=loss_impl,
                              dropout=dropout, rank=rank, targets=targets,
                              lora_dropout=lora_dropout, lora_experts=lora_experts,
                              context=context, kv_dtype=kv_dtype))
    if targets is not None and not any(str(t).strip() for t in targets):
        raise InputError("LoRA targets: none given; name roles (q,v), module names (q_proj) or "
                         "'all' (the default)")
    tp = 1 if tp is None else tp
    attention = "sdpa" if attention is None else attention
    loss_impl = "hf" if loss_impl is None else loss_impl
    rank = 16 if rank is None else rank
    lora_dropout = 0.0 if lora_dropout is None else lora_dropout
    lora_experts = True if lora_experts is None else lora_experts
    _check(mode, n_gpus, tp, pp, batch, seq, overhead, reserve, attention, loss_impl, dropout,
           lora_dropout)
    tp_given = tp if mode != "infer" else n_gpus // pp
    if shape.n_heads % tp_given:
        raise InputError(f"tensor parallel {tp_given} does not divide {shape.name}'s "
                         f"{shape.n_heads} attention heads (Megatron splits heads across ranks)")
    dtype = precision.canonical(dtype)  # once, here: bfloat16 and bf16 are the same
    kv_dtype = None if kv_dtype is None else precision.canonical(kv_dtype)
    autocast = None if autocast is None else precision.canonical(autocast)
    training = mode != "infer"
    optimizer = optimizer or ("adamw" if training else "none")
    if optimizer not in OPTIMIZERS:
        raise unknown("optimizer", optimizer, OPTIMIZERS)
    recompute = recompute or ("full" if mode in LORA_MODES else "none")
    if recompute not in RECOMPUTE:
        raise unknown("recomputation", recompute, RECOMPUTE)
    zero = 0 if zero is None else zero
    context = seq if context is None else context
    kv_dtype = kv_dtype or (dtype if bits_per_value(dtype) >= 8 else "bf16")
    compute = base_dtypes(mode, dtype)[1]  # the base format of qlora/lora8 is fine
    if training and bits_per_value(compute) < 16:
        other = [m for m, b in QUANTISED_BASE.items() if m != mode]
        raise InputError(f"training in {dtype} is not modelled: use bf16/fp16/fp32, or a frozen "
                         "quantised base with LoRA: " + ", ".join(
                             f"--mode {m} ({QUANTISED_BASE[m]})" for m in other))
    if training:
        dtype = compute  # qlora/lora8 apply their base format themselves (base_dtypes)
    if reserve is None:
        reserve = RESERVE_BYTES if gpu_memory_bytes is not None else 0.0
    targets = tuple(targets or ())
    trainable = None
    a = None
    if training:
        unit = tp * pp
        t = _Training(mode, dtype, autocast, optimizer, zero, tp, pp, batch, seq, recompute,
                      attention, loss_impl, dropout, rank, targets, lora_dropout, lora_experts)

        def terms_at(dp_):
            return _training_terms(shape, t, dp_)[:2]
        _, _, a, trainable = _training_terms(shape, t, 1)
    else:
        unit = pp

        def terms_at(tp_):
            return _inference_terms(shape, dtype, tp_, pp, batch, context, kv_dtype)
    terms, notes = terms_at(n_gpus // unit)
    terms = {k: out(v) for k, v in _with_overhead(terms, overhead).items()}
    min_gpus = None
    if gpu_memory_bytes is not None and np.ndim(sum(terms.values())) == 0:
        degrees = np.arange(1, MAX_GPUS // unit + 1)  # every degree 1..MAX_GPUS / unit at once
        per_gpu = sum(_with_overhead(terms_at(degrees)[0], overhead).values())
        fits = per_gpu <= gpu_memory_bytes - reserve
        if not training:  # inference: the tensor-parallel degree must split the heads
            fits &= shape.n_heads % degrees == 0
        ok = np.flatnonzero(fits)
        min_gpus = int((ok[0] + 1) * unit) if ok.size else None
        notes.append("min_gpus: fewest GPUs that fit, adding " + (
            f"data-parallel ranks under ZeRO-{zero} at tensor {tp} x pipeline {pp}" if training
            else f"tensor-parallel ranks at pipeline {pp}") + f" (searched up to {MAX_GPUS})" + (
            "" if min_gpus else ": none fits" + (
                f"; ZeRO-{zero} leaves some state unsharded, try --zero 3 or recomputation"
                if training and zero < 3 else "")))
    notes.append(f"overhead: {overhead:.0%} of the above for the caching allocator's "
                 "fragmentation and temporary buffers (a rule of thumb, not a measurement)")
    if gpu_memory_bytes is not None:
        notes.append(f"device: {gpu_memory_bytes:,.0f} bytes as the device reports it "
                     f"({gpu_memory_bytes / 2**30:.2f} GiB), less a reserve of {reserve:,.0f} "
                     f"bytes ({reserve / 2**20:,.0f} MiB) for the CUDA context and kernels "
                     "(Hugging Face 'Model training anatomy': 1343 MiB after the first tensor; "
                     "--reserve to change)")
    by_kind = {} if training else {k: out(v) for k, v in kv_cache_by_kind(
        shape.n_layers, shape.n_kv_heads, shape.head_dim, context, batch, kv_dtype,
        shape.kv_lora_rank, shape.rope_dim, shape.sliding_window, shape.sliding_layers).items()}
    return MemoryEstimate(
        model=shape.name, mode=mode, breakdown=terms,
        weights_bytes=float(model_weight_bytes(shape, mode, dtype)),
        kv_cache_bytes=out(sum(by_kind.values())) if by_kind else 0.0, n_gpus=n_gpus, gpu=gpu,
        gpu_memory_bytes=gpu_memory_bytes, min_gpus=min_gpus,
        parallel={"dp": n_gpus // (tp * pp) if training else 1,
                  "tp": tp if training else n_gpus // pp, "pp": pp, "zero": zero},
        assumptions=tuple(notes), reserve_bytes=float(reserve), kv_cache_by_kind=by_kind,
        activations=a.to_dict() if a is not None else {}, trainable_params=trainable,
        weights_format=weights_format(mode, dtype))


def weights_format(mode: str, dtype) -> str:
    """How a mode stores the weights, from the dtypes it uses (base_dtypes)."""
    base, rest = base_dtypes(mode, dtype)
    return f"{base} base, {rest} embeddings and head" if mode in QUANTISED_BASE else rest


def shape_from_spec(spec) -> Shape:
    """A Shape from an architecture.TransformerSpec (exact parameter count by count_params)."""
    from scalinglab.architecture import count_params

    c = count_params(spec)
    return Shape(name=spec.name or "custom", n_params=float(c.total), n_layers=spec.n_layers,
                 d_model=spec.d_model, n_heads=spec.n_heads, n_kv_heads=spec.n_kv_heads,
                 head_dim=spec.head_dim, vocab=spec.vocab_size,
                 d_ff=spec.d_ff or spec.d_ff_expert, gated_mlp=spec.gated_mlp,
                 embedding_params=float(c.breakdown["embeddings"] + c.breakdown["head"]),
                 kv_lora_rank=spec.kv_lora_rank, rope_dim=spec.qk_rope_head_dim,
                 q_lora_rank=spec.q_lora_rank, qk_nope_dim=spec.qk_nope_head_dim,
                 v_head_dim=spec.v_head_dim, model_type=spec.model_type, norm=spec.norm,
                 norms_per_layer=spec.norms_per_layer, qk_norm=spec.qk_norm,
                 activation=spec.activation, positions=spec.positions, dropout=spec.dropout,
                 attention_dropout=spec.attention_dropout,
                 embedding_dropout=spec.embedding_dropout, sliding_window=spec.sliding_window,
                 sliding_layers=spec.sliding_layers, n_experts=spec.n_experts, top_k=spec.top_k,
                 d_ff_expert=spec.d_ff_expert, n_shared_experts=spec.n_shared_experts,
                 d_ff_shared=spec.d_ff_shared, shared_expert_gate=spec.shared_expert_gate,
                 n_moe_layers=spec.n_moe_layers, expert_params=float(c.breakdown["experts"]),
                 tied_embeddings=spec.tied_embeddings)


def load_shape(arch) -> Shape:
    """A Shape from a preset name ('llama-2-7b'), a config.json path, a spec, or a Shape."""
    if isinstance(arch, Shape):
        return arch
    from scalinglab.architecture import load_spec

    return shape_from_spec(load_spec(arch))


def estimate_for(arch, mode="train", dtype="bf16", *, gpu=None, **kw) -> MemoryEstimate:
    """estimate() for a preset, config.json, spec or Shape, with the verdict on `gpu`."""
    acc = None if gpu is None else get_accelerator(gpu)
    return estimate(load_shape(arch), str(mode).lower(), dtype,
                    gpu=None if acc is None else acc.name,
                    gpu_memory_bytes=None if acc is None else acc.memory_bytes, **kw)


def plan_memory(arch, gpu, n_gpus: int = 1, seq: int = 2048, **kw) -> MemoryEstimate:
    """Training memory for a plan: ARCH on n_gpus x GPU, bf16 mixed-precision AdamW, ZeRO-3
    (FSDP) across all of them, selective recomputation, micro-batch 1: the leanest usual
    data-parallel setup, so 'does not fit' means more GPUs or a smaller model, not a flag."""
    acc = get_accelerator(gpu)
    kw = {"zero": 3, "recompute": "selective", "batch": 1, **kw}
    return estimate(load_shape(arch), "train", gpu=acc.name, gpu_memory_bytes=acc.memory_bytes,
                    n_gpus=n_gpus, seq=seq, **kw)
