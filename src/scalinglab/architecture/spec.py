"""TransformerSpec: the shape of a transformer, enough to count its parameters and FLOPs exactly.

One frozen dataclass covers decoder-only LMs (GPT-2 to DeepSeek-V3, gpt-oss, Llama 4) and BERT:
GQA/MQA via n_kv_heads, head_dim independent of d_model, gated (SwiGLU/GeGLU) or plain MLPs,
tied embeddings, learned or rotary positions, biases, LayerNorm or RMSNorm, QK-norm, MoE
(routed + shared experts, dense-first layers) and multi-head latent attention (MLA).
"""

from dataclasses import dataclass, field, replace

from scalinglab.errors import InputError
from scalinglab.results import Result

NORMS = ("layernorm", "rmsnorm", "layernorm_nobias", "nonparametric")
POSITIONS = ("rotary", "learned", "relative", "none")
ATTN_BIAS = ("none", "qkv", "all")
QK_NORM = ("none", "head", "full", "per_head")


@dataclass(frozen=True)
class TransformerSpec(Result):
    """A transformer's shape. Zero/None in the optional fields means 'absent' or 'the default'."""

    d_model: int
    n_layers: int
    n_heads: int
    vocab_size: int
    d_ff: int                       # dense MLP width (dense layers; BERT/GPT intermediate size)
    n_kv_heads: int = 0             # 0 -> n_heads (MHA); 1 -> MQA; in between -> GQA
    head_dim: int = 0               # 0 -> d_model // n_heads
    gated_mlp: bool = True          # 3 matrices (gate, up, down: SwiGLU/GeGLU) vs 2 (up, down)
    tied_embeddings: bool = False   # output head shares the input embedding matrix
    positions: str = "rotary"       # rotary | learned (a table of max_positions) | relative | none
    max_positions: int = 0          # rows of the learned position table
    type_vocab_size: int = 0        # BERT token-type embeddings
    attn_bias: str = "none"         # none | qkv (Qwen2) | all (GPT-2, BERT)
    mlp_bias: bool = False
    norm: str = "rmsnorm"           # layernorm (weight + bias) | rmsnorm, layernorm_nobias (weight) | nonparametric
    norms_per_layer: int = 2        # Gemma 2/3 and OLMo 2 place extra norms; PaLM's parallel block: 1
    final_norm: bool = True
    embedding_norm: bool = False    # BERT's LayerNorm after the embeddings
    qk_norm: str = "none"           # none | head (one norm over head_dim: Qwen3, Gemma 3) | full (over all
    #                                 heads: OLMo 2, Cohere) | per_head (a weight-only norm per head: StableLM)
    attn_sinks: bool = False        # gpt-oss: one learned sink logit per query head and layer
    lm_head_bias: bool = False      # a bias on the output head (Phi-2, GPT-J, PhiMoE)
    # Mixture of experts
    n_experts: int = 0              # routed experts per MoE layer (0: dense model)
    top_k: int = 0                  # routed experts active per token
    d_ff_expert: int = 0            # routed expert width
    expert_bias: bool = False       # biases in the routed experts (gpt-oss); mlp_bias is the dense MLP's
    n_shared_experts: int = 0       # always-active experts (DeepSeek, Qwen2-MoE)
    d_ff_shared: int = 0            # width of each shared expert (0 -> d_ff_expert)
    shared_expert_gate: bool = False  # Qwen2-MoE: sigmoid gate Linear(d_model, 1) on the shared expert
    #                                   (built even when the shared expert has width 0)
    first_dense_layers: int = 0     # DeepSeek's first_k_dense_replace
    moe_every: int = 1              # an MoE layer every k layers (Qwen2-MoE decoder_sparse_step)
    dense_layers: tuple = ()        # explicit dense layer indices (Qwen mlp_only_layers; Llama 4: not moe_layers)
    router_bias: bool = False       # a per-expert bias parameter in the router (DeepSeek-V3 style)
    # Multi-head latent attention (DeepSeek-V2/V3); kv_lora_rank > 0 switches it on
    q_lora_rank: int = 0            # 0: plain q_proj
    kv_lora_rank: int = 0
    qk_nope_head_dim: int = 0
    qk_rope_head_dim: int = 0
    v_head_dim: int = 0
    # Encoder-only
    encoder_only: bool = False      # BERT: no LM head; a pooler (d_model x d_model + bias) instead
    pooler: bool = False
    # Training-time and attention details memory needs (issue 12); read from config.json
    model_type: str = ""            # the transformers implementation (config model_type); "" = unknown
    activation: str = ""            # hidden_act as transformers names it (silu, gelu_new, ...); "" = unknown
    dropout: float = 0.0            # residual/hidden dropout probability (GPT-2 resid_pdrop)
    attention_dropout: float = 0.0  # dropout on the attention probabilities
    embedding_dropout: float = 0.0  # dropout after the embeddings (GPT-2 embd_pdrop)
    sliding_window: int = 0         # tokens a sliding-window layer attends to (0: none)
    sliding_layers: int = 0         # how many layers use the sliding window (Gemma 2/3: the local ones)
    name: str = ""
    source: str = ""
    notes: tuple = field(default=())

    def __post_init__(self):
        for f in ("d_model", "n_layers", "n_heads", "vocab_size"):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise InputError(f"architecture {self.name or '?'}: {f} must be a positive integer, got {v!r}")
        for f in ("d_ff", "n_kv_heads", "head_dim", "max_positions", "type_vocab_size", "n_experts",
                  "top_k", "d_ff_expert", "n_shared_experts", "d_ff_shared", "first_dense_layers",
                  "q_lora_rank", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim",
                  "norms_per_layer"):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise InputError(f"architecture {self.name or '?'}: {f} must be a non-negative integer, got {v!r}")
        for f in ("dropout", "attention_dropout", "embedding_dropout"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1:
                raise InputError(f"architecture {self.name or '?'}: {f} must be a probability in [0, 1), got {v!r}")
        if not isinstance(self.sliding_window, int) or self.sliding_window < 0 or not (
                isinstance(self.sliding_layers, int) and 0 <= self.sliding_layers <= self.n_layers):
            raise InputError(f"architecture {self.name or '?'}: sliding_window must be >= 0 and "
                             f"sliding_layers in 0..n_layers")
        for f, allowed in (("norm", NORMS), ("positions", POSITIONS), ("attn_bias", ATTN_BIAS),
                           ("qk_norm", QK_NORM)):
            if getattr(self, f) not in allowed:
                raise InputError(f"architecture {self.name or '?'}: {f} must be one of "
                                 f"{', '.join(allowed)}, got {getattr(self, f)!r}")
        if not self.n_kv_heads:
            object.__setattr__(self, "n_kv_heads", self.n_heads)
        if not self.head_dim:
            if self.d_model % self.n_heads:  # configs name their head_dim (hf.py passes it)
                raise InputError(f"architecture {self.name or '?'}: d_model {self.d_model} is not a "
                                 f"multiple of n_heads {self.n_heads}; give head_dim")
            object.__setattr__(self, "head_dim", self.d_model // self.n_heads)
        if self.n_heads % self.n_kv_heads:
            raise InputError(f"architecture {self.name or '?'}: n_heads ({self.n_heads}) must be a "
                             f"multiple of n_kv_heads ({self.n_kv_heads})")
        if self.n_experts:
            if not (0 < self.top_k <= self.n_experts) or not self.d_ff_expert:
                raise InputError(f"architecture {self.name or '?'}: an MoE needs 0 < top_k <= "
                                 f"n_experts and d_ff_expert > 0")
            if self.n_shared_experts and not self.d_ff_shared:
                object.__setattr__(self, "d_ff_shared", self.d_ff_expert)
        if self.mla and not (self.qk_rope_head_dim and self.v_head_dim):
            raise InputError(f"architecture {self.name or '?'}: MLA needs qk_rope_head_dim and v_head_dim")
        if self.positions == "learned" and not self.max_positions:
            raise InputError(f"architecture {self.name or '?'}: learned positions need max_positions")
        object.__setattr__(self, "dense_layers", tuple(sorted(set(self.dense_layers))))
        object.__setattr__(self, "notes", tuple(self.notes))

    # --- derived shape ------------------------------------------------------------------------
    @property
    def mla(self) -> bool:
        return self.kv_lora_rank > 0

    @property
    def is_moe(self) -> bool:
        return self.n_experts > 0

    @property
    def qk_head_dim(self) -> int:
        """Width of one query/key head (MLA: nope + rope parts)."""
        return self.qk_nope_head_dim + self.qk_rope_head_dim if self.mla else self.head_dim

    @property
    def v_dim(self) -> int:
        return self.v_head_dim if self.mla else self.head_dim

    def is_moe_layer(self, i: int) -> bool:
        """Whether layer i (0-based) has routed experts instead of a dense MLP."""
        return (self.is_moe and i >= self.first_dense_layers and i not in self.dense_layers
                and (i + 1) % self.moe_every == 0)

    @property
    def n_moe_layers(self) -> int:
        return sum(self.is_moe_layer(i) for i in range(self.n_layers))

    def with_(self, **changes) -> "TransformerSpec":
        return replace(self, **changes)
