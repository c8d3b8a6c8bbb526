"""Will it fit? Memory per GPU for training, fine-tuning (full, LoRA, QLoRA) and inference.

Every term is a named formula on plain numbers (bytes, parameters, layers, hidden size, heads):
- model states: weights, gradients, fp32 master weights and optimizer states, sharded by ZeRO
  stage 1/2/3 across data-parallel ranks (Rajbhandari et al. 2020) and split by tensor x pipeline
  parallelism; mixed-precision AdamW is 2 + 2 + 4 + 8 = 16 bytes/parameter.
- activations per layer: s b h (34 + 5 a s / h) bytes with none, 34 s b h with selective and 2 s b h
  with full recomputation, divided by t under tensor + sequence parallelism (Korthikanti et al.
  2022, Table 2); with a 1F1B pipeline the first stage holds all layers' worth (ibid. Sec. 4.2.3).
- the logits buffer: fp32 logits for the cross-entropy, 4 s b v / t bytes (ibid. Sec. 4.3).
- KV cache: 2 x layers x kv_heads x head_dim x bytes x tokens x batch; MLA caches
  (kv_lora_rank + rope_dim) values per token per layer instead (DeepSeek-V2, Sec. 2.1).
- an overhead term: OVERHEAD_FRACTION of the rest, for allocator fragmentation, temporary buffers
  and communication buckets (a rule of thumb, shown in every result, overridable).
Functions broadcast over numpy arrays, so a whole range of GPU counts is one call.
"""

from dataclasses import dataclass, field

import numpy as np

from scalinglab.errors import InputError, unknown
from scalinglab import precision
from scalinglab.hardware import get_accelerator

OVERHEAD_FRACTION = 0.10
MAX_GPUS = 16_384  # search limit for min_gpus

# Optimizer state bytes per trained parameter, besides the fp32 master copy (see master_bytes).
OPTIMIZERS = {
    "adamw": 8.0,      # m and v in fp32 (Loshchilov & Hutter 2019; ZeRO's K = 12 with the master)
    "adamw8bit": 2.0,  # m and v block-quantised to 8 bits (Dettmers et al. 2022, 8-bit optimizers)
    "sgd": 4.0,        # fp32 momentum buffer
    "adafactor": None,  # factored second moment, no momentum: see optimizer_state_bytes
    "none": 0.0,
}
RECOMPUTE = ("none", "selective", "full")
MODES = ("train", "finetune", "lora", "qlora", "infer")
LORA_TARGETS = ("q", "k", "v", "o", "gate", "up", "down")


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
                   kv_lora_rank=0, rope_dim=0):
    """KV cache: 2 (K and V) x layers x kv_heads x head_dim x bytes x tokens x batch.

    With multi-head latent attention (kv_lora_rank > 0) each layer caches one latent of
    kv_lora_rank values plus a shared rope key of rope_dim values per token (DeepSeek-V2 Sec. 2.1).
    """
    per_token_layer = np.where(np.asarray(kv_lora_rank) > 0,
                               np.asarray(kv_lora_rank) + np.asarray(rope_dim),
                               2 * np.asarray(n_kv_heads) * np.asarray(head_dim))
    return (np.asarray(n_layers, dtype=float) * per_token_layer * bytes_per_value(dtype)
            * np.asarray(tokens, dtype=float) * np.asarray(batch, dtype=float))


