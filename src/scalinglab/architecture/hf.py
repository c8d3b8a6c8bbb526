"""Read a Hugging Face config.json (no weights, no network) into a TransformerSpec.

Fields are read the way transformers reads them: each model_type accepts the names of its
transformers config class, the aliases in the class's `attribute_map` (GPT-2's `hidden_size` for
`n_embd`, Qwen3-MoE's `num_local_experts` for `num_experts`), a multimodal wrapper's nested
`text_config`, and a field left out takes the class's default (data/hf_defaults.json, generated from
transformers by tools/hf_defaults.py; each entry names the configuration file it comes from). One
small reader per model_type mirrors how modeling_<type>.py builds its layers (which matrices exist,
which carry biases, which norms, tied or not). Anything that would change the count and is not
understood (a wrong type, a `layer_types` entry such as linear attention) is an error naming it.
"""

import json
from functools import cache
from pathlib import Path

from scalinglab.architecture.spec import TransformerSpec
from scalinglab.errors import InputError, unknown

DEFAULTS = Path(__file__).resolve().parents[1] / "data" / "hf_defaults.json"
# layer types that build the same weights as full attention (windows and chunks change FLOPs only)
ATTENTION_LAYERS = ("full_attention", "sliding_attention", "chunked_attention")
_REQUIRED = object()


@cache
def defaults_table() -> dict:
    """model_type -> {file, class, attribute_map, defaults[, text_config]} (data/hf_defaults.json)."""
    return json.loads(DEFAULTS.read_text())["types"]


class _Config:
    """One config.json read as its transformers class reads it: aliases, then class defaults."""

    def __init__(self, cfg: dict, where: str, model_type: str):
        self.where, self.model_type = where, model_type
        row = defaults_table()[model_type]
        self.defaults, self.file = row["defaults"], row["file"]
        self.cfg = dict(cfg)
        for alias, attr in row["attribute_map"].items():  # either spelling, one value
            if alias in self.cfg and attr in self.cfg and self.cfg[alias] != self.cfg[attr]:
                raise InputError(f"{where}: config fields {alias!r} and {attr!r} name the same "
                                 f"setting but differ ({self.cfg[alias]!r} vs {self.cfg[attr]!r})")
            for a, b in ((alias, attr), (attr, alias)):
                if a in self.cfg and b not in self.cfg:
                    self.cfg[b] = self.cfg[a]
            for a, b in ((alias, attr), (attr, alias)):
                if a in self.defaults and b not in self.defaults:
                    self.defaults = {**self.defaults, b: self.defaults[a]}

    def _value(self, key, fallback):
        v = self.cfg[key] if key in self.cfg else self.defaults.get(key)
        if v is None:  # absent, or null: transformers derives it (head_dim = d / h, kv heads = h)
            if fallback is _REQUIRED:
                raise InputError(f"{self.where}: config field {key!r} is missing (model_type "
                                 f"{self.model_type!r} needs it; {self.file} has no default)")
            return fallback
        return v

    def int(self, key, fallback=_REQUIRED, minimum: int = 0) -> int:
        v = self._value(key, fallback)
        if not isinstance(v, int) or isinstance(v, bool) or v < minimum:
            want = "a positive integer" if minimum > 0 else "a non-negative integer"
            raise InputError(f"{self.where}: config field {key!r} must be {want}, got {v!r}")
        return v

    def pos(self, key, fallback=_REQUIRED) -> int:
        return self.int(key, fallback, minimum=1)

    def bool(self, key, fallback=False) -> bool:
        v = self._value(key, fallback)
        if not isinstance(v, bool):
            raise InputError(f"{self.where}: config field {key!r} must be true or false, got {v!r}")
        return v

    def ints(self, key, fallback=()) -> tuple:
        v = self._value(key, fallback)
        if not isinstance(v, (list, tuple)) or not all(
                isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in v):
            raise InputError(f"{self.where}: config field {key!r} must be a list of layer "
                             f"indices, got {v!r}")
        return tuple(v)

    def layer_types(self, n_layers: int) -> None:
        """Only attention layer types build the weights counted here; anything else is an error."""
        v = self._value("layer_types", None)
        if v is None:
            return
        if not isinstance(v, list) or len(v) != n_layers:
            raise InputError(f"{self.where}: config field 'layer_types' must list one type per "
                             f"layer ({n_layers}), got {v!r}")
        bad = sorted({t for t in v if t not in ATTENTION_LAYERS}, key=str)
        if bad:
            raise InputError(f"{self.where}: layer_types {bad} are not supported (their weights differ "
                             f"from attention's); supported: {', '.join(ATTENTION_LAYERS)}")


