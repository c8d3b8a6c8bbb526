"""Config reading the way transformers reads it, measured against transformers itself.

For every supported model_type: a tiny config with the hub's field names, the same config saved by
transformers (`save_pretrained`), every `attribute_map` alias, and the config with each field
removed (transformers' class default then applies): the closed-form count must equal numel of the
model transformers builds on the meta device. Needs torch and transformers (CI installs them).
"""

import json

import pytest

pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from scalinglab.architecture import MODEL_TYPES, count_params, load_config, spec_from_config  # noqa: E402
from scalinglab.architecture.exact import build_model, numel  # noqa: E402
from scalinglab.architecture.hf import DEFAULTS, HF_TYPES, defaults_table  # noqa: E402
from scalinglab.errors import InputError  # noqa: E402

_D = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=8, num_key_value_heads=4,
          intermediate_size=96, vocab_size=256, max_position_embeddings=512)
_MOE = dict(num_experts_per_tok=2, moe_intermediate_size=32)
_MLA = dict(q_lora_rank=24, kv_lora_rank=16, qk_nope_head_dim=16, qk_rope_head_dim=8, v_head_dim=16,
            n_group=1, topk_group=1, first_k_dense_replace=1, n_shared_experts=1, n_routed_experts=6,
            num_experts_per_tok=2, moe_intermediate_size=32)
_GPT2 = dict(n_embd=64, n_layer=2, n_head=8, n_positions=512, vocab_size=256)
# Tiny configs spelled as the hub's config.json files spell them (one or more per model_type).
TINY = {
    "llama": {**_D, "head_dim": 16, "attention_bias": True, "mlp_bias": True, "tie_word_embeddings": False},
    "mistral": {**_D, "head_dim": 16, "sliding_window": 4096},
    "ministral": {**_D, "head_dim": 8, "sliding_window": 32, "rope_parameters": {"rope_type": "default",
                                                                   "rope_theta": 1e6}},
    "mixtral": {**_D, "num_local_experts": 4, "num_experts_per_tok": 2},
    "qwen2": {**_D, "tie_word_embeddings": True, "use_sliding_window": False},
    "qwen2_moe": {**_D, **_MOE, "num_experts": 6, "shared_expert_intermediate_size": 48,
                  "decoder_sparse_step": 1, "mlp_only_layers": [1]},
    "qwen3": {**_D, "head_dim": 16, "attention_bias": False, "tie_word_embeddings": True},
    "qwen3_moe": {**_D, **_MOE, "head_dim": 16, "num_experts": 6, "decoder_sparse_step": 1,
                  "mlp_only_layers": []},
    "gemma": {**_D, "head_dim": 16},
    "gemma2": {**_D, "head_dim": 16, "sliding_window": 64},
    "gemma3_text": {**_D, "head_dim": 16, "sliding_window": 64},
    "gemma3": {"text_config": {**_D, "head_dim": 16, "model_type": "gemma3_text"}},
    "phi3": {**_D, "tie_word_embeddings": False},
    "gpt2": {**_GPT2, "n_inner": None},
    "gpt_neox": {**_D, "use_parallel_residual": True, "tie_word_embeddings": False},
    "olmo": {**_D, "clip_qkv": None},
    "olmo2": {**_D},
    "olmo3": {**_D, "sliding_window": 32},
    "olmoe": {**_D, "num_experts": 6, "num_experts_per_tok": 2},
    "deepseek_v2": {**_D, **_MLA, "topk_method": "greedy"},
    "deepseek_v3": {**_D, **_MLA},
    "bert": {**_D, "type_vocab_size": 2},
    "gpt_oss": {**_D, "head_dim": 16, "num_local_experts": 6, "num_experts_per_tok": 2,
                "sliding_window": 16},
    "llama4_text": {**_D, "head_dim": 16, "intermediate_size_mlp": 80, "num_local_experts": 4,
                    "num_experts_per_tok": 1, "interleave_moe_layer_step": 2},
    "llama4": {"text_config": {**_D, "head_dim": 16, "intermediate_size_mlp": 80,
                               "num_local_experts": 4, "interleave_moe_layer_step": 1}},
    "granite": {**_D, "attention_bias": False, "mlp_bias": False},
    "granitemoe": {**_D, "num_local_experts": 4, "num_experts_per_tok": 2},
    "granitemoeshared": {**_D, "num_local_experts": 4, "num_experts_per_tok": 2,
                         "shared_intermediate_size": 48},
    "cohere": {**_D, "use_qk_norm": True},
    "cohere2": {**_D, "sliding_window": 32},
    "falcon": {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 8, "vocab_size": 256,
               "multi_query": True, "parallel_attn": True, "bias": False, "alibi": False,
               "new_decoder_architecture": False},
    "starcoder2": {**_D, "use_bias": True, "sliding_window": None},
    "phi": {**_D, "qk_layernorm": False},
    "phimoe": {**_D, "num_local_experts": 4, "num_experts_per_tok": 2, "lm_head_bias": True,
               "attention_bias": True},
    "smollm3": {**_D, "tie_word_embeddings": True},
    "glm": {**_D, "head_dim": 16, "attention_bias": True},
    "glm4": {**_D, "head_dim": 16, "attention_bias": True},
    "gpt_bigcode": {**_GPT2, "multi_query": True},
    "mistral3": {"text_config": {**_D, "head_dim": 16, "model_type": "mistral"}},
    "gptj": {**_GPT2, "rotary_dim": 4},
    "exaone4": {**_D, "sliding_window": 32},
    "stablelm": {**_D, "use_qkv_bias": True, "qk_layernorm": True, "use_parallel_residual": False},
}
# Options that switch weights on or off, each beside its base config
VARIANTS = [
    ("qwen2_moe", {"shared_expert_intermediate_size": 0, "qkv_bias": False}),  # gate stays; no q/k/v bias
    ("deepseek_v3", {"q_lora_rank": None, "attention_bias": True}),  # no bias on a plain q_proj
    ("deepseek_v2", {"mlp_bias": True, "q_lora_rank": None}),
    ("deepseek_v2", {"first_k_dense_replace": 0, "n_shared_experts": 0}),
    ("falcon", {"new_decoder_architecture": True, "num_kv_heads": 2}),
    ("falcon", {"new_decoder_architecture": True, "num_kv_heads": 2, "num_ln_in_parallel_attn": 1}),
    ("falcon", {"multi_query": False, "parallel_attn": False, "bias": True}),
    ("phi", {"qk_layernorm": True}),
    ("stablelm", {"use_parallel_residual": True, "qk_layernorm": False}),
    ("cohere", {"use_qk_norm": False, "attention_bias": True}),
    ("llama4_text", {"moe_layers": [0], "attention_bias": True}),
    ("gpt_bigcode", {"multi_query": False}),
    ("gpt_oss", {"attention_bias": False}),
    ("gemma3_text", {"layer_types": ["sliding_attention", "full_attention"]}),
    ("qwen3_moe", {"decoder_sparse_step": 2}),
]


