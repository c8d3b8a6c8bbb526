"""Exact parameter counts: presets, HF config.json files, breakdowns, bad input."""

import pytest

from scalinglab.architecture import PRESETS, PUBLISHED, TransformerSpec, count_params, load_spec
from scalinglab.errors import InputError

# Exact totals of the released checkpoints (sum of numel over the HF safetensors / model.parameters()).
MUST_SHOW = {
    "llama-2-7b": 6_738_415_616,
    "llama-3-8b": 8_030_261_248,
    "llama-3-70b": 70_553_706_496,
    "mistral-7b": 7_241_732_096,
    "mixtral-8x7b": 46_702_792_704,
    "gpt-2": 124_439_808,
    "bert-base": 109_482_240,  # BertModel incl. pooler (google-bert/bert-base-uncased)
}


@pytest.mark.parametrize("name,total", MUST_SHOW.items())
def test_exact_totals_of_released_models(name, total):
    assert count_params(load_spec(name)).total == total


def test_mixtral_active_params():
    # Mistral AI: "46.7B total, 12.9B used per token"; exact from the checkpoint: 12,879,925,248
    c = count_params(load_spec("mixtral-8x7b"))
    assert c.active == 12_879_925_248
    assert c.breakdown["experts"] == 32 * 8 * 3 * 4096 * 14336


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_breakdown_sums_and_published_values(name):
    c = count_params(PRESETS[name])
    assert sum(c.breakdown.values()) == c.total
    assert sum(c.active_breakdown.values()) == c.active <= c.total
    assert 0 < c.non_embedding < c.total
    pub = PUBLISHED[name]
    if "published" in pub:  # PaLM's 540.35B is rounded in the paper (Table 1)
        assert c.total == pytest.approx(pub["published"], rel=2e-5)
    if "published_active" in pub:
        assert c.active == pub["published_active"]


def test_palm_540b_matches_paper():
    # Chowdhery et al. 2022, Table 1: 540.35B parameters
    assert count_params(load_spec("palm")).total / 1e9 == pytest.approx(540.35, abs=0.01)


def test_kaplan_non_embedding_gpt2():
    # Kaplan et al. 2020 count N without the token and position tables: GPT-2 small ~85M
    assert count_params(load_spec("gpt2")).non_embedding == 85_056_000


def test_aliases_and_case():
    assert load_spec("Llama_3_8B") is load_spec("llama3-8b") is PRESETS["llama-3-8b"]


def test_unknown_preset_suggests():
    with pytest.raises(InputError, match="llama-3-8b"):
        load_spec("llama-3-9b")


@pytest.mark.parametrize("kw", [dict(d_model=0), dict(n_heads=3), dict(norm="batchnorm"),
                                dict(n_experts=8, top_k=9, d_ff_expert=10), dict(d_ff=-1)])
def test_bad_spec_is_input_error(kw):
    base = dict(d_model=64, n_layers=2, n_heads=4, n_kv_heads=2, vocab_size=100, d_ff=128)
    with pytest.raises(InputError):
        TransformerSpec(**{**base, **kw})


# --- Hugging Face config.json files (tests/data/hf_configs, written by hand from the public configs)
from pathlib import Path  # noqa: E402

import json  # noqa: E402

from hypothesis import given, settings, strategies as st  # noqa: E402

from scalinglab.architecture import MODEL_TYPES, spec_from_config  # noqa: E402

CONFIGS = Path(__file__).parent / "data" / "hf_configs"