def _bias(on: bool, kind: str = "all") -> str:
    return kind if on else "none"


def _head_dim(c: _Config, d: int, h: int, key: str = "hidden_size", head_key="head_dim") -> int:
    """head_dim as given, else d / h, which must then divide evenly."""
    if head_key and c._value(head_key, None) is not None:
        return c.pos(head_key)
    if d % h:
        raise InputError(f"{c.where}: {key} ({d}) must be a multiple of the number of attention "
                         f"heads ({h})" + (f", or give {head_key}" if head_key else ""))
    return d // h


def _decoder(c: _Config, tie: bool | None = None, **kw) -> dict:
    """The fields every decoder-only config shares (Llama naming)."""
    d, h, n = c.pos("hidden_size"), c.pos("num_attention_heads"), c.pos("num_hidden_layers")
    c.layer_types(n)
    out = dict(d_model=d, n_layers=n, n_heads=h, vocab_size=c.pos("vocab_size"),
               d_ff=c.int("intermediate_size"), n_kv_heads=c.pos("num_key_value_heads", h),
               head_dim=_head_dim(c, d, h),
               tied_embeddings=c.bool("tie_word_embeddings", False) if tie is None else tie)
    return {**out, **kw}


def _llama(c):
    return _decoder(c, attn_bias=_bias(c.bool("attention_bias")), mlp_bias=c.bool("mlp_bias"))


def _mistral(c):  # also phi3: no biases
    return _decoder(c)


def _ministral(c):  # modeling_ministral.py reads head_dim as given: it has no fallback
    c.pos("head_dim")
    return _decoder(c)


def _qwen2(c):
    return _decoder(c, attn_bias="qkv")


def _qwen3(c):
    return _decoder(c, attn_bias=_bias(c.bool("attention_bias")), qk_norm="head")


def _moe(c, experts: str, width: str, top_k: str = "num_experts_per_tok") -> dict:
    return dict(n_experts=c.pos(experts), top_k=c.pos(top_k), d_ff_expert=c.pos(width))


def _mixtral(c):
    return {**_decoder(c), **_moe(c, "num_local_experts", "intermediate_size")}


def _qwen_moe_layers(c) -> dict:
    return dict(moe_every=c.pos("decoder_sparse_step", 1), dense_layers=c.ints("mlp_only_layers"))


def _qwen2_moe(c):
    shared = c.int("shared_expert_intermediate_size")
    return {**_decoder(c, attn_bias=_bias(c.bool("qkv_bias"), "qkv")),
            **_moe(c, "num_experts", "moe_intermediate_size"), **_qwen_moe_layers(c),
            "n_shared_experts": 1 if shared else 0, "d_ff_shared": shared,
            "shared_expert_gate": True}  # Linear(d, 1) is built whatever the shared width


def _qwen3_moe(c):
    return {**_qwen3(c), **_moe(c, "num_experts", "moe_intermediate_size"), **_qwen_moe_layers(c)}


def _gemma(c):
    return _decoder(c, attn_bias=_bias(c.bool("attention_bias")))


def _gemma2(c):
    return {**_gemma(c), "norms_per_layer": 4}


