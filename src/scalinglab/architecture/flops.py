"""FLOPs per token and per run from a TransformerSpec, under named conventions.

A multiply-add is 2 FLOP. Per token, forward, at sequence length T (L layers, h query heads):

  projections  2 x (attention weight matrices)              QKV, output (MLA: its low-rank pairs)
  mlp          2 x (dense MLP, router, shared and top_k routed expert matrices)
  head         2 V d                                         logits (none for encoder-only)
  attention    2 L T h (d_qk + d_v)                          QK^T and softmax @ V, full T x T
  softmax      3 L h T                                       Chinchilla App. F only
  embeddings   2 V d                                         Chinchilla App. F only (a lookup)

Conventions (training = forward + backward, backward = 2 x forward):
  6N          6 N, N = active parameters incl. embeddings (Kaplan 2020 Sec. 2.1; Hoffmann 2022)
  kaplan      6 N_nonemb + 6 L T d_attn (Kaplan et al. 2020, Table 1: only QK^T is counted)
  palm        6 N + 12 L H Q T, N without position tables (Chowdhery et al. 2022, App. B; nanoGPT MFU)
  chinchilla  3 x (embeddings + projections + attention + softmax + mlp + head) (Hoffmann 2022, App. F)
  megatron    3 x (projections + mlp + head + attention / 2): causal masks halve attention
              (Megatron-LM num_floating_point_operations; Narayanan et al. 2021)
  matmul      3 x (projections + mlp + head + attention): every matmul a dense kernel runs, which is
              what torch's FlopCounterMode counts (SDPA computes the masked half too)
Hardware FLOPs add recomputation: full (one more forward) or selective (attention core again,
Korthikanti et al. 2022).

Fine-tuning (finetune_flops_per_token). The backward pass is one forward's worth of FLOP for the
gradients with respect to the inputs and one for those with respect to the weights (Kaplan et al.
2020, Sec. 2.1: backward = 2 x forward). LoRA (and QLoRA, whose NF4 base is dequantised to bf16
for the same matmuls) freezes the base: its weights need no weight gradient, only the input
gradients that carry the loss back to the adapters (Hu et al. 2021, Sec. 4.2: "we do not need to
calculate the gradient for the vast majority of the parameters"; they measured 25% faster
training than full fine-tuning on GPT-3 175B). With W the forward FLOP of the weight matmuls and
N_a the adapter parameters active per token (r (d_in + d_out) per adapted linear, PEFT's rule):
  forward  F + 2 N_a;  backward  (2F - W) + 4 N_a;  under 6N: 4N + 6N_a, against 6N for full.
Gradient checkpointing (the QLoRA recipe's, memory's default for LoRA) adds one forward of
hardware FLOP; MFU counts model FLOP only (Chowdhery et al. 2022, App. B). Neglected: layer 0's
attention inputs come straight from the frozen embedding, so their input gradients are not
computed either (1/L of the attention projections' input gradients; the tests measure it).
"""

from dataclasses import dataclass, replace

import numpy as np

from scalinglab.architecture.params import attention_params, count_params, mlp_params
from scalinglab.architecture.spec import TransformerSpec
from scalinglab.compute import TrainingFlops
from scalinglab.errors import InputError, unknown
from scalinglab.results import Result, hidden

CONVENTIONS = ("6N", "kaplan", "palm", "chinchilla", "megatron", "matmul")
RECOMPUTE = ("none", "selective", "full")
FINETUNE = ("full", "lora", "qlora", "lora8")  # lora8: LoRA over an int8 base (LLM.int8())
DEFAULT_SEQ_LEN = 2048
FORMULAS = {
    "6N": "6 N (N = active parameters, embeddings included)",
    "kaplan": "6 N_nonemb + 6 n_layer n_ctx d_attn (Kaplan et al. 2020, Table 1)",
    "palm": "6 N + 12 L H Q T (PaLM App. B; N without position tables)",
    "chinchilla": "3 x forward of Hoffmann et al. 2022 App. F (embeddings, QKV, QK^T, softmax, "
                  "softmax@V, output, MLP, logits)",
    "megatron": "3 x (2 x matmul weights + causal-halved attention) (Megatron-LM)",
    "matmul": "3 x (2 x matmul weights + full T x T attention) (what FlopCounterMode counts)",
}


