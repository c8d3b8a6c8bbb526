"""LoRA targets: the linear maps of a transformers model by their module names, and PEFT's count.

PEFT adds r (d_in + d_out) trainable parameters to every targeted linear (Hu et al. 2021; PEFT
lora.Linear: A is r x d_in, B is d_out x r). A fused matrix (GPT-2 c_attn, NeoX
query_key_value, Phi-3 qkv_proj / gate_up_proj) is one linear and gets one adapter. Mixture of
experts: every routed expert's gate, up and down get adapters (`experts=False` leaves them out),
shared experts too; the router is left frozen unless targeted ("router"). Targets are
scalinglab's roles (q k v o gate up down), transformers' module names of the model's family
(q_proj, gate_proj, c_attn, query_key_value, w1, ...), or "all" (every linear but the router and
the LM head, as PEFT's all-linear on per-expert linears).
"""

from dataclasses import dataclass

from scalinglab.errors import InputError

ROLES = ("q", "k", "v", "o", "gate", "up", "down")

# role -> transformers module names, per family (modeling_<type>.py). Llama-style names otherwise.
_LLAMA = {"q": "q_proj", "k": "k_proj", "v": "v_proj", "o": "o_proj", "gate": "gate_proj",
          "up": "up_proj", "down": "down_proj"}
_NAMES = {
    "gpt2": {"qkv": "c_attn", "o": "c_proj", "up": "c_fc", "down": "c_proj"},
    "gpt_neox": {"qkv": "query_key_value", "o": "dense", "up": "dense_h_to_4h",
                 "down": "dense_4h_to_h"},
    "phi3": {"qkv": "qkv_proj", "o": "o_proj", "gate_up": "gate_up_proj", "down": "down_proj"},
    "mixtral": {**_LLAMA, "expert_gate": "w1", "expert_up": "w3", "expert_down": "w2"},
}
FUSED_QKV = ("gpt2", "gpt_neox", "phi3")


@dataclass(frozen=True)
class Linear:
    """One linear map of a layer: its role, transformers name, sizes and how many per layer."""

    role: str        # q k v o gate up down qkv gate_up q_a q_b kv_a kv_b router shared_gate
    name: str        # the transformers module name
    d_in: int
    d_out: int
    where: str       # attention | mlp | experts | shared | router
    count: int = 1   # per layer (experts: n_experts)


def linears(shape, moe: bool) -> list[Linear]:
    """The linear maps of one dense (moe=False) or MoE layer of the model."""
    names = {**_LLAMA, **_NAMES.get(shape.model_type, {})}
    h, a, hd = shape.d_model, shape.n_heads, shape.head_dim
    q, kv = a * hd, shape.n_kv_heads * hd
    out = []
    if shape.kv_lora_rank:  # MLA (DeepSeek-V2/V3)
        qk = shape.qk_nope_dim + shape.rope_dim
        if shape.q_lora_rank:
            out += [Linear("q", "q_a_proj", h, shape.q_lora_rank, "attention"),
                    Linear("q", "q_b_proj", shape.q_lora_rank, a * qk, "attention")]
        else:
            out.append(Linear("q", "q_proj", h, a * qk, "attention"))
        out += [Linear("kv", "kv_a_proj_with_mqa", h, shape.kv_lora_rank + shape.rope_dim,
                       "attention"),
                Linear("kv", "kv_b_proj", shape.kv_lora_rank,
                       a * (shape.qk_nope_dim + shape.v_head_dim), "attention"),
                Linear("o", "o_proj", a * shape.v_head_dim, h, "attention")]
    elif "qkv" in names:
        out += [Linear("qkv", names["qkv"], h, q + 2 * kv, "attention"),
                Linear("o", names["o"], q, h, "attention")]
    else:
        out += [Linear(r, names[r], h, w, "attention") for r, w in (("q", q), ("k", kv), ("v", kv))]
        out.append(Linear("o", names["o"], q, h, "attention"))

    def mlp(f, where, count=1, prefix=""):
        if "gate_up" in names and where == "mlp":
            return [Linear("gate_up", names["gate_up"], h, 2 * f, where, count),
                    Linear("down", names["down"], f, h, where, count)]
        roles = ("gate", "up", "down") if shape.gated_mlp else ("up", "down")
        return [Linear(r, names.get(prefix + r, names[r]), f if r == "down" else h,
                       h if r == "down" else f, where, count) for r in roles]

    if not moe:
        return out + mlp(shape.d_ff, "mlp")
    out.append(Linear("router", "gate", h, shape.n_experts, "router"))
    out += mlp(shape.d_ff_expert, "experts", shape.n_experts, "expert_")
    if shape.n_shared_experts:
        out += mlp(shape.d_ff_shared or shape.d_ff_expert, "shared", shape.n_shared_experts)
        if shape.shared_expert_gate:
            out.append(Linear("shared_gate", "shared_expert_gate", h, 1, "router"))
    return out


def _matches(lin: Linear, target: str) -> bool:
    if lin.where == "router":  # frozen unless asked for (Mixtral's router is also named 'gate')
        return target == "router" or (target == lin.name and lin.role == "shared_gate")
    if target == "all":
        return True
    if target in ("q", "k", "v") and lin.role in ("qkv", "kv"):
        return target != "q" or lin.role == "qkv"
    if target in ("gate", "up") and lin.role == "gate_up":
        return True
    return target in (lin.role, lin.name)


def select(shape, targets=None, experts: bool = True, moe: bool = False) -> list[Linear]:
    """The targeted linears of one layer (default: all). Unknown targets are errors that name
    what this model has."""
    targets = tuple(t.strip() for t in (targets or ("all",)) if t.strip()) or ("all",)
    layer_kinds = [False] + ([True] if shape.n_moe_layers else [])
    if shape.n_moe_layers == shape.n_layers:
        layer_kinds = [True]
    every = [lin for kind in layer_kinds for lin in linears(shape, kind)]
    valid = sorted({"all", "router", *(r for r in ROLES if any(_matches(x, r) for x in every)),
                    *(x.name for x in every)})
    for t in targets:
        if not any(_matches(x, t) for x in every) and t not in ("all",):
            raise InputError(f"{shape.name} has no LoRA target {t!r}; it has: {', '.join(valid)}")
    chosen = [lin for lin in linears(shape, moe) if any(_matches(lin, t) for t in targets)]
    return [lin for lin in chosen if experts or lin.where != "experts"]


def lora_params(shape, rank: int = 16, targets=None, experts: bool = True) -> float:
    """Trainable LoRA parameters: r (d_in + d_out) per targeted linear (PEFT's rule), summed
    over dense and MoE layers."""
    if not isinstance(rank, int) or isinstance(rank, bool) or rank < 1:
        raise InputError(f"LoRA rank {rank!r} must be a positive integer")
    n_moe = shape.n_moe_layers
    total = 0
    for moe, layers in ((False, shape.n_layers - n_moe), (True, n_moe)):
        if layers:
            total += layers * sum(lin.count * (lin.d_in + lin.d_out)
                                  for lin in select(shape, targets, experts, moe))
    return float(rank * total)