def _cfg(model_type, **over):
    """TINY[model_type] with pad_token_id 0 (some defaults lie outside a 256-token vocabulary)."""
    cfg = {"model_type": model_type, "pad_token_id": 0, **TINY[model_type], **over}
    if "text_config" in cfg:
        cfg["text_config"] = {"pad_token_id": 0, **cfg["text_config"]}
    return cfg


def _numel(cfg):
    return numel(build_model(cfg))


def _ours(cfg):
    return count_params(spec_from_config(cfg)).total


def test_every_supported_type_has_a_tiny_config_and_defaults():
    assert set(TINY) == set(MODEL_TYPES) == set(defaults_table())


@pytest.mark.parametrize("model_type", sorted(TINY))
def test_hub_names(model_type):
    cfg = _cfg(model_type)
    assert _ours(cfg) == _numel(cfg)


@pytest.mark.parametrize("model_type,over", VARIANTS, ids=lambda x: x if isinstance(x, str) else "-".join(x))
def test_weight_switches(model_type, over):
    cfg = _cfg(model_type, **over)
    assert _ours(cfg) == _numel(cfg)


@pytest.mark.parametrize("model_type", sorted(TINY))
def test_saved_by_transformers(model_type, tmp_path):
    cfg = _cfg(model_type)
    transformers.AutoConfig.for_model(**cfg).save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert count_params(load_config(tmp_path)).total == _numel(saved) == _numel(cfg)


