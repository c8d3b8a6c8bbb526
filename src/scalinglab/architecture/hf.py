"""Read a Hugging Face config.json (no weights, no network) into a TransformerSpec.

One small reader per `model_type`, each mirroring how transformers' modeling_<type>.py builds its
layers (which matrices exist, which carry biases, which norms, tied or not). A field the model type
needs and the file lacks is an error naming it; so is an unsupported model_type.
"""

import json
from pathlib import Path

from scalinglab.architecture.spec import TransformerSpec
from scalinglab.errors import InputError, unknown

_REQUIRED = object()


class _Config:
    """config.json fields with per-model-type defaults (transformers' *Config class defaults)."""

    def __init__(self, cfg: dict, where: str, defaults: dict | None = None):
        self.cfg, self.where, self.defaults = cfg, where, defaults or {}

    def __call__(self, key: str, default=_REQUIRED):
        v = self.cfg.get(key)
        if v is None:
            v = self.defaults.get(key, default)
        if v is _REQUIRED:
            raise InputError(f"{self.where}: config field {key!r} is missing "
                             f"(needed for model_type {self.cfg.get('model_type')!r})")
        return v


def _decoder(c: _Config, tie_default: bool = False, **kw) -> dict:
    """The fields every decoder-only config shares (Llama naming)."""
    d = c("hidden_size")
    h = c("num_attention_heads")
    return dict(d_model=d, n_layers=c("num_hidden_layers"), n_heads=h, vocab_size=c("vocab_size"),
                d_ff=c("intermediate_size"), n_kv_heads=c("num_key_value_heads", h),
                head_dim=c("head_dim", d // h), tied_embeddings=bool(c("tie_word_embeddings", tie_default)),
                **kw)


def _llama(c):
    return _decoder(c, attn_bias="all" if c("attention_bias", False) else "none",
                    mlp_bias=bool(c("mlp_bias", False)))


def _qwen2(c):
    return _decoder(c, attn_bias="qkv")


def _qwen3(c):
    return _decoder(c, attn_bias="all" if c("attention_bias", False) else "none", qk_norm="head")


def _moe(c, experts: str, top_k: str, width: str) -> dict:
    return dict(n_experts=c(experts), top_k=c(top_k), d_ff_expert=c(width))


def _mixtral(c):
    return {**_decoder(c), **_moe(c, "num_local_experts", "num_experts_per_tok", "intermediate_size")}


def _qwen_moe_layers(c) -> dict:
    return dict(moe_every=c("decoder_sparse_step", 1), dense_layers=tuple(c("mlp_only_layers", [])))


def _qwen2_moe(c):
    shared = c("shared_expert_intermediate_size", 0)
    return {**_decoder(c, attn_bias="qkv"), **_moe(c, "num_experts", "num_experts_per_tok",
                                                   "moe_intermediate_size"),
            **_qwen_moe_layers(c), "n_shared_experts": 1 if shared else 0, "d_ff_shared": shared,
            "shared_expert_gate": bool(shared)}


def _qwen3_moe(c):
    return {**_qwen3(c), **_moe(c, "num_experts", "num_experts_per_tok", "moe_intermediate_size"),
            **_qwen_moe_layers(c)}


def _gemma(c):
    return _decoder(c, tie_default=True,
                    attn_bias="all" if c("attention_bias", False) else "none")


def _gemma2(c):
    return {**_gemma(c), "norms_per_layer": 4}


def _gemma3_text(c):
    return {**_gemma2(c), "qk_norm": "head"}


def _phi3(c):
    return _decoder(c)


def _olmo(c):
    return _decoder(c, norm="nonparametric",
                    attn_bias="all" if c("attention_bias", False) else "none")


def _olmo2(c):
    return _decoder(c, qk_norm="full", attn_bias="all" if c("attention_bias", False) else "none")


def _gpt2(c):
    d = c("n_embd")
    return dict(d_model=d, n_layers=c("n_layer"), n_heads=c("n_head"), vocab_size=c("vocab_size"),
                d_ff=c("n_inner", 4 * d), gated_mlp=False, tied_embeddings=bool(c("tie_word_embeddings", True)),
                positions="learned", max_positions=c("n_positions"), attn_bias="all", mlp_bias=True,
                norm="layernorm")


def _gpt_neox(c):
    return dict(d_model=c("hidden_size"), n_layers=c("num_hidden_layers"),
                n_heads=c("num_attention_heads"), vocab_size=c("vocab_size"),
                d_ff=c("intermediate_size"), gated_mlp=False,
                tied_embeddings=bool(c("tie_word_embeddings", False)),
                attn_bias="all" if c("attention_bias", True) else "none", mlp_bias=True,
                norm="layernorm")


def _deepseek(c, router_bias: bool):
    h = c("num_attention_heads")
    if c("moe_layer_freq", 1) != 1:
        raise InputError(f"{c.where}: moe_layer_freq != 1 is not supported")
    return dict(d_model=c("hidden_size"), n_layers=c("num_hidden_layers"), n_heads=h,
                n_kv_heads=h, vocab_size=c("vocab_size"), d_ff=c("intermediate_size"),
                tied_embeddings=bool(c("tie_word_embeddings", False)),
                attn_bias="all" if c("attention_bias", False) else "none",
                **_moe(c, "n_routed_experts", "num_experts_per_tok", "moe_intermediate_size"),
                n_shared_experts=c("n_shared_experts", 0), first_dense_layers=c("first_k_dense_replace", 0),
                router_bias=router_bias, q_lora_rank=c("q_lora_rank", 0) or 0,
                kv_lora_rank=c("kv_lora_rank"), qk_nope_head_dim=c("qk_nope_head_dim"),
                qk_rope_head_dim=c("qk_rope_head_dim"), v_head_dim=c("v_head_dim"),
                head_dim=c("qk_nope_head_dim") + c("qk_rope_head_dim"))


def _bert(c):
    return dict(d_model=c("hidden_size"), n_layers=c("num_hidden_layers"),
                n_heads=c("num_attention_heads"), vocab_size=c("vocab_size"),
                d_ff=c("intermediate_size"), gated_mlp=False, positions="learned",
                max_positions=c("max_position_embeddings"), type_vocab_size=c("type_vocab_size", 2),
                attn_bias="all", mlp_bias=True, norm="layernorm", final_norm=False,
                embedding_norm=True, encoder_only=True, pooler=True)


# model_type -> (reader, defaults for fields transformers' config class fills in, notes)
_GEMMA3_TEXT = {"vocab_size": 262_208, "hidden_size": 2304, "intermediate_size": 9216,
                "num_hidden_layers": 26, "num_attention_heads": 8, "num_key_value_heads": 4,
                "head_dim": 256}
READERS = {
    "llama": (_llama, {}), "mistral": (_llama, {}), "mixtral": (_mixtral, {}),
    "qwen2": (_qwen2, {}), "qwen2_moe": (_qwen2_moe, {}), "qwen3": (_qwen3, {}),
    "qwen3_moe": (_qwen3_moe, {}), "gemma": (_gemma, {}), "gemma2": (_gemma2, {}),
    "gemma3_text": (_gemma3_text, _GEMMA3_TEXT), "gemma3": (_gemma3_text, _GEMMA3_TEXT),
    "phi3": (_phi3, {}), "gpt2": (_gpt2, {}), "gpt_neox": (_gpt_neox, {}), "olmo": (_olmo, {}),
    "olmo2": (_olmo2, {}), "deepseek_v2": (lambda c: _deepseek(c, False), {}),
    "deepseek_v3": (lambda c: _deepseek(c, True), {}), "bert": (_bert, {}),
}
MODEL_TYPES = tuple(sorted(READERS))


def spec_from_config(cfg: dict, name: str = "", source: str = "", where: str = "config") -> TransformerSpec:
    """A TransformerSpec from a config.json dict (Hugging Face naming)."""
    if not isinstance(cfg, dict):
        raise InputError(f"{where}: expected a JSON object")
    model_type = cfg.get("model_type")
    if model_type is None:
        raise InputError(f"{where}: config field 'model_type' is missing")
    if not isinstance(model_type, str) or model_type not in READERS:
        raise unknown("model_type", model_type, READERS)
    notes = []
    reader, defaults = READERS[model_type]
    try:
        if model_type == "gemma3":  # multimodal wrapper: count the language model only
            cfg = {"model_type": "gemma3", **cfg.get("text_config", {})}
            notes.append("gemma3: text model only (vision tower and projector not counted)")
        fields = reader(_Config(cfg, where, defaults))
    except (TypeError, ValueError, ZeroDivisionError, AttributeError) as e:  # "abc" or 0 where a number goes
        raise InputError(f"{where}: a config field has a wrong value or type ({e})") from None
    return TransformerSpec(**fields, name=name or cfg.get("_name_or_path", "") or model_type,
                           source=source or where, notes=tuple(notes))


def load_config(path) -> TransformerSpec:
    """Read a local config.json (or a directory holding one)."""
    p = Path(path)
    if p.is_dir():
        p = p / "config.json"
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read as JSON ({' '.join(str(e).split())})") from None
    return parse_config(text, p, where=str(path))


def parse_config(text: str, path, where: str | None = None) -> TransformerSpec:
    """A spec from the text of a config.json at `path` (a file read, or an upload's name), named
    after its folder (…/llama-3-8b/config.json) or its file (mymodel.json)."""
    p = Path(path)
    where = str(path) if where is None else where
    try:
        cfg = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise InputError(f"{where}: cannot read as JSON ({' '.join(str(e).split())})") from None
    return spec_from_config(cfg, name=p.parent.name if p.name == "config.json" and p.parent.name else p.stem,
                            source=str(p), where=where)
