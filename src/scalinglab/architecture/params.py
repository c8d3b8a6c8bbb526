"""Exact parameter counts from a TransformerSpec: total, active (MoE), non-embedding, by part.

Integers throughout (Python ints: exact at any size). Each count is the number of elements the
reference implementation (Hugging Face transformers) allocates, shared weights counted once.
"""

from dataclasses import dataclass

from scalinglab.architecture.spec import TransformerSpec
from scalinglab.results import Result

PARTS = ("embeddings", "attention", "mlp", "experts", "shared_experts", "router", "norms", "head")


@dataclass(frozen=True)
class ParamCount(Result):
    """Parameters of one model. `breakdown` sums to `total`; `active_breakdown` to `active`."""

    name: str
    total: int
    active: int
    non_embedding: int
    breakdown: dict
    active_breakdown: dict


def norm_params(spec: TransformerSpec, width: int) -> int:
    """One normalisation layer over `width` features: LayerNorm 2w, RMSNorm (or a LayerNorm without
    bias) w, non-parametric 0."""
    return {"layernorm": 2, "rmsnorm": 1, "layernorm_nobias": 1, "nonparametric": 0}[spec.norm] * width


def mlp_params(spec: TransformerSpec, d_ff: int, bias: bool | None = None) -> int:
    """A (gated) MLP d_model -> d_ff -> d_model, with biases when `bias` (default spec.mlp_bias)."""
    m = 3 if spec.gated_mlp else 2
    bias = (m - 1) * d_ff + spec.d_model if (spec.mlp_bias if bias is None else bias) else 0
    return m * spec.d_model * d_ff + bias


def attention_params(spec: TransformerSpec) -> int:
    """One attention block: projections, their biases, QK-norm, sinks (and MLA's latent norms)."""
    d, h, kv, hd = spec.d_model, spec.n_heads, spec.n_kv_heads, spec.head_dim
    sinks = h if spec.attn_sinks else 0
    if spec.mla:
        qk, v = spec.qk_head_dim, spec.v_head_dim
        q = (d * spec.q_lora_rank + norm_params(spec, spec.q_lora_rank) + spec.q_lora_rank * h * qk
             if spec.q_lora_rank else d * h * qk)
        kv_a = d * (spec.kv_lora_rank + spec.qk_rope_head_dim) + norm_params(spec, spec.kv_lora_rank)
        kv_b = spec.kv_lora_rank * h * (spec.qk_nope_head_dim + v)
        bias = 0
        if spec.attn_bias != "none":  # q_a, kv_a and o carry it (a plain q_proj does not)
            bias = spec.q_lora_rank + spec.kv_lora_rank + spec.qk_rope_head_dim + d
        return q + kv_a + kv_b + h * v * d + bias + sinks
    weights = d * h * hd + 2 * d * kv * hd + h * hd * d
    bias = {"none": 0, "qkv": h * hd + 2 * kv * hd, "all": h * hd + 2 * kv * hd + d}[spec.attn_bias]
    qk_norm = {"none": 0, "head": 2 * norm_params(spec, hd),
               "full": norm_params(spec, h * hd) + norm_params(spec, kv * hd),
               "per_head": (h + kv) * hd}[spec.qk_norm]
    return weights + bias + qk_norm + sinks


def embedding_params(spec: TransformerSpec) -> int:
    """Token, position and token-type tables (and BERT's embedding LayerNorm)."""
    pos = spec.max_positions * spec.d_model if spec.positions == "learned" else 0
    return ((spec.vocab_size + spec.type_vocab_size) * spec.d_model + pos
            + (norm_params(spec, spec.d_model) if spec.embedding_norm else 0))


def count_params(spec: TransformerSpec) -> ParamCount:
    """Exact parameter count with a breakdown by part; active counts top_k of the routed experts."""
    d = spec.d_model
    n_moe = spec.n_moe_layers
    n_dense = spec.n_layers - n_moe
    expert = mlp_params(spec, spec.d_ff_expert, spec.expert_bias) if spec.is_moe else 0
    head = 0 if (spec.tied_embeddings or spec.encoder_only) else spec.vocab_size * d
    if spec.pooler:
        head += d * d + d
    if spec.lm_head_bias:
        head += spec.vocab_size
    b = {
        "embeddings": embedding_params(spec),
        "attention": spec.n_layers * attention_params(spec),
        "mlp": n_dense * mlp_params(spec, spec.d_ff),
        "experts": n_moe * spec.n_experts * expert,
        "shared_experts": n_moe * (spec.n_shared_experts * mlp_params(spec, spec.d_ff_shared)
                                   + (d if spec.shared_expert_gate else 0)),
        "router": n_moe * (d * spec.n_experts + (spec.n_experts if spec.router_bias else 0)),
        "norms": (spec.n_layers * spec.norms_per_layer + spec.final_norm) * norm_params(spec, d),
        "head": head,
    }
    active = {**b, "experts": n_moe * spec.top_k * expert}
    total = sum(b.values())
    vocab_tables = spec.vocab_size * d * (1 if (spec.tied_embeddings or spec.encoder_only) else 2)
    pos = spec.max_positions * d if spec.positions == "learned" else 0
    head_bias = spec.vocab_size if spec.lm_head_bias else 0
    non_embedding = total - vocab_tables - head_bias - pos - spec.type_vocab_size * d
    return ParamCount(spec.name, total, sum(active.values()), non_embedding, b, active)