def _convention(name: str) -> str:
    for c in CONVENTIONS:
        if str(name).lower() == c.lower():
            return c
    raise unknown("FLOP convention", name, CONVENTIONS)


def _bias_free(spec: TransformerSpec) -> TransformerSpec:
    return spec.with_(attn_bias="none", mlp_bias=False, expert_bias=False, qk_norm="none",
                      attn_sinks=False,
                      norm="nonparametric" if spec.mla else spec.norm)


def matmul_weights(spec: TransformerSpec) -> dict:
    """Weights that multiply each token's activations (active experts only), by part."""
    s = _bias_free(spec)
    d = spec.d_model
    proj = attention_params(s.with_(norm="nonparametric"))
    n_moe = spec.n_moe_layers
    moe = (spec.top_k * mlp_params(s, spec.d_ff_expert) + spec.n_shared_experts
           * mlp_params(s, spec.d_ff_shared) + d * spec.n_experts
           + (d if spec.shared_expert_gate else 0)) if spec.is_moe else 0
    return {"projections": spec.n_layers * proj,
            "mlp": (spec.n_layers - n_moe) * mlp_params(s, spec.d_ff) + n_moe * moe,
            "head": 0 if spec.encoder_only else spec.vocab_size * d}


def forward_terms(spec: TransformerSpec, seq_len=DEFAULT_SEQ_LEN) -> dict:
    """Forward FLOP per token by term (arrays when seq_len is an array)."""
    t = np.asarray(seq_len, dtype=float)
    if np.any(t <= 0) or not np.all(np.isfinite(t)):
        raise InputError(f"sequence length must be positive, got {seq_len!r}")
    w = matmul_weights(spec)
    L, h = spec.n_layers, spec.n_heads
    return {"embeddings": 2.0 * spec.vocab_size * spec.d_model,
            "projections": 2.0 * w["projections"], "mlp": 2.0 * w["mlp"], "head": 2.0 * w["head"],
            "attention": 2.0 * L * t * h * (spec.qk_head_dim + spec.v_dim),
            "softmax": 3.0 * L * h * t}