def _gemma3_text(c):
    return {**_gemma2(c), "qk_norm": "head"}


def _olmo(c):
    return _decoder(c, norm="nonparametric", attn_bias=_bias(c.bool("attention_bias")))


def _olmo2(c):  # also olmo3 (sliding windows change no weight)
    return _decoder(c, qk_norm="full", attn_bias=_bias(c.bool("attention_bias")))


def _olmoe(c):
    return {**_olmo2(c), **_moe(c, "num_experts", "intermediate_size")}


def _gpt_oss(c):
    return {**_decoder(c, attn_bias=_bias(c.bool("attention_bias")), attn_sinks=True,
                       expert_bias=True, router_bias=True),
            **_moe(c, "num_local_experts", "intermediate_size")}


def _llama4_text(c):
    base = _decoder(c, attn_bias=_bias(c.bool("attention_bias")), d_ff=c.int("intermediate_size_mlp"))
    n = base["n_layers"]
    step = c.pos("interleave_moe_layer_step", 1)
    moe = set(c.ints("moe_layers", tuple(range(step - 1, n, step))))
    return {**base, **_moe(c, "num_local_experts", "intermediate_size"), "n_shared_experts": 1,
            "d_ff_shared": c.pos("intermediate_size"),
            "dense_layers": tuple(i for i in range(n) if i not in moe)}


def _granite(c):  # llama with multipliers (no weights)
    return _llama(c)


def _granitemoe(c):
    return {**_decoder(c, attn_bias=_bias(c.bool("attention_bias"))),
            **_moe(c, "num_local_experts", "intermediate_size")}


def _granitemoeshared(c):
    shared = c.int("shared_intermediate_size")
    return {**_granitemoe(c), "n_shared_experts": 1 if shared else 0, "d_ff_shared": shared}


def _cohere(c):
    return _decoder(c, tie=c.bool("tie_word_embeddings", True), norm="layernorm_nobias",
                    norms_per_layer=1, attn_bias=_bias(c.bool("attention_bias")),
                    qk_norm="full" if c.bool("use_qk_norm") else "none")


def _cohere2(c):  # Cohere2Config sets head_dim = hidden_size // heads, whatever the file says
    d, h = c.pos("hidden_size"), c.pos("num_attention_heads")
    return {**_cohere(c), "head_dim": _head_dim(c, d, h, head_key="")}


def _phimoe(c):
    return {**_decoder(c, attn_bias=_bias(c.bool("attention_bias")), norm="layernorm",
                       lm_head_bias=c.bool("lm_head_bias")),
            **_moe(c, "num_local_experts", "intermediate_size")}


def _phi(c):
    return _decoder(c, gated_mlp=False, attn_bias="all", mlp_bias=True, norm="layernorm",
                    norms_per_layer=1, lm_head_bias=True,
                    qk_norm="head" if c.bool("qk_layernorm") else "none")


def _starcoder2(c):
    b = c.bool("use_bias", True)
    return _decoder(c, gated_mlp=False, attn_bias=_bias(b), mlp_bias=b, norm="layernorm")


def _smollm3(c):
    return _llama(c)


def _glm(c):
    return _decoder(c, attn_bias=_bias(c.bool("attention_bias"), "qkv"))


def _glm4(c):
    return {**_glm(c), "norms_per_layer": 4}


def _exaone4(c):
    return _decoder(c, qk_norm="head")


def _stablelm(c):
    return _decoder(c, norm="layernorm", attn_bias=_bias(c.bool("use_qkv_bias"), "qkv"),
                    norms_per_layer=1 if c.bool("use_parallel_residual") else 2,
                    qk_norm="per_head" if c.bool("qk_layernorm") else "none")