def activation_bytes_per_layer(seq, batch, d_model, n_heads, recompute="none", tp=1,
                               dropout=True, n_kv_heads=None, head_dim=None, d_ff=None,
                               gated=False):
    """Activations one transformer layer keeps for backward, 16-bit (Korthikanti et al. 2022).

    With the defaults (MHA, head_dim = h/a, a 4h GELU MLP, dropout) this is the paper's Table 2:
    none: s b h (34 + 5 a s / h); selective (attention scores recomputed): 34 s b h; full: 2 s b h
    (the layer input only). Tensor parallelism t with sequence parallelism divides each by t.
    The paper's itemisation (Sec. 4.1), generalised to GQA, any head_dim and a gated MLP:
      attention  2sbh (QKV input) + 2sb(q + 2 kv) (Q, K, V) + 2sbq (projection input)
                 + 2as^2b (softmax) [+ as^2b mask + 2as^2b dropout output + sbh mask]
      MLP        2sbh (input) + 4 sb ff (GELU input, second input) or 8 sb ff gated (gate, up,
                 act(gate), product) [+ sbh mask]
      norms      2 x 2sbh
    where q = a x head_dim, kv = kv_heads x head_dim; [..] only with dropout.
    FlashAttention stores no s x s scores, as selective recomputation.
    """
    s, b, h = (np.asarray(x, dtype=float) for x in (seq, batch, d_model))
    a = np.asarray(n_heads, dtype=float)
    hd = h / a if head_dim is None else np.asarray(head_dim, dtype=float)
    kv = a if n_kv_heads is None else np.asarray(n_kv_heads, dtype=float)
    ff = 4 * h if d_ff is None else np.asarray(d_ff, dtype=float)
    q, k = a * hd, kv * hd
    sb = s * b
    linear = sb * (2 * h + 2 * (q + 2 * k) + 2 * q       # attention
                   + 2 * h + (8 if gated else 4) * ff    # MLP
                   + 4 * h + (2 * h if dropout else 0))  # norms, dropout masks
    scores = (5 if dropout else 2) * a * s * sb
    if recompute == "none":
        per = linear + scores
    elif recompute == "selective":
        per = linear
    elif recompute == "full":
        per = 2 * sb * h
    else:
        raise unknown("recomputation", recompute, RECOMPUTE)
    return per / np.asarray(tp, dtype=float)


def logits_bytes(seq, batch, vocab, tp=1):
    """fp32 logits kept for the cross-entropy: 4 s b v / t (Korthikanti et al. 2022, Sec. 4.3)."""
    return 4.0 * np.asarray(seq, dtype=float) * np.asarray(batch) * vocab / np.asarray(tp)


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
class Shape:
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

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def lora_targets(shape: Shape, targets=None) -> tuple:
    """The LoRA target modules: as given, or every linear map of the layer (no gate without GLU)."""
    if targets:
        return tuple(targets)
    return tuple(t for t in LORA_TARGETS if shape.gated_mlp or t != "gate")


def lora_params(shape: Shape, rank: int = 16, targets=None):
    """LoRA adds r (d_in + d_out) parameters per targeted linear map per layer (Hu et al. 2021)."""
    targets = lora_targets(shape, targets)
    h, q, kv, ff = shape.d_model, shape.n_heads * shape.head_dim, \
        shape.n_kv_heads * shape.head_dim, shape.d_ff
    dims = {"q": h + q, "k": h + kv, "v": h + kv, "o": q + h, "gate": h + ff, "up": h + ff,
            "down": ff + h}
    if not shape.gated_mlp:
        dims.pop("gate")
    bad = [t for t in targets if t not in dims]
    if bad:
        raise unknown("LoRA target module", bad[0], dims)
    if rank < 1:
        raise InputError(f"LoRA rank {rank!r} must be a positive integer")
    return float(rank * shape.n_layers * sum(dims[t] for t in targets))