@dataclass(frozen=True)
class FlopCount(Result):
    """Training FLOP per token of one architecture under one convention."""

    name: str
    convention: str
    seq_len: float
    n_params: float  # the N this convention counts
    forward: float = hidden()   # per token
    backward: float = hidden()  # per token
    recompute: str = "none"
    recompute_extra: float = hidden(default=0.0)  # per token, hardware only
    weights_forward: float = hidden(default=0.0)  # the forward FLOP of weight matmuls (W)
    mode: str = "full"  # full: every weight trained; lora/qlora/lora8: frozen base + adapters
    adapter_params: float = 0.0  # LoRA parameters active per token

    _derived = ("formula", ("forward_per_token", "forward"), ("backward_per_token", "backward"),
                ("training_per_token", "training"), ("hardware_per_token", "hardware"), "per_param")

    @property
    def formula(self) -> str:
        if self.mode == "full":
            return FORMULAS[self.convention]
        return (f"{self.mode}: frozen base, no weight gradients: (3 x forward - W) + 6 N_a, W = "
                f"the base's weight-matmul FLOP, N_a = adapter parameters; forward as "
                f"{FORMULAS[self.convention]}")

    @property
    def training(self) -> float:
        """Model FLOP per token (forward + backward)."""
        return self.forward + self.backward

    @property
    def hardware(self) -> float:
        """Hardware FLOP per token: model FLOP plus recomputation."""
        return self.training + self.recompute_extra

    @property
    def per_param(self) -> float:
        """Training FLOP per token per N: 6 under 6N."""
        return self.training / self.n_params

    def run(self, n_tokens) -> TrainingFlops:
        """The whole run for n_tokens (compute.TrainingFlops, convention named)."""
        d = float(n_tokens)
        return TrainingFlops(self.n_params, d, self.forward * d, self.backward * d,
                             convention=self.convention)

    def describe(self, n_tokens) -> str:
        """One line naming the architecture, the convention and its formula, for assumptions."""
        lora = ("" if self.mode == "full" else
                f"; {self.mode}: {self.adapter_params:,.0f} adapter parameters per token, frozen "
                f"base (no weight gradients): {self.per_param:.3g} N per token against "
                f"{3 * (self.forward - 2 * self.adapter_params) / self.n_params:.3g} N for full "
                "fine-tuning (Hu et al. 2021; architecture/flops.py)"
                + (f"; hardware {self.hardware:.4g} FLOP/token with {self.recompute} "
                   "recomputation, not in the MFU" if self.recompute_extra else ""))
        return (f"{self.name} under the {self.convention} convention, {FORMULAS[self.convention]}: "
                f"{self.training:.4g} FLOP/token (N = {self.n_params:,.0f}, sequence length "
                f"{self.seq_len:g}) x {float(n_tokens):.4g} tokens" + lora)



def flops_per_token(spec: TransformerSpec, convention: str = "megatron", seq_len=DEFAULT_SEQ_LEN,
                    recompute: str = "none") -> FlopCount:
    """Training FLOP per token under a named convention (see the module docstring)."""
    conv = _convention(convention)
    if recompute not in RECOMPUTE:
        raise unknown("recomputation", recompute, RECOMPUTE)
    c = count_params(spec)
    f = forward_terms(spec, seq_len)
    matmul = f["projections"] + f["mlp"] + f["head"]
    pos = spec.max_positions * spec.d_model if spec.positions == "learned" else 0
    t = np.asarray(seq_len, dtype=float)
    dattn = spec.n_heads * spec.qk_head_dim
    n, fwd = {
        "6N": (c.active, 2.0 * c.active),
        "kaplan": (c.active - (c.total - c.non_embedding), 2.0 * (c.active - (c.total - c.non_embedding))
                   + 2.0 * spec.n_layers * t * dattn),
        "palm": (c.active - pos, 2.0 * (c.active - pos) + f["attention"]),
        "chinchilla": (c.active, f["embeddings"] + matmul + f["attention"] + f["softmax"]),
        "megatron": (c.active, matmul + f["attention"] / 2),
        "matmul": (c.active, matmul + f["attention"]),
    }[conv]
    weights = {"6N": 2.0 * n, "kaplan": 2.0 * n, "palm": 2.0 * n,
               "chinchilla": f["embeddings"] + matmul}.get(conv, matmul)
    attn_fwd = f["attention"] / (2 if conv == "megatron" else 1)
    extra = {"none": 0.0, "full": fwd, "selective": attn_fwd + f["softmax"]}[recompute]
    out = lambda x: float(x) if np.ndim(x) == 0 else x  # noqa: E731
    return FlopCount(spec.name, conv, out(t), float(n), out(fwd), out(2 * fwd), recompute, out(extra),
                     float(weights))


def adapter_params_per_token(spec: TransformerSpec, rank: int = 16, targets=None,
                             experts: bool = True) -> float:
    """LoRA parameters a token passes through: PEFT's r (d_in + d_out) per adapted linear
    (lora.lora_params), with only top_k of a MoE layer's routed experts' adapters."""
    from scalinglab.lora import lora_params
    from scalinglab.memory import shape_from_spec

    shape = shape_from_spec(spec)
    every = lora_params(shape, rank, targets, experts)
    if not (spec.is_moe and experts):
        return every
    outside = lora_params(shape, rank, targets, experts=False)
    return outside + (every - outside) * spec.top_k / spec.n_experts