# (file, total, active, non_embedding, rel) from the model cards / papers named alongside
PUBLISHED_CONFIGS = [
    ("llama-3-8b", 8_030_261_248, None, None, 0),
    ("mistral-7b-v0.1", 7_241_732_096, None, None, 0),
    ("mixtral-8x7b-v0.1", 46_702_792_704, 12_879_925_248, None, 0),
    ("pythia-160m", 162_322_944, None, 85_056_000, 0),  # Pythia README table (Biderman et al. 2023)
    ("bert-base-uncased", 109_482_240, None, None, 0),
    ("qwen2.5-7b", 7.61e9, None, 6.53e9, 1e-3),        # Qwen2.5-7B model card: 7.61B, 6.53B non-emb.
    ("qwen3-8b", 8.2e9, None, 6.95e9, 1e-2),           # Qwen3-8B model card: 8.2B, 6.95B non-emb.
    ("qwen3-30b-a3b", 30.5e9, 3.3e9, 29.9e9, 2e-2),    # Qwen3-30B-A3B card: 30.5B, 3.3B active, 29.9B
    ("qwen1.5-moe-a2.7b", 14.3e9, 2.7e9, None, 1e-2),  # Qwen1.5-MoE-A2.7B card: 14.3B total, 2.7B active
    ("deepseek-v2-lite", 15.7e9, None, None, 1e-2),    # DeepSeek-V2-Lite card: 15.7B total
    ("deepseek-v3", 671e9, 37e9, None, 2e-2),          # DeepSeek-V3 report: 671B total, 37B active
    ("gemma-7b", 8.54e9, None, None, 1e-3),            # Gemma report Table 1 footnote: 8.54B
    ("gemma-3-1b", 1.0e9, None, None, 1e-3),
    ("phi-3-mini-4k", 3.8e9, None, None, 1e-2),        # Phi-3 report: 3.8B
    ("gpt2-medium", 354_823_168, None, None, 0),       # HF openai-community/gpt2-medium (355M)
]


@pytest.mark.parametrize("file,total,active,non_emb,rel", PUBLISHED_CONFIGS)
def test_hf_configs_match_published_counts(file, total, active, non_emb, rel):
    c = count_params(load_spec(CONFIGS / f"{file}.json"))
    assert c.total == pytest.approx(total, rel=rel, abs=0)
    if active:
        assert c.active == pytest.approx(active, rel=rel, abs=0)
    if non_emb:
        assert c.non_embedding == pytest.approx(non_emb, rel=rel, abs=0)


def test_every_required_model_type_is_read():
    need = {"llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma",
            "gemma2", "gemma3_text", "gemma3", "phi3", "gpt2", "gpt_neox", "olmo", "olmo2",
            "deepseek_v2", "deepseek_v3", "bert"}
    assert need <= set(MODEL_TYPES)
    seen = {json.loads(p.read_text())["model_type"] for p in CONFIGS.glob("*.json")}
    assert need <= seen


def test_config_fixture_equals_preset():
    assert count_params(load_spec(CONFIGS / "deepseek-v3.json")).total == \
        count_params(load_spec("deepseek-v3")).total == 671_026_419_200


def test_deepseek_v3_breakdown():
    c = count_params(load_spec("deepseek-v3"))
    # 58 MoE layers x 256 routed experts x 3 x 7168 x 2048
    assert c.breakdown["experts"] == 58 * 256 * 3 * 7168 * 2048
    assert c.active_breakdown["experts"] == 58 * 8 * 3 * 7168 * 2048
    assert c.breakdown["router"] == 58 * (256 * 7168 + 256)


def test_missing_field_takes_the_transformers_default_and_null_required_names_it():
    # LlamaConfig's default hidden_size is 4096 (transformers/models/llama/configuration_llama.py)
    assert spec_from_config({"model_type": "llama", "num_hidden_layers": 2}).d_model == 4096
    with pytest.raises(InputError, match="kv_lora_rank"):
        spec_from_config({"model_type": "deepseek_v3", "kv_lora_rank": None})


def test_unsupported_model_type_names_it():
    with pytest.raises(InputError, match="model_type 'mamba'"):
        spec_from_config({"model_type": "mamba", "hidden_size": 8})


# --- invariants ---------------------------------------------------------------------------------
dims = st.sampled_from([32, 64, 128, 256])