# --- the verdict ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes per GPU by term, the verdict on one accelerator and the fewest GPUs that fit."""

    model: str
    mode: str
    breakdown: dict            # term -> bytes on one GPU (overhead included as a term)
    weights_bytes: float       # the whole model's weights, before any split
    kv_cache_bytes: float      # the whole KV cache (0 when training)
    n_gpus: int
    gpu: str | None = None
    gpu_memory_bytes: float | None = None
    min_gpus: int | None = None
    parallel: dict = field(default_factory=dict)
    assumptions: tuple = ()

    @property
    def per_gpu_bytes(self) -> float:
        return float(sum(self.breakdown.values()))

    @property
    def fits(self) -> bool | None:
        return None if self.gpu_memory_bytes is None else self.per_gpu_bytes <= self.gpu_memory_bytes

    def to_dict(self) -> dict:
        return {"model": self.model, "mode": self.mode, "weights_bytes": self.weights_bytes,
                "kv_cache_bytes": self.kv_cache_bytes, "per_gpu_bytes": self.per_gpu_bytes,
                "fits": self.fits, "min_gpus": self.min_gpus, "n_gpus": self.n_gpus,
                "gpu": self.gpu, "gpu_memory_bytes": self.gpu_memory_bytes,
                "breakdown": self.breakdown, "parallel": self.parallel,
                "assumptions": list(self.assumptions)}


def _inference_terms(shape: Shape, dtype, tp, pp, batch, context, kv_dtype) -> tuple[dict, list]:
    """Weights and KV cache per GPU, arrays over tp."""
    w = weight_bytes(shape.n_params, dtype) / (np.asarray(tp, dtype=float) * pp)
    kv_heads_per_gpu = np.ceil(shape.n_kv_heads / np.minimum(tp, shape.n_kv_heads))
    kv = kv_cache_bytes(shape.n_layers, kv_heads_per_gpu, shape.head_dim, context, batch,
                        kv_dtype, shape.kv_lora_rank, shape.rope_dim) / pp
    notes = [f"weights: {bits_per_value(dtype):.4g} bits/weight ({dtype}) on every parameter, "
             "split evenly over tensor x pipeline ranks",
             "KV cache: " + ("MLA latent + rope key per token per layer, replicated on each "
                             "tensor rank" if shape.kv_lora_rank else
                             f"2 x layers x kv_heads x head_dim, {kv_dtype}; kv heads split over "
                             "tensor ranks (replicated when fewer than ranks)")
             + f"; {batch:g} x {context:g} tokens"]
    return {"weights": w, "kv_cache": kv}, notes


def _adapter_states(shape: Shape, mode, dtype, optimizer, zero, dp, tp, pp, rank,
                    targets) -> tuple[dict, str]:
    """LoRA/QLoRA: frozen base weights plus trained adapters with their gradients and optimizer."""
    targets = lora_targets(shape, targets)
    trainable = lora_params(shape, rank, targets)
    quantised = shape.n_params - shape.embedding_params if mode == "qlora" else 0.0
    adapter_dtype = "bf16" if mode == "qlora" else "fp32"
    frozen = (model_state_bytes(shape.n_params - quantised, dtype, "none", zero, dp, tp, pp)
              ["weights"] + model_state_bytes(quantised, "nf4", "none", zero, dp, tp, pp)["weights"])
    adapters = model_state_bytes(trainable, adapter_dtype, optimizer, zero, dp, tp, pp,
                                 d_model=shape.d_model, master=False)
    base = (" in NF4 with double quantisation (4.127 bits) except embeddings and output head "
            f"({dtype}); paged optimizer: its states may move to CPU under pressure (counted "
            "here on the GPU)") if mode == "qlora" else f" in {dtype}"
    note = (f"LoRA rank {rank} on {','.join(targets)} of every layer: {trainable:,.0f} trainable "
            f"parameters, {adapter_dtype} adapters, {optimizer} states; base frozen{base}")
    return {"weights": frozen, "adapters": adapters["weights"],
            "gradients": adapters["gradients"], "optimizer": adapters["optimizer"]}, note


