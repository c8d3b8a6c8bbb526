"""Activation memory of a training step: what autograd keeps for backward, tensor by tensor, as the
Hugging Face implementations save it, and the loss peak on top.

Per token and layer, in bytes; e = bytes of the compute dtype (matmul outputs: bf16/fp16 2, fp32
4), r = bytes of the residual stream and norm outputs (= e, but fp32 under autocast), h the hidden
size, q = heads x head_dim, kv = kv_heads x head_dim, f the MLP width, a the heads:
- norm (transformers' modeling_<type>.py): Llama RMSNorm keeps an fp32 copy of its input, the
  fp32 rstd and the normalised input cast back (4h + 4 + r h); Gemma/OLMo-2 RMSNorm multiply the
  weight in fp32 (4h + 4 + 4h); LayerNorm keeps its input and fp32 mean and rstd (r h + 8). The
  norm's output is kept once by the linears that read it (r h), or, under autocast, as one bf16
  cast per linear (2h each).
- attention, sdpa (PyTorch's flash/memory-efficient kernels: no s x s scores): Q, K, V, the output
  (e (2q + 2kv)) and the fp32 log-sum-exp (4a); K and V repeated to every head (e (2q + 2q)) when
  HF must pass a mask (a sliding window shorter than the sequence) to a GQA model. eager: Q, K and
  V repeated to all heads, the softmax (fp32 in Llama-style code: 4 a s, plus its cast e a s;
  GPT-2 style: e a s), the output copy for the projection (e q); attention dropout adds a 1-byte
  mask and the dropped probabilities (a s (1 + e)).
- MLP: f-wide copies that the activation function and the gate keep: F.silu / F.gelu keep their
  input: gated 4 e f (gate out, act out, up out, product), plain 2 e f; GPT-2's Python tanh GELU
  (gelu_new) 5 e f. MoE: top_k routed copies of each token (input, gate/up out, act, product,
  output: top_k (2 e h + 4 e f)), fp32 router probabilities and the dispatch indices (4E + 40 top_k),
  shared experts as dense MLPs; under autocast HF's grouped experts run in the weights' fp32.
- dropout: a 1-byte mask per dropout on the residual branches (CUDA's fused kernel).
- outside the layers: token ids (8 per token), the final norm and the LM head input; the rotary
  cos/sin tables and a sliding-window mask once per forward.
- the loss (HF ForCausalLMLoss): logits are upcast to fp32 and log_softmax keeps fp32 log-probs
  (4 v, saved); backward adds their fp32 gradient and the logits' (8 v): 12 s b v at the peak.
  `loss="fused"` (Liger-Kernel's fused linear cross-entropy): the hidden-state gradient and one
  chunk of logits of the same size (Liger's chunk rule: BT / ceil(V / H) tokens) and an fp32 loss
  per token: 2 e h + 4.
- autocast (torch.autocast over fp32 weights, HF Trainer's bf16=True): the bf16 copies of the
  linear weights that the matmuls keep (2 bytes per weight; the routed experts excepted).
- checkpointing "full" (HF gradient_checkpointing): each layer keeps its input (r h) and one
  layer is recomputed at a time during backward, whose activations count once on top;
  "selective" (Megatron): the attention scores are recomputed (eager as sdpa).
- LoRA (frozen base): a frozen linear keeps no input of its own (only its weight gradient needs
  it) and a frozen norm weight no normalised copy; each adapter keeps its (dropped-out) input and
  its rank-r middle.
- parallelism (Korthikanti et al. 2022): tensor + sequence parallelism divide it all by t; a 1F1B
  pipeline's first stage holds its layers' worth for all p micro-batches in flight: all layers.
Verified against what PyTorch saves on CPU for small HF models: memcheck.py, tests/test_memory_truth.py.
"""

from dataclasses import dataclass

import numpy as np

from scalinglab import precision
from scalinglab.errors import InputError, unknown
from scalinglab.results import Result

ATTENTION = ("sdpa", "eager")
LOSS_IMPLS = ("hf", "fused")
RECOMPUTE = ("none", "selective", "full")

# f-wide tensors a plain (fc -> act -> proj) MLP keeps, by transformers' activation name
# (activations.py ACT2FN): a torch kernel keeps its input, the projection keeps the output; ReLU
# keeps only its output; GPT-2's gelu_new is a Python tanh formula whose pow, tanh and two
# products keep 4 tensors, plus the output. A gated MLP keeps two more (the up output, the product).
_PLAIN_COPIES = {"gelu": 2, "gelu_pytorch_tanh": 2, "silu": 2, "swish": 2, "gelu_new": 5,
                 "gelu_fast": 5, "relu": 1}