def finetune_flops_per_token(spec: TransformerSpec, mode: str = "lora", convention: str = "6N",
                             seq_len=DEFAULT_SEQ_LEN, rank: int = 16, targets=None,
                             experts: bool = True, recompute: str | None = None) -> FlopCount:
    """Training FLOP per token of fine-tuning (module docstring): full = pretraining's count;
    lora, qlora, lora8 = frozen base (no weight gradients) + adapters of rank `rank` on `targets`
    (lora.py's names; default all linears). recompute: default full for the LoRA modes (the
    QLoRA recipe's gradient checkpointing; hardware FLOP only)."""
    if str(mode).lower() not in FINETUNE:
        raise unknown("fine-tuning mode", mode, FINETUNE)
    mode = str(mode).lower()
    if mode == "full":
        return flops_per_token(spec, convention, seq_len, recompute or "none")
    recompute = recompute or "full"
    base = flops_per_token(spec, convention, seq_len, "none")
    na = adapter_params_per_token(spec, rank, targets, experts)
    fwd = base.forward + 2 * na
    bwd = base.backward - base.weights_forward + 4 * na
    again = flops_per_token(spec, convention, seq_len, recompute).recompute_extra
    extra = again + (2 * na if recompute == "full" else 0.0)
    return replace(base, forward=fwd, backward=bwd, recompute=recompute, recompute_extra=extra,
                   mode=mode, adapter_params=na)


def training_flops_arch(spec: TransformerSpec, n_tokens, convention: str = "megatron",
                        seq_len=DEFAULT_SEQ_LEN) -> TrainingFlops:
    """Training FLOP for n_tokens under a convention, as compute.TrainingFlops."""
    return flops_per_token(spec, convention, seq_len).run(n_tokens)


def run_flops(arch, n_tokens, convention: str = "6N", seq_len=DEFAULT_SEQ_LEN, mode=None,
              **lora) -> tuple:
    """(FLOP of a run, the line saying how): an architecture (preset, config.json or spec) trained
    on n_tokens under a named convention; what `time --arch` and `plan --arch` time. mode: a
    fine-tuning mode (FINETUNE) with lora = rank, targets, experts (finetune_flops_per_token)."""
    from scalinglab.architecture.presets import load_spec

    spec = load_spec(arch)
    fl = (flops_per_token(spec, convention, seq_len) if mode is None else
          finetune_flops_per_token(spec, mode, convention, seq_len, **lora))
    return fl.run(n_tokens).flops, fl.describe(n_tokens)


@dataclass(frozen=True)
class InferenceFlops(Result):
    """Forward FLOP for a prompt of `context` tokens (prefill) and per generated token after it."""

    name: str
    context: float
    prefill: float = hidden()            # whole prompt, causal attention
    decode_per_token: float = hidden()   # one new token attending to `context` cached tokens
    n_params: float

    _derived = (("prefill_flops", "prefill"), ("decode_flops_per_token", "decode_per_token"),
                "decode_per_param")

    @property
    def decode_per_param(self) -> float:
        return self.decode_per_token / self.n_params


def inference_flops_arch(spec: TransformerSpec, context=DEFAULT_SEQ_LEN) -> InferenceFlops:
    """Prefill: T (2W) + causal attention over T^2/2 pairs; decode at context T: 2W + attention over T."""
    f = forward_terms(spec, context)
    t = np.asarray(context, dtype=float)
    matmul = f["projections"] + f["mlp"] + f["head"]
    out = lambda x: float(x) if np.ndim(x) == 0 else x  # noqa: E731
    return InferenceFlops(spec.name, out(t), out(t * matmul + t * f["attention"] / 2),
                          out(matmul + f["attention"]), float(count_params(spec).active))