@st.composite
def specs(draw):
    heads = draw(st.sampled_from([1, 2, 4, 8]))
    return TransformerSpec(d_model=draw(dims), n_layers=draw(st.integers(1, 8)), n_heads=heads,
                           n_kv_heads=draw(st.sampled_from([h for h in (1, 2, 4, 8) if heads % h == 0])),
                           vocab_size=draw(st.integers(1, 5000)), d_ff=draw(st.integers(1, 1024)),
                           gated_mlp=draw(st.booleans()), tied_embeddings=draw(st.booleans()),
                           norm=draw(st.sampled_from(["layernorm", "rmsnorm", "nonparametric"])),
                           attn_bias=draw(st.sampled_from(["none", "qkv", "all"])),
                           mlp_bias=draw(st.booleans()), qk_norm=draw(st.sampled_from(["none", "head", "full"])))


@settings(max_examples=60, deadline=None)
@given(specs(), st.integers(1, 4))
def test_count_invariants(spec, k):
    c = count_params(spec)
    assert sum(c.breakdown.values()) == c.total == c.active
    assert count_params(spec.with_(n_layers=spec.n_layers + k)).total > c.total
    assert count_params(spec.with_(d_ff=spec.d_ff + k)).total > c.total
    untied = count_params(spec.with_(tied_embeddings=False)).total
    assert untied - count_params(spec.with_(tied_embeddings=True)).total == spec.vocab_size * spec.d_model
    # MQA <= GQA <= MHA
    assert count_params(spec.with_(n_kv_heads=1)).total <= c.total <= count_params(
        spec.with_(n_kv_heads=spec.n_heads)).total


@settings(max_examples=40, deadline=None)
@given(specs(), st.integers(2, 16), st.data())
def test_moe_active_le_total(spec, n_experts, data):
    top_k = data.draw(st.integers(1, n_experts))
    moe = spec.with_(n_experts=n_experts, top_k=top_k, d_ff_expert=data.draw(st.integers(1, 512)))
    c = count_params(moe)
    assert c.active <= c.total
    assert (c.active == c.total) == (top_k == n_experts)


# issue 13 presets: the model cards' own counts (rounded there, hence rel)
@pytest.mark.parametrize("name,total,active,rel", [
    ("gpt-oss-120b", 116.83e9, None, 1e-4),   # openai/gpt-oss model card: 116.83B total
    ("gpt-oss-20b", 20.91e9, None, 1e-3),     # 20.91B total
    ("olmoe-1b-7b", 6.9e9, 1.3e9, 2e-2),      # Muennighoff et al. 2024 (OLMoE): 6.9B total, 1.3B active
    ("llama-4-maverick", 400e9, 17e9, 2e-2),  # Meta: 17B active, 400B total
    ("phi-3.5-moe", 42e9, 6.6e9, 1e-2),       # Phi-3.5-MoE card: 42B total, 6.6B active
    ("qwen3-235b-a22b", 235e9, 22e9, 1e-2),   # Qwen3 card: 235B total, 22B activated
    ("deepseek-v2", 236e9, 21e9, 2e-2),       # DeepSeek-V2 paper: 236B total, 21B activated
    ("mixtral-8x22b", 141e9, 39e9, 1e-2),     # Mistral AI: 141B, 39B active
    ("phi-2", 2_779_683_840, None, 0),        # HF microsoft/phi-2 numel
    ("llama-2-13b", 13_015_864_320, None, 0),
])
def test_issue13_presets_match_model_cards(name, total, active, rel):
    c = count_params(load_spec(name))
    assert c.total == pytest.approx(total, rel=rel, abs=0)
    if active:
        assert c.active == pytest.approx(active, rel=rel, abs=0)


def test_at_least_45_presets_from_hub_configs():
    from scalinglab.architecture.presets import _rows

    assert len(PRESETS) >= 45
    assert sum("config" in r for r in _rows().values()) >= 45