@dataclass(frozen=True)
class Implementation:
    """How one transformers model family keeps its activations (read from its modeling code)."""

    norm: str = "rms"            # rms (Llama) | rms_fp32_weight (Gemma, OLMo 2) | layernorm
    softmax_fp32: bool = True    # eager: softmax(..., dtype=float32).to(dtype) vs in the dtype
    out_copy: bool = False       # sdpa output copied once more for the output projection (NeoX)
    parallel: bool = False       # attention and MLP norms read the same input (NeoX)
    source: str = "modeling_llama.py: LlamaRMSNorm, eager_attention_forward"


_LLAMA = Implementation()
_GEMMA = Implementation("rms_fp32_weight", source="modeling_gemma.py: GemmaRMSNorm "
                        "(x.float() * (1 + w)).type_as(x)")
IMPLEMENTATIONS = {
    **{t: _LLAMA for t in ("llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3",
                           "qwen3_moe", "phi3", "deepseek_v2", "deepseek_v3")},
    **{t: _GEMMA for t in ("gemma", "gemma2", "gemma3", "gemma3_text")},
    "olmo2": Implementation("rms_fp32_weight", source="modeling_olmo2.py: Olmo2RMSNorm"),
    "olmo": Implementation("layernorm", source="modeling_olmo.py: OlmoLayerNorm"),
    "gpt2": Implementation("layernorm", softmax_fp32=False,
                           source="modeling_gpt2.py: nn.LayerNorm, softmax in the input dtype"),
    "gpt_neox": Implementation("layernorm", out_copy=True, parallel=True,
                               source="modeling_gpt_neox.py: parallel residual, "
                                      "attn_output.reshape(...).contiguous()"),
    "bert": Implementation("layernorm", softmax_fp32=False, source="modeling_bert.py"),
}


def implementation(shape) -> Implementation:
    """The model family's implementation; unknown families follow Llama's code with their norm."""
    impl = IMPLEMENTATIONS.get(shape.model_type)
    if impl is not None:
        return impl
    return _LLAMA if shape.norm != "layernorm" else Implementation(
        "layernorm", source="unknown family: Llama's code with LayerNorm")


@dataclass(frozen=True)
class Numerics:
    """Bytes per value of what a training step keeps: e (compute), r (residual stream)."""

    e: float
    r: float
    autocast: bool


def numerics(dtype, autocast=None) -> Numerics:
    """bf16 weights: e = r = 2; fp32: 4; fp32 weights under bf16/fp16 autocast: e = 2, r = 4."""
    w = precision.get_precision(dtype)
    if autocast is None:
        return Numerics(w.bytes, w.bytes, False)
    a = precision.get_precision(autocast)
    if a.name not in ("bf16", "fp16") or w.name != "fp32":
        raise InputError(f"autocast {a.name} over {w.name} weights: autocast runs bf16 or fp16 "
                         "matmuls over fp32 weights (give --dtype fp32 --autocast bf16)")
    return Numerics(a.bytes, 4.0, True)


@dataclass(frozen=True)
class Adapters:
    """LoRA on a frozen base: which linear groups carry adapters (per layer), rank, dropout."""

    rank: int
    dropout: float
    qkv: int = 0       # adapters reading the attention input (q, k, v or one fused qkv)
    o: int = 0
    up: int = 0        # adapters reading the MLP input (gate, up or fc)
    down: int = 0
    experts: bool = True


def _norm(kind: str, w, n: Numerics, frozen: bool):
    """A norm over width w, without its output."""
    if kind == "layernorm":
        return n.r * w + 8
    normalised = 0 if frozen else (n.r if kind == "rms" else 4) * w
    return 4 * w + 4 + (normalised if kind == "rms" else 4 * w)


def _read(w, linears: int, n: Numerics):
    """The input of `linears` trained linears reading one tensor of width w."""
    if not linears:
        return 0
    return linears * 2 * w if n.autocast else n.r * w


def _adapted(w, m: int, n: Numerics, lora: Adapters):
    """Inputs kept by m adapters reading one tensor of width w: with LoRA dropout each keeps a
    1-byte mask and its dropped copy, else the shared input; plus each rank-r middle."""
    if not m:
        return 0
    if lora.dropout > 0:
        inp = m * (1 + (2 if n.autocast else n.r)) * w
    else:
        inp = _read(w, m, n)
    return inp + m * n.e * lora.rank