def _training_terms(shape: Shape, mode, dtype, optimizer, zero, dp, tp, pp, batch, seq,
                    recompute, rank, targets, dropout) -> tuple[dict, list]:
    """Model states, activations and logits per GPU, arrays over dp."""
    if mode in ("lora", "qlora"):
        states, note = _adapter_states(shape, mode, dtype, optimizer, zero, dp, tp, pp, rank,
                                       targets)
    else:
        states = model_state_bytes(shape.n_params, dtype, optimizer, zero, dp, tp, pp,
                                   d_model=shape.d_model)
        per = OPTIMIZERS[optimizer]
        note = (f"model states: {dtype} weights and gradients"
                + (", fp32 master weights" if master_bytes(dtype, optimizer) else "")
                + f", {optimizer} states" + ("" if per is None else " = {:g} bytes/param".format(
                    2 * bytes_per_value(dtype) + master_bytes(dtype, optimizer) + per)))
    ones = np.ones_like(np.asarray(dp, dtype=float))
    act = activation_bytes_per_layer(seq, batch, shape.d_model, shape.n_heads, recompute, tp,
                                     dropout, shape.n_kv_heads, shape.head_dim, shape.d_ff,
                                     shape.gated_mlp)
    states["activations"] = act * shape.n_layers * ones
    states["logits"] = logits_bytes(seq, batch, shape.vocab, tp) * ones
    layer = {"none": f"its matmul, MLP and norm inputs + {5 if dropout else 2} a s^2 b of scores",
             "selective": "its matmul, MLP and norm inputs (scores recomputed)",
             "full": "2 s b h, its input"}[recompute]
    kind = (f"{'GQA, ' if shape.n_kv_heads < shape.n_heads else ''}"
            f"{'gated' if shape.gated_mlp else 'GELU'} MLP of {shape.d_ff}, "
            f"{'with' if dropout else 'no'} dropout")
    notes = [note,
             f"ZeRO stage {zero} over {_scalar(dp)} data-parallel GPU(s); tensor parallel {tp}, "
             f"pipeline parallel {pp} (model states split tp x pp ways)",
             f"activations: Korthikanti et al. 2022, "
             f"{'no' if recompute == 'none' else recompute} recomputation, micro-batch "
             f"{batch:g} x {seq:g} tokens, 16-bit; per layer {layer} (Sec. 4.1 itemisation: "
             f"{kind}); 1F1B pipeline: the first stage holds all layers' worth",
             "logits: fp32, 4 x seq x batch x vocab / tp bytes for the cross-entropy"]
    return states, notes


def model_weight_bytes(shape: Shape, mode: str, dtype) -> float:
    """The whole model's weights; QLoRA keeps embeddings and output head in 16-bit, the rest NF4."""
    if mode != "qlora":
        return weight_bytes(shape.n_params, dtype)
    return (weight_bytes(shape.n_params - shape.embedding_params, "nf4")
            + weight_bytes(shape.embedding_params, dtype))


def _scalar(x):
    x = np.asarray(x)
    return x.item() if x.ndim == 0 else x


def _with_overhead(terms: dict, overhead: float) -> dict:
    total = sum(terms.values())
    return {**terms, "overhead": total * overhead}


