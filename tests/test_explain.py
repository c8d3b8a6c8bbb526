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
    e = explain(o.n_params, o.n_tokens, law="sardana2023")
    assert e.implied_inference_tokens == pytest.approx(2e12, rel=1e-6)
    assert e.implied_inference_law == "sardana2023"
    row = {r.law: r for r in e.laws}["sardana2023"]  # and the law's own row says the same
    assert row.implied_inference_tokens == pytest.approx(2e12, rel=1e-6)
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


# --- issue 14, item 1: explain, models and plan agree -------------------------------------------

def test_moe_counts_active_parameters_in_models_and_explain(cli):
    # DeepSeek-V3: 37B active of 671B on 14.8T tokens (DeepSeek-V3 technical report, Table 1)
    e = cli("explain", "deepseek-v3", "--json").json
    row = next(r for r in cli("models", "--json").json["models"] if r["name"] == "DeepSeek-V3")
    assert e["n_params"] == row["active_params"] == 37e9
    assert e["params_counted"] == row["params_counted"] == "active"
    assert e["tokens_per_param"] == pytest.approx(row["tokens_per_param"]) == pytest.approx(400)
    lead = e["laws"][0]  # besiroglu2024: the same loss and optimum in both verbs
    assert lead["loss"] == pytest.approx(row["loss"], rel=1e-12)
    assert 14.8e12 / 37e9 / lead["optimal"]["tokens_per_param"] == pytest.approx(
        row["times_optimal"], rel=1e-12)
    dense = next(r for r in cli("models", "--json").json["models"] if r["name"] == "Llama 3 70B")
    assert dense["params_counted"] == "total" and dense["tokens_per_param"] == pytest.approx(214.29, abs=0.01)


def test_no_negative_excess_loss_is_shown_as_a_cost():
    # kaplan2020's optimum is Table 6's N_opt = 1.3e9 C^0.73, not its L(N, D) minimum: GPT-3 sits
    # 0.075 nats BELOW that "optimum" (1.6614 vs 1.7366), which is no cost: excess is None there
    from scalinglab.catalog import MODELS
    from scalinglab.beyond import explain_model

    e = explain_model("GPT-3 175B")
    k = {r.law: r for r in e.laws}["kaplan2020"]
    assert k.loss == pytest.approx(1.6614, abs=1e-4) and k.optimal.loss == pytest.approx(1.7366, abs=1e-4)
    assert k.excess_loss is None and "not the minimum" in k.note
    for m in MODELS:  # every catalogue model under every law: never a negative excess
        if m.law_params and m.n_tokens:
            assert all(r.excess_loss is None or r.excess_loss >= 0 for r in explain_model(m).laws)


def test_explain_and_plan_give_one_implied_inference_demand(cli):
    # Llama 3 70B on 15T: one T under the same law in both verbs (besiroglu2024: 65.4T; each
    # law's own T is in its row: sardana2023's is 19.3T)
    e = cli("explain", "llama-3-70b", "--json").json
    p = cli("plan", "--params", "70B", "--tokens", "15T", "--inference-tokens", "1T", "--json").json
    assert e["implied_inference_law"] == p["inference"]["law"] == "besiroglu2024"
    assert e["implied_inference_tokens"] == pytest.approx(p["inference"]["implied_inference_tokens"], rel=1e-12)
    assert e["implied_inference_tokens"] == pytest.approx(65.4e12, rel=1e-3)
    rows = {r["law"]: r for r in e["laws"]}
    assert rows["sardana2023"]["implied_inference_tokens"] == pytest.approx(19.3e12, rel=3e-3)
    assert rows["kaplan2020"]["implied_inference_tokens"] is None  # no inference-aware form
    p2 = cli("plan", "--params", "70B", "--tokens", "15T", "--inference-tokens", "1T",
             "--law", "sardana2023", "--json").json
    e2 = cli("explain", "llama-3-70b", "--law", "sardana2023", "--json").json
    assert e2["implied_inference_tokens"] == pytest.approx(p2["inference"]["implied_inference_tokens"], rel=1e-12)