@pytest.mark.parametrize("model_type", sorted(TINY))
def test_every_alias(model_type):
    amap = defaults_table()[model_type]["attribute_map"]
    cfg = _cfg(model_type)
    inner = cfg["text_config"] if "text_config" in cfg else cfg
    tried = 0
    for alias, attr in amap.items():
        for a, b in ((attr, alias), (alias, attr)):  # spell the field the other way
            if a in inner:
                renamed = {(b if k == a else k): v for k, v in inner.items()}
                c = {**cfg, "text_config": renamed} if "text_config" in cfg else renamed
                assert _ours(c) == _numel(c) == _numel(cfg), (alias, attr)
                tried += 1
    assert tried or not any(k in inner for kv in amap.items() for k in kv)


@pytest.mark.parametrize("model_type", sorted(TINY))
def test_each_field_removed_takes_the_transformers_default(model_type):
    cfg = _cfg(model_type)
    nested = "text_config" in cfg
    inner = cfg["text_config"] if nested else cfg
    for k in [k for k in inner if k not in ("model_type", "pad_token_id")]:
        less = {kk: v for kk, v in inner.items() if kk != k}
        c = {**cfg, "text_config": less} if nested else less
        try:
            theirs = _numel(c)
        except Exception:  # noqa: BLE001  transformers refuses this config itself
            with pytest.raises(InputError):
                _ours(c)
            continue
        try:
            ours = _ours(c)
        except InputError as e:  # transformers builds it, but it cannot run: refusing is right
            assert any(w in str(e) for w in UNUSABLE), (k, str(e))
            continue
        assert ours == theirs, k


# What transformers builds but cannot run a forward pass with (kv heads that do not divide the
# query heads, top_k above the expert count, a null top_k), which scalinglab refuses instead.
UNUSABLE = ("multiple of", "top_k <= n_experts", "is missing")


def test_defaults_table_is_the_installed_transformers():
    """data/hf_defaults.json equals what tools/hf_defaults.py reads from this transformers."""
    import importlib.util
    from pathlib import Path

    tool = Path(__file__).resolve().parents[1] / "tools" / "hf_defaults.py"
    spec = importlib.util.spec_from_file_location("hf_defaults_tool", tool)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    shipped = json.loads(DEFAULTS.read_text())
    if shipped["generated_from"] != f"transformers {transformers.__version__}":
        pytest.skip(f"table is from {shipped['generated_from']}, installed {transformers.__version__}")
    assert mod.table(HF_TYPES) == shipped


@pytest.mark.parametrize("cfg,match", [
    ({"model_type": "llama", "hidden_size": "64"}, "hidden_size"),
    ({"model_type": "llama", "num_attention_heads": 0}, "num_attention_heads"),
    ({"model_type": "llama", "hidden_size": 64.0}, "hidden_size"),
    ({"model_type": "llama", "tie_word_embeddings": "yes"}, "tie_word_embeddings"),
    ({**_cfg("llama"), "num_key_value_heads": 3}, "multiple"),
    ({**_cfg("qwen3"), "layer_types": ["linear_attention", "full_attention"]}, "linear_attention"),
    ({**_cfg("qwen3"), "layer_types": ["full_attention"]}, "one type per layer"),
    ({**_cfg("qwen2_moe"), "mlp_only_layers": "all"}, "mlp_only_layers"),
    ({**_cfg("mixtral"), "num_experts": 4, "num_local_experts": 8}, "same setting"),
    ({"model_type": "gemma3", "text_config": [1]}, "text_config"),
    ({"model_type": "mistral3", "text_config": {"model_type": "rwkv"}}, "rwkv"),
])
def test_bad_configs_are_one_line_errors(cfg, match):
    with pytest.raises(InputError, match=match) as e:
        count_params(spec_from_config(cfg))
    assert "\n" not in str(e.value)


def test_unknown_type_is_counted_exactly_on_the_meta_device(cli, tmp_path):
    # mamba has no closed form here; transformers builds it: the count is its numel, said so
    cfg = {"model_type": "mamba", "hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 256,
           "state_size": 8, "pad_token_id": 0}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    d = cli("params", tmp_path / "config.json", "--json").json
    assert d["total"] == _numel(cfg) and d["active"] == d["total"]
    assert d["non_embedding"] == d["total"] - d["breakdown"]["embeddings"] - d["breakdown"]["head"]
    assert "meta device" in d["assumptions"][0] and "slower" in d["assumptions"][0]
    assert "meta device" in cli("params", tmp_path).out