def estimate(shape: Shape, mode="train", dtype="bf16", *, gpu=None, gpu_memory_bytes=None,
             n_gpus=1, zero=None, tp=1, pp=1, batch=1, seq=2048, context=None, optimizer=None,
             recompute=None, rank=16, targets=None, kv_dtype=None, dropout=True,
             overhead=OVERHEAD_FRACTION) -> MemoryEstimate:
    """Memory per GPU for `mode` on n_gpus (= dp x tp x pp), the verdict and the fewest GPUs.

    Defaults: mixed-precision AdamW for train/finetune/lora, paged 32-bit AdamW for qlora; no
    recomputation for train/finetune, full (gradient checkpointing) for lora/qlora as the QLoRA
    recipe does; ZeRO-0 unless given; KV cache in the weights' dtype (bf16 for quantised weights).
    """
    if mode not in MODES:
        raise unknown("mode", mode, MODES)
    for what, v in (("--n-gpus", n_gpus), ("tensor parallel", tp), ("pipeline parallel", pp),
                    ("--batch", batch), ("--seq", seq)):
        if not (v >= 1):
            raise InputError(f"{what} must be at least 1 (got {v!r})")
    if n_gpus % (tp * pp):
        raise InputError(f"--n-gpus {n_gpus} is not a multiple of tensor x pipeline = {tp * pp}")
    if overhead < 0:
        raise InputError(f"overhead fraction {overhead!r} must be >= 0")
    tp_given = tp if mode != "infer" else n_gpus // pp
    if shape.n_heads % tp_given:
        raise InputError(f"tensor parallel {tp_given} does not divide {shape.name}'s "
                         f"{shape.n_heads} attention heads (Megatron splits heads across ranks)")
    dtype = precision.canonical(dtype)  # once, here: bfloat16 and bf16 are the same
    kv_dtype = None if kv_dtype is None else precision.canonical(kv_dtype)
    training = mode != "infer"
    optimizer = optimizer or ("adamw" if training else "none")
    recompute = recompute or ("full" if mode in ("lora", "qlora") else "none")
    zero = 0 if zero is None else zero
    context = seq if context is None else context
    kv_dtype = kv_dtype or (dtype if bits_per_value(dtype) >= 8 else "bf16")
    if training and bits_per_value(dtype) < 16:
        raise InputError(f"training in {dtype} is not modelled: use bf16/fp16/fp32, or "
                         "--mode qlora for a 4-bit base")
    if training:
        unit = tp * pp

        def terms_at(dp_):
            return _training_terms(shape, mode, dtype, optimizer, zero, dp_, tp, pp, batch, seq,
                                   recompute, rank, targets, dropout)
    else:
        unit = pp

        def terms_at(tp_):
            return _inference_terms(shape, dtype, tp_, pp, batch, context, kv_dtype)
    terms, notes = terms_at(n_gpus // unit)
    terms = {k: float(v) for k, v in _with_overhead(terms, overhead).items()}
    min_gpus = None
    if gpu_memory_bytes is not None:  # every degree 1..MAX_GPUS / unit at once
        per_gpu = sum(_with_overhead(terms_at(np.arange(1, MAX_GPUS // unit + 1))[0],
                                     overhead).values())
        degrees = np.arange(1, MAX_GPUS // unit + 1)
        fits = per_gpu <= gpu_memory_bytes
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
    notes.append(f"overhead: {overhead:.0%} of the above for allocator fragmentation, temporary "
                 "buffers and communication (a rule of thumb, not a measurement)")
    kv_total = 0.0 if training else float(kv_cache_bytes(
        shape.n_layers, shape.n_kv_heads, shape.head_dim, context, batch, kv_dtype,
        shape.kv_lora_rank, shape.rope_dim))
    return MemoryEstimate(
        model=shape.name, mode=mode, breakdown=terms,
        weights_bytes=float(model_weight_bytes(shape, mode, dtype)),
        kv_cache_bytes=kv_total, n_gpus=n_gpus, gpu=gpu, gpu_memory_bytes=gpu_memory_bytes,
        min_gpus=min_gpus,
        parallel={"dp": n_gpus // (tp * pp) if training else 1,
                  "tp": tp if training else n_gpus // pp, "pp": pp, "zero": zero},
        assumptions=tuple(notes))


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


def plan_memory(arch, gpu, n_gpus: int = 1, seq: int = 2048, **kw) -> MemoryEstimate:
    """Training memory for a plan: ARCH on n_gpus x GPU, bf16 mixed-precision AdamW, ZeRO-3
    (FSDP) across all of them, selective recomputation, micro-batch 1: the leanest usual
    data-parallel setup, so 'does not fit' means more GPUs or a smaller model, not a flag."""
    acc = get_accelerator(gpu)
    kw = {"zero": 3, "recompute": "selective", "batch": 1, **kw}
    return estimate(load_shape(arch), "train", gpu=acc.name, gpu_memory_bytes=acc.memory_bytes,
                    n_gpus=n_gpus, seq=seq, **kw)
