"""The model catalogue: published rows, forgiving names, and the `models` verb."""

import pytest
from hypothesis import given, strategies as st

from conftest import assert_one_line_error
from scalinglab.catalog import CONFIDENCE, MODELS, column, get_model
from scalinglab.errors import InputError


def test_at_least_30_models_each_with_source_and_confidence():
    assert len(MODELS) >= 30
    assert len({m.name for m in MODELS}) == len(MODELS)
    for m in MODELS:
        assert m.source and m.confidence in CONFIDENCE, m.name
        assert 2017 <= m.year <= 2026
        for x in (m.n_params, m.active_params, m.n_tokens, m.train_flops):
            assert x is None or x > 0
        if m.active_params is not None:
            assert m.active_params < m.n_params, m.name


def test_lecture_history_list_is_there():
    # the lecture's slide: BERT 340M, GPT-1 117M, GPT-2 1.5B, GPT-3 175B, GPT-4 ~1.7T, Gemini 1.56T
    for name, n in [("BERT-Large", 3.4e8), ("GPT-1", 1.17e8), ("GPT-2 1.5B", 1.5e9),
                    ("GPT-3 175B", 1.75e11), ("Gemini (lecture claim)", 1.56e12)]:
        assert get_model(name).n_params == pytest.approx(n)
    assert get_model("gpt-4").confidence == "rumoured"


def test_published_rows():
    c = get_model("Chinchilla 70B")  # Hoffmann et al. 2022: 70B on 1.4T tokens, 5.76e23 FLOP
    assert (c.n_params, c.n_tokens, c.train_flops) == (7e10, 1.4e12, 5.76e23)
    g = get_model("GPT-3 175B")  # Brown et al. 2020 Table D.1: 300B tokens, 3.14e23 FLOP
    assert (g.n_tokens, g.train_flops) == (3e11, 3.14e23)
    l3 = get_model("llama 3.1 405b")  # Llama 3 paper: 3.8e25 FLOP, 15.6T tokens
    assert (l3.train_flops, l3.n_tokens) == (3.8e25, 1.56e13)
    ds = get_model("DeepSeek-V3")  # DeepSeek-V3 report: 671B total, 37B active, 14.8T tokens
    assert ds.is_moe and ds.compute_params == 3.7e10 and ds.n_params == 6.71e11


@pytest.mark.parametrize("name", ["llama-3-70b", "Llama 3 70B", "LLAMA_3_70B", " llama 3 70b "])
def test_forgiving_names(name):
    assert get_model(name).name == "Llama 3 70B"


def test_unique_prefix_and_errors():
    assert get_model("chinchilla").name == "Chinchilla 70B"
    with pytest.raises(InputError, match="ambiguous.*Llama 3 8B"):
        get_model("llama-3")
    with pytest.raises(InputError, match="did you mean"):
        get_model("gpt-5")


@given(st.text(max_size=20))
def test_get_model_never_crashes(name):
    try:
        assert get_model(name) in MODELS
    except InputError:
        pass


def test_column_is_nan_where_unknown():
    n = column("n_tokens")
    assert n.shape == (len(MODELS),)
    assert [m.n_tokens is None for m in MODELS] == list(map(bool, n != n))
    with pytest.raises(InputError):
        column("nope")