def layer_terms(shape, seq, batch=1, n: Numerics = Numerics(2, 2, False), attention="sdpa",
                recompute="none", dropout=None, attention_dropout=None, moe=False,
                lora: Adapters | None = None) -> dict:
    """Bytes one layer keeps for backward, by part (norms, attention, scores, mlp or router +
    experts + shared_experts, dropout). Arrays broadcast over seq and batch."""
    impl = implementation(shape)
    s, b = np.asarray(seq, dtype=float), np.asarray(batch, dtype=float)
    h, a, hd, e = shape.d_model, shape.n_heads, shape.head_dim, n.e
    q, kv = a * hd, shape.n_kv_heads * hd
    frozen = lora is not None
    p_hidden = shape.dropout if dropout is None else dropout
    p_attn = shape.attention_dropout if attention_dropout is None else attention_dropout

    def reads(w, linears, adapters):  # a tensor read by trained linears, or by adapters
        return _read(w, linears, n) if lora is None else _adapted(w, adapters, n, lora)

    # norms: attention and MLP norms (NeoX: the same input), Gemma 2/3's post-norms, QK-norm
    one = _norm(impl.norm, h, n, frozen)
    norms = one + (8 if impl.parallel and impl.norm == "layernorm" else one)
    norms += max(shape.norms_per_layer - 2, 0) * one
    if shape.qk_norm != "none":
        norms += _norm(impl.norm, q, n, frozen) + _norm(impl.norm, kv, n, frozen)
    # attention: the input of q, k, v (one fused matrix in GPT-2 and NeoX), Q, K, V, output
    fused = shape.model_type in ("gpt2", "gpt_neox") or shape.kv_lora_rank > 0
    att = reads(h, 1 if fused else 3, lora.qkv if lora else 0)
    out = q
    if shape.kv_lora_rank:  # MLA: latent norms and the inputs of q_b / kv_b
        r_q, c = shape.q_lora_rank, shape.kv_lora_rank
        att += (_norm("rms", r_q, n, frozen) + reads(r_q, 1, lora.qkv if lora else 0)) if r_q else 0
        att += _norm("rms", c, n, frozen) + reads(c, 1, lora.qkv if lora else 0)
        q = kv_k = a * (shape.qk_nope_dim + shape.rope_dim)
        kv_v = out = a * shape.v_head_dim
    else:
        kv_k = kv_v = kv
    eager = attention == "eager" and recompute != "selective"
    masked = bool(shape.sliding_window and shape.sliding_layers
                  and np.any(s > shape.sliding_window))
    if not shape.kv_lora_rank and shape.n_kv_heads < a and (eager or masked):
        kv_k = kv_v = q  # repeat_kv: K and V copied to every head
    att += e * (q + kv_k + kv_v)
    scores = 0.0
    if eager:
        probs = 4 if (impl.softmax_fp32 or n.autocast) else e
        scores = probs * a * s + ((1 + e) * a * s if p_attn > 0 else (e * a * s if probs != e else 0))
        att += 0 if frozen else e * out  # the output's contiguous copy, kept for o_proj's weight
    else:
        att += e * out + 4 * a + (e * out if impl.out_copy else 0)
    if lora is not None and lora.o:
        att += _adapted(out, lora.o, n, lora)
    # MLP (or router, routed and shared experts)
    act = (shape.activation or ("silu" if shape.gated_mlp else "gelu")).lower()
    copies = _PLAIN_COPIES.get(act, 2) + (2 if shape.gated_mlp else 0)
    down_only = 0 if act == "relu" else 1  # the down projection's input, kept for its weight

    def mlp(f, x=e):
        kept = (copies - (down_only if frozen else 0)) * x * f
        return kept + (_adapted(f, lora.down, n, lora) if lora is not None and lora.down else 0)

    ups = 2 if shape.gated_mlp else 1
    parts = {"norms": norms, "attention": att, "scores": scores}
    if moe:
        x = 4.0 if n.autocast else e  # HF's grouped experts cast the input to the weights' fp32
        shared = shape.n_shared_experts
        readers = 1 + ups * shared + (1 if shared and shape.shared_expert_gate else 0)
        parts["router"] = 4 * shape.n_experts + 40 * shape.top_k + reads(
            h, readers, (lora.up * shared) if lora else 0)
        parts["experts"] = shape.top_k * (2 * x * h + mlp(shape.d_ff_expert, x))
        parts["shared_experts"] = shared * mlp(shape.d_ff_shared or shape.d_ff_expert) + (
            e * h if shared and shape.shared_expert_gate else 0)
    else:
        parts["mlp"] = reads(h, ups, lora.up if lora else 0) + mlp(shape.d_ff)
    parts["dropout"] = 2 * h if p_hidden > 0 else 0.0
    return {k: v * s * b for k, v in parts.items()}


