"""explain: a catalogue model against every optimum (REFERENCES.md §4, §6)."""

import pytest

from conftest import assert_one_line_error
from scalinglab.beyond import explain
from scalinglab.laws import get_law
from scalinglab.laws.inference_aware import optimal_for_loss


def test_llama3_70b_numbers():
    # Llama 3 70B on 15T tokens: 214 tokens/param, 12.4x Epoch's optimum at 6.3e24 (REFERENCES §6)
    e = explain(70e9, 15e12, "Llama 3 70B").to_dict()
    assert e["tokens_per_param"] == pytest.approx(214.3, abs=0.1)
    besiroglu = e["laws"][0]
    assert besiroglu["law"] == "besiroglu2024"
    assert besiroglu["optimal"]["tokens_per_param"] == pytest.approx(17.3, abs=0.05)
    assert besiroglu["excess_loss"] > 0 and besiroglu["params_ratio"] < 1
    assert {r["law"] for r in e["laws"]} >= {"kaplan2020", "sardana2023", "hoffmann2022"}
    assert any("12.4x" in line for line in e["reasons"])


def test_implied_inference_round_trips_sardana():
    # the inference-aware optimum of Sardana's example is explained by its own 2e12 tokens
    o = optimal_for_loss(get_law("sardana2023"), 1.947, 2e12)
    e = explain(o.n_params, o.n_tokens)
    assert e.implied_inference_tokens == pytest.approx(2e12, rel=1e-6)
    # GPT-3 (175B on 300B) has fewer tokens than Chinchilla at its loss: no demand justifies it
    assert explain(175e9, 300e9).implied_inference_tokens is None


def test_cli_catalogue(cli):
    pytest.importorskip("scalinglab.catalog")
    r = cli("explain", "llama-3-70b")
    assert r.code == 0
    for word in ("Why", "sardana2023", "kaplan2020", "Llama 3", "Assumptions", "214"):
        assert word in r.out
    d = cli("explain", "llama-3-70b", "--json").json
    assert d["name"] == "Llama 3 70B" and d["n_tokens"] == 15e12
    assert set(d) >= {"laws", "implied_inference_tokens", "llama3", "deepseek", "reasons"}
    d = cli("explain", "deepseek-v3", "--json").json  # MoE: active parameters, said so
    assert d["n_params"] == 37e9 and any("ACTIVE" in n for n in d["notes"])


def test_cli_numbers(cli):
    d = cli("explain", "--params", "70B", "--tokens", "1.4T", "--json").json
    assert d["tokens_per_param"] == pytest.approx(20)


@pytest.mark.parametrize("args", [
    ("explain",), ("explain", "--params", "7B"), ("explain", "llama-3-70b", "--params", "7B"),
    ("explain", "no-such-model-xyz"), ("explain", "mixtral"), ("explain", "llama-3-70b", "--law", "x"),
])
def test_bad_input(cli, args):
    pytest.importorskip("scalinglab.catalog")
    assert_one_line_error(cli(*args))