def _falcon(c):
    d, h, n = c.pos("hidden_size"), c.pos("num_attention_heads"), c.pos("num_hidden_layers")
    _head_dim(c, d, h, head_key="")
    new, parallel, b = (c.bool("new_decoder_architecture"), c.bool("parallel_attn", True),
                        c.bool("bias"))
    kv = c.pos("num_kv_heads", h) if (new or not c.bool("multi_query", True)) else 1
    if new:
        norms = 2 if c.int("num_ln_in_parallel_attn", 2) == 2 else 1
    else:
        norms = 1 if parallel else 2
    return dict(d_model=d, n_layers=n, n_heads=h, n_kv_heads=kv, vocab_size=c.pos("vocab_size"),
                d_ff=c.pos("ffn_hidden_size", 4 * d), gated_mlp=False,
                tied_embeddings=c.bool("tie_word_embeddings", True), attn_bias=_bias(b),
                mlp_bias=b, norm="layernorm", norms_per_layer=norms,
                positions="none" if c.bool("alibi") else "rotary")


def _gpt2_like(c, kv_heads=None, **kw) -> dict:
    d = c.pos("n_embd")
    _head_dim(c, d, c.pos("n_head"), "n_embd", head_key="")
    return dict(d_model=d, n_layers=c.pos("n_layer"), n_heads=c.pos("n_head"),
                n_kv_heads=kv_heads or c.pos("n_head"), vocab_size=c.pos("vocab_size"),
                d_ff=c.pos("n_inner", 4 * d), gated_mlp=False, mlp_bias=True, norm="layernorm",
                tied_embeddings=c.bool("tie_word_embeddings", True), **kw)


def _gpt2(c):
    return _gpt2_like(c, positions="learned", max_positions=c.pos("n_positions"), attn_bias="all")


def _gpt_bigcode(c):
    return _gpt2_like(c, kv_heads=1 if c.bool("multi_query", True) else None, positions="learned",
                      max_positions=c.pos("n_positions"), attn_bias="all")


def _gptj(c):
    return _gpt2_like(c, norms_per_layer=1, lm_head_bias=True)


def _gpt_neox(c):
    _head_dim(c, c.pos("hidden_size"), c.pos("num_attention_heads"), head_key="")
    return dict(d_model=c.pos("hidden_size"), n_layers=c.pos("num_hidden_layers"),
                n_heads=c.pos("num_attention_heads"), vocab_size=c.pos("vocab_size"),
                d_ff=c.pos("intermediate_size"), gated_mlp=False,
                tied_embeddings=c.bool("tie_word_embeddings"),
                attn_bias=_bias(c.bool("attention_bias", True)), mlp_bias=True, norm="layernorm")


def _deepseek(c, v3: bool):
    h = c.pos("num_attention_heads")
    if c.int("moe_layer_freq", 1) != 1:
        raise InputError(f"{c.where}: moe_layer_freq != 1 is not supported")
    nope, rope = c.int("qk_nope_head_dim"), c.pos("qk_rope_head_dim", 64)
    n = c.pos("num_hidden_layers")
    shared = c.int("n_shared_experts", 0)
    return dict(d_model=c.pos("hidden_size"), n_layers=n, n_heads=h, n_kv_heads=h,
                vocab_size=c.pos("vocab_size"), d_ff=c.int("intermediate_size"),
                tied_embeddings=c.bool("tie_word_embeddings"),
                attn_bias=_bias(c.bool("attention_bias")),
                mlp_bias=False if v3 else c.bool("mlp_bias"),  # V3's MLP has no bias switch
                **_moe(c, "n_routed_experts", "moe_intermediate_size"),
                n_shared_experts=shared, first_dense_layers=min(c.int("first_k_dense_replace", 0), n),
                router_bias=v3, q_lora_rank=c.int("q_lora_rank", 0),
                kv_lora_rank=c.pos("kv_lora_rank"), qk_nope_head_dim=nope, qk_rope_head_dim=rope,
                v_head_dim=c.pos("v_head_dim"), head_dim=nope + rope)


