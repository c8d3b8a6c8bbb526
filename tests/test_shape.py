"""`shape N`: a transformer shape for a parameter count (issue 14, item 11)."""

import pytest

from conftest import assert_one_line_error
from scalinglab.architecture import count_params, get_preset
from scalinglab.architecture.shape import FAMILIES, suggest_shape
from scalinglab.errors import InputError


@pytest.mark.parametrize("target", [7e9, 13e9, 70e9])
def test_llama_7b_13b_70b_within_two_percent(cli, target):
    s = suggest_shape(target, "llama")
    assert abs(s.total / target - 1) < 0.02
    assert s.total == count_params(s.spec).total  # the count shown is the spec's exact count
    d = cli("shape", f"{target:g}", "--family", "llama", "--json").json
    assert d["total"] == s.total and abs(d["error"]) < 0.02
    assert {"d_model", "n_layers", "n_heads", "n_kv_heads", "d_ff", "vocab_size"} <= set(d)
    out = cli("shape", f"{target:g}").out
    assert f"{s.total:,} exactly" in out  # the exact count, every digit


def test_family_rules_reproduce_the_published_models():
    # at the families' own sizes the rules give the published shapes and exact counts:
    # Llama-2-13B 5120 x 40, d_ff 13824 (13,015,864,320, its config.json built by transformers)
    s = suggest_shape(13e9, "llama")
    assert (s.d_model, s.n_layers, s.n_heads, s.n_kv_heads, s.d_ff) == (5120, 40, 40, 40, 13824)
    assert s.total == count_params(get_preset("llama-2-13b")).total == 13_015_864_320
    # Llama 3 8B: 4096 x 32, 8 kv heads, d_ff 14336 (8,030,261,248: README, transformers numel)
    s = suggest_shape(8e9, "llama3")
    assert (s.d_model, s.n_layers, s.n_kv_heads, s.d_ff, s.total) == (4096, 32, 8, 14336, 8_030_261_248)
    # Llama 3.1 405B: 16384 x 126, d_ff 53248 (ffn_dim_multiplier 1.2, multiple_of 4096)
    s = suggest_shape(405e9, "llama3")
    assert (s.d_model, s.n_layers, s.d_ff) == (16384, 126, 53248)
    assert s.total == count_params(get_preset("llama-3.1-405b")).total
    # GPT-3 175B: 12288 x 96 heads of 128 (Brown et al. 2020, Table 2.1)
    s = suggest_shape(175e9, "gpt3")
    assert (s.d_model, s.n_layers, s.n_heads, s.d_ff) == (12288, 96, 96, 49152)
    assert s.total == count_params(get_preset("gpt-3-175b")).total


def test_llama_d_ff_rule_is_llamas_feedforward():
    # meta-llama/llama model.py: int(2 * 4d / 3) x ffn_dim_multiplier, rounded up to multiple_of
    f = FAMILIES["llama"]
    assert f.d_ff(4096, 7e9) == 11008 and f.d_ff(5120, 13e9) == 13824
    assert f.d_ff(8192, 70e9) == 28672  # Llama 2 70B: multiplier 1.3, multiple_of 4096
    assert FAMILIES["llama3"].d_ff(4096, 8e9) == 14336  # 1.3, multiple_of 1024


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("target", [1e9, 4.5e9, 30e9, 175e9, 1e12])
def test_every_family_lands_near_any_size(family, target):
    s = suggest_shape(target, family)
    assert abs(s.error) < 0.03
    assert s.d_model == s.n_heads * s.head_dim and s.n_heads % s.n_kv_heads == 0
    assert 0.5 < s.aspect_ratio / s.target_aspect_ratio < 2.5


def test_too_small_for_the_vocabulary_is_an_error(cli):
    with pytest.raises(InputError, match="embeddings alone"):
        suggest_shape(50e6, "llama3")  # 128,256 x 1024 x 2 = 263M in the embeddings alone
    assert_one_line_error(cli("shape", "50M", "--family", "llama3"))
    assert_one_line_error(cli("shape", "7B", "--family", "nope"))
    assert_one_line_error(cli("shape", "-7B"))


def test_memory_and_params_take_a_size(cli):
    # `memory 13B` is the memory of the shape `shape 13B` suggests (Llama-2-13B's: 26.0 GB of
    # bf16 weights = 2 x 13,015,864,320 bytes)
    d = cli("memory", "13B", "--json").json
    assert d["weights_bytes"] == 2 * 13_015_864_320
    assert cli("params", "13B", "--json").json["total"] == 13_015_864_320


def test_plan_without_arch_shows_the_shape_and_checks_its_memory(cli):
    d = cli("plan", "--params", "13B", "--tokens", "260B", "--gpu", "h100", "--n-gpus", "8",
            "--json").json
    assert d["shape"]["total"] == 13_015_864_320 and d["shape"]["family"] == "llama"
    assert d["memory"]["model"] == "llama-shape-13.0B" and d["memory"]["fits"] is True
    assert d["memory"]["weights_bytes"] == 2 * 13_015_864_320
    out = cli("plan", "--params", "13B", "--tokens", "260B", "--gpu", "h100", "--n-gpus", "8").out
    assert "Shape (suggested, llama family" in out and "13,015,864,320 exactly" in out
    g = cli("plan", "--params", "8B", "--tokens", "160B", "--family", "llama3", "--json").json
    assert g["shape"]["total"] == 8_030_261_248
    assert_one_line_error(cli("plan", "--arch", "llama-2-7b", "--family", "llama"))
    with_arch = cli("plan", "--arch", "llama-2-7b", "--tokens", "1T", "--json").json
    assert "shape" not in with_arch
