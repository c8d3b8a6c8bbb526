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