def outside_terms(shape, seq, batch=1, n: Numerics = Numerics(2, 2, False), dropout=None,
                  frozen=False, attention="sdpa") -> dict:
    """Bytes kept outside the layers: token ids, embedding dropout, the final norm and the LM
    head's input; once per forward the rotary tables and a sliding-window mask."""
    impl = implementation(shape)
    s, b = np.asarray(seq, dtype=float), np.asarray(batch, dtype=float)
    p = shape.embedding_dropout if dropout is None else dropout
    h = shape.d_model
    per_token = (8 * (not frozen) + (h if p > 0 else 0) + _norm(impl.norm, h, n, frozen)
                 + (0 if frozen else _read(h, 1, n)))
    rotary = 2 * s * shape.head_dim * n.r if shape.positions == "rotary" else 8 * s
    masked = (attention == "sdpa" and shape.sliding_window and shape.sliding_layers)
    mask = np.where(s > shape.sliding_window, b * s * s * n.r, 0.0) if masked else 0.0
    return {"head": per_token * s * b, "once": rotary + mask}


def loss_terms(shape, seq, batch=1, n: Numerics = Numerics(2, 2, False), loss="hf") -> dict:
    """The LM head + cross-entropy: bytes saved for backward and the transient on top at the
    peak (HF: fp32 log-probs 4 v saved, their gradient and the logits' 8 v during backward)."""
    if loss not in LOSS_IMPLS:
        raise unknown("loss implementation", loss, LOSS_IMPLS)
    tok = np.asarray(seq, dtype=float) * np.asarray(batch, dtype=float)
    if loss == "hf":
        return {"saved": 4.0 * shape.vocab * tok, "peak": 8.0 * shape.vocab * tok}
    return {"saved": 0.0 * tok, "peak": (2 * n.e * shape.d_model + 4) * tok}


@dataclass(frozen=True)
class Activations(Result):
    """Activation bytes of one micro-batch on one GPU (before any split), by what keeps them."""

    layers: float          # every layer's saved tensors (full checkpointing: their inputs)
    recompute: float       # full checkpointing: the one layer recomputed during backward
    outside: float         # token ids, final norm and LM head input, rotary tables, masks
    loss_saved: float      # the loss's fp32 log-probs, kept for backward
    loss_peak: float       # the loss's transient on top during backward
    weight_copies: float   # autocast: the bf16 copies of the weights the matmuls keep
    per_layer: dict        # part -> bytes of one (dense, else MoE) layer without checkpointing

    _derived = ("saved",)

    @property
    def saved(self) -> float:
        """What autograd holds for backward at the end of the forward pass (and the recomputed
        layer): the number memcheck.saved_bytes measures."""
        return (self.layers + self.recompute + self.outside + self.loss_saved
                + self.weight_copies)


def _linear_weights(shape) -> float:
    """Weights the matmuls read, without the routed experts: attention, MLPs, router, head."""
    return max(shape.n_params - shape.embedding_params - shape.expert_params, 0.0) + (
        shape.vocab * shape.d_model)


def activations(shape, seq, batch=1, dtype="bf16", autocast=None, attention="sdpa",
                recompute="none", loss="hf", dropout=None, lora: Adapters | None = None,
                tp=1) -> Activations:
    """Activation memory of one micro-batch of `batch` x `seq` tokens (per GPU: / tp)."""
    if attention not in ATTENTION:
        raise unknown("attention implementation", attention, ATTENTION)
    if recompute not in RECOMPUTE:
        raise unknown("recomputation", recompute, RECOMPUTE)
    n = numerics(dtype, autocast)
    t = np.asarray(tp, dtype=float)
    kw = dict(n=n, attention=attention, recompute=recompute, dropout=dropout,
              attention_dropout=dropout, lora=lora)
    n_moe = shape.n_moe_layers
    dense = sum(layer_terms(shape, seq, batch, moe=False, **kw).values())
    sparse = sum(layer_terms(shape, seq, batch, moe=True, **kw).values()) if n_moe else 0.0
    tok = np.asarray(seq, dtype=float) * np.asarray(batch, dtype=float)
    if recompute == "full":
        layers = shape.n_layers * n.r * shape.d_model * tok
        again = np.maximum(dense if n_moe < shape.n_layers else 0.0, sparse)
    else:
        layers = (shape.n_layers - n_moe) * dense + n_moe * sparse
        again = 0.0 * tok
    one = layer_terms(shape, seq, batch, moe=n_moe == shape.n_layers,
                      **{**kw, "recompute": "none" if recompute == "full" else recompute})
    out = sum(outside_terms(shape, seq, batch, n, dropout, lora is not None, attention).values())
    ls = loss_terms(shape, seq, batch, n, loss)
    copies = 2.0 * _linear_weights(shape) if n.autocast else 0.0
    return Activations(layers=layers / t, recompute=again / t, outside=out / t,
                       loss_saved=ls["saved"] / t, loss_peak=ls["peak"] / t,
                       weight_copies=copies / t,
                       per_layer={k: v / t for k, v in one.items()})