def _bert(c):
    _head_dim(c, c.pos("hidden_size"), c.pos("num_attention_heads"), head_key="")
    return dict(d_model=c.pos("hidden_size"), n_layers=c.pos("num_hidden_layers"),
                n_heads=c.pos("num_attention_heads"), vocab_size=c.pos("vocab_size"),
                d_ff=c.pos("intermediate_size"), gated_mlp=False, positions="learned",
                max_positions=c.pos("max_position_embeddings"), type_vocab_size=c.int("type_vocab_size"),
                attn_bias="all", mlp_bias=True, norm="layernorm", final_norm=False,
                embedding_norm=True, encoder_only=True, pooler=True)


# What memory needs beyond the shape (issue 12): the activation function, dropout and sliding-window
# layers, with the defaults of each transformers config class (configuration_<type>.py, v5).
_ACTIVATION = {"gpt2": "gelu_new", "gpt_neox": "gelu", "bert": "gelu", "gemma": "gelu_pytorch_tanh",
               "gemma2": "gelu_pytorch_tanh", "gemma3": "gelu_pytorch_tanh",
               "gemma3_text": "gelu_pytorch_tanh"}
_DROPOUT = {  # model_type -> (hidden, attention, embedding) config fields and their defaults
    "gpt2": (("resid_pdrop", 0.1), ("attn_pdrop", 0.1), ("embd_pdrop", 0.1)),
    "gpt_neox": (("hidden_dropout", 0.0), ("attention_dropout", 0.0), ("hidden_dropout", 0.0)),
    "bert": (("hidden_dropout_prob", 0.1), ("attention_probs_dropout_prob", 0.1),
             ("hidden_dropout_prob", 0.1)),
}
_WINDOW_DEFAULT = {"mistral": 4096, "gemma2": 4096, "gemma3": 4096, "gemma3_text": 4096}


def _sliding_layers(model_type: str, cfg: dict, n: int) -> int:
    """How many of the n layers use the sliding window, as each config class lays them out."""
    if isinstance(cfg.get("layer_types"), list):
        return sum(t == "sliding_attention" for t in cfg["layer_types"])
    if model_type in ("qwen2", "qwen3", "qwen2_moe", "qwen3_moe"):
        if not cfg.get("use_sliding_window", False):
            return 0
        first = cfg.get("max_window_layers", 28)
        if model_type == "qwen2_moe":
            return sum(1 for i in range(n) if (i + 1) % 2 and i < first)
        return sum(1 for i in range(n) if i >= first)
    if model_type == "gemma2":
        return sum(1 for i in range(n) if (i + 1) % 2)
    if model_type in ("gemma3", "gemma3_text"):
        every = cfg.get("sliding_window_pattern", 6)
        return sum(1 for i in range(n) if (i + 1) % every)
    return n


def _training_fields(model_type: str, cfg: dict, n_layers: int) -> dict:
    act = cfg.get("hidden_act") or cfg.get("hidden_activation") or cfg.get("activation_function")
    act = act or _ACTIVATION.get(model_type, "silu")
    if model_type == "gemma" and act == "gelu":  # transformers reads Gemma's legacy 'gelu' as tanh
        act = "gelu_pytorch_tanh"
    hidden, attn, emb = _DROPOUT.get(model_type, (("", 0.0), ("attention_dropout", 0.0), ("", 0.0)))
    drop = [float(cfg.get(k) if cfg.get(k) is not None else d) if k else d
            for k, d in (hidden, attn, emb)]
    window = cfg.get("sliding_window", _WINDOW_DEFAULT.get(model_type)) or 0
    if model_type in ("qwen2", "qwen3", "qwen2_moe", "qwen3_moe") and not cfg.get("use_sliding_window"):
        window = 0
    return dict(model_type=model_type, activation=str(act), dropout=drop[0],
                attention_dropout=drop[1], embedding_dropout=drop[2], sliding_window=int(window),
                sliding_layers=_sliding_layers(model_type, cfg, n_layers) if window else 0)


READERS = {
    "llama": _llama, "mistral": _mistral, "ministral": _ministral, "mixtral": _mixtral,
    "qwen2": _qwen2, "qwen2_moe": _qwen2_moe, "qwen3": _qwen3, "qwen3_moe": _qwen3_moe,
    "gemma": _gemma, "gemma2": _gemma2, "gemma3_text": _gemma3_text, "phi3": _mistral,
    "gpt2": _gpt2, "gpt_neox": _gpt_neox, "olmo": _olmo, "olmo2": _olmo2, "olmo3": _olmo2,
    "olmoe": _olmoe, "deepseek_v2": lambda c: _deepseek(c, False),
    "deepseek_v3": lambda c: _deepseek(c, True), "bert": _bert, "gpt_oss": _gpt_oss,
    "llama4_text": _llama4_text, "granite": _granite, "granitemoe": _granitemoe,
    "granitemoeshared": _granitemoeshared, "cohere": _cohere, "cohere2": _cohere2,
    "falcon": _falcon, "starcoder2": _starcoder2, "phi": _phi, "phimoe": _phimoe,
    "smollm3": _smollm3, "glm": _glm, "glm4": _glm4, "gpt_bigcode": _gpt_bigcode, "gptj": _gptj,
    "exaone4": _exaone4, "stablelm": _stablelm,
}
# multimodal wrappers: only the language model in text_config is counted
WRAPPERS = ("gemma3", "llama4", "mistral3")
MODEL_TYPES = tuple(sorted((*READERS, *WRAPPERS)))
HF_TYPES = MODEL_TYPES  # every type whose transformers defaults data/hf_defaults.json holds


def _unwrap(cfg: dict, where: str) -> tuple[str, dict, list]:
    """(model_type, config) of the language model; a wrapper's text_config as transformers builds it."""
    model_type = cfg["model_type"]
    if model_type not in WRAPPERS:
        return model_type, cfg, []
    sub = defaults_table()[model_type]["text_config"]
    text = cfg.get("text_config")
    if text is None:
        text = dict(sub["init_kwargs"])
    if not isinstance(text, dict):
        raise InputError(f"{where}: config field 'text_config' must be a JSON object")
    inner = text.get("model_type") or sub["model_type"]
    if inner not in READERS:
        raise unknown(f"text_config model_type of {model_type}", inner, READERS)
    note = f"{model_type}: language model ({inner}) only; vision tower and projector not counted"
    return inner, {**text, "model_type": inner}, [note]


def spec_from_config(cfg: dict, name: str = "", source: str = "", where: str = "config") -> TransformerSpec:
    """A TransformerSpec from a config.json dict (Hugging Face naming, transformers defaults)."""
    if not isinstance(cfg, dict):
        raise InputError(f"{where}: expected a JSON object")
    model_type = cfg.get("model_type")
    if model_type is None:
        raise InputError(f"{where}: config field 'model_type' is missing")
    if not isinstance(model_type, str) or model_type not in MODEL_TYPES:
        raise unsupported(model_type)
    model_type, text, notes = _unwrap(cfg, where)
    inner = where if text is cfg else f"{where} text_config"
    fields = READERS[model_type](_Config(text, inner, model_type))
    fields.update(_training_fields(model_type, text, fields["n_layers"]))
    return TransformerSpec(**fields, name=name or cfg.get("_name_or_path", "") or model_type,
                           source=source or where, notes=tuple(notes))


def unsupported(model_type) -> InputError:
    """The error for a model_type with no closed form: the supported ones, and the hf extra."""
    e = unknown("model_type", model_type, MODEL_TYPES)
    return InputError(f"{e} (no closed form for it; supported: {', '.join(MODEL_TYPES)}; with the "
                      "hf extra installed, pip install 'scalinglab[hf]', params counts any "
                      "transformers model_type on the meta device)")


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
    return parse_config(text, p)


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
