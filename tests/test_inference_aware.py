"""Inference-aware sizing (Sardana et al. 2023, arXiv:2401.00448; nikhilsardana/beyond-chinchilla)."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from conftest import assert_one_line_error
from scalinglab.errors import InputError
from scalinglab.laws import LAWS, ParametricLaw, get_law
from scalinglab.laws import inference_aware as ia
from scalinglab.plan import make_plan

PARAMETRIC = sorted(k for k, v in LAWS.items() if isinstance(v, ParametricLaw))


def test_sardana_readme_example():
    # compute_optimal.py --loss 1.947 --inference_tokens 2e12 -> 2.418e10 params, 2.657e12 tokens,
    # 70.96% params / 146.77% tokens / 95.22% FLOPs of the equal-loss Chinchilla model (repo README)
    d = ia.optimal_for_loss(get_law("sardana2023"), 1.947, 2e12).to_dict()
    assert d["n_params"] == pytest.approx(2.418e10, rel=5e-4)
    assert d["n_tokens"] == pytest.approx(2.657e12, rel=5e-4)
    assert round(100 * d["params_ratio"], 2) == 70.96
    assert round(100 * d["tokens_ratio"], 2) == 146.77
    assert round(100 * d["flops_ratio"], 2) == 95.22
    assert d["total_flops"] == pytest.approx(d["train_flops"] + d["inference_flops"])


def test_sardana_constants():
    # utils.py ChinchillaConstants defaults: alpha=0.336, beta=0.283, A=406.4, B=410.7, E=1.69
    s = get_law("sardana2023")
    assert (s.alpha, s.beta, s.A, s.B, s.E) == (0.336, 0.283, 406.4, 410.7, 1.69)


def test_sardana_cost_example():
    # cost_optimal.py README example: A100-80 @ $1.40 bf16 (312 TFLOP/s) training, A100-40 @ $0.60
    # int8 (624 TOP/s) inference, MFU 0.5 / 0.4 / 0.2, 1e10 requests x (1000 in + 250 out) ->
    # 2.053e10 params, 3.302e12 tokens, 60.23% / 182.41% / 88.76% of the Chinchilla model's cost
    o = ia.cost_optimal_for_loss(get_law("sardana2023"), 1.947, 1e13, 2.5e12,
                                 1.40 / (3600 * 3.12e14), 0.60 / (3600 * 6.24e14), 0.5, 0.4, 0.2)
    d = o.to_dict()
    assert d["n_params"] == pytest.approx(2.053e10, rel=5e-4)
    assert d["n_tokens"] == pytest.approx(3.302e12, rel=5e-4)
    assert round(100 * d["params_ratio"], 2) == 60.23
    assert round(100 * d["tokens_ratio"], 2) == 182.41
    assert round(100 * d["cost"]["cost_ratio"], 2) == 88.76


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(PARAMETRIC), st.floats(min_value=0.02, max_value=1.0))
def test_zero_inference_equals_target_loss_optimum(law_id, above_e):
    law = LAWS[law_id]
    loss = law.E + above_e
    o, plain = ia.optimal_for_loss(law, loss, 0.0), law.optimal_for_loss(loss)
    assert o.n_params == pytest.approx(plain.n_params, rel=1e-9)
    assert o.n_tokens == pytest.approx(plain.n_tokens, rel=1e-9)
    assert o.to_dict()["flops_ratio"] == pytest.approx(1.0)
    c = ia.optimal_for_compute(law, 1e23, 0.0)
    assert c.n_params == pytest.approx(law.optimal(1e23).n_params, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(PARAMETRIC), st.floats(min_value=0.05, max_value=0.5),
       st.floats(min_value=9, max_value=16))
def test_optimum_is_numeric_minimum_and_round_trips(law_id, above_e, log_t):
    law, t = LAWS[law_id], 10.0**log_t
    loss = law.E + above_e
    o = ia.optimal_for_loss(law, loss, t)
    assert law.loss(o.n_params, o.n_tokens) == pytest.approx(loss, rel=1e-10)
    # along the iso-loss curve, total FLOP is smallest at the optimum
    d = o.n_tokens * np.array([0.9, 1.1])
    n = (law.A / (loss - law.E - law.B * d**-law.beta)) ** (1 / law.alpha)
    assert np.all(6 * n * d + 2 * n * t >= o.total_flops)
    # more inference -> smaller, longer trained; and T is recovered from (N, D)
    assert o.n_params <= o.chinchilla.n_params and o.n_tokens >= o.chinchilla.n_tokens
    assert ia.implied_inference_tokens(law, o.n_params, o.n_tokens) == pytest.approx(t, rel=1e-6)


def test_vectorised_and_undertrained_model():
    law = get_law("sardana2023")
    o = ia.optimal_for_loss(law, np.array([1.9, 2.0]), np.array([0.0, 1e13]))
    assert o.n_params.shape == (2,)
    # fewer tokens than Chinchilla at its loss: no inference demand justifies it (GPT-3: 175B, 300B)
    assert ia.implied_inference_tokens(law, 175e9, 300e9) is None


def test_errors():
    with pytest.raises(InputError, match="kaplan2020"):
        ia.optimal_for_loss(get_law("kaplan2020"), 2.0, 1e12)
    with pytest.raises(InputError, match="irreducible"):
        ia.optimal_for_loss(get_law("sardana2023"), 1.6, 1e12)
    with pytest.raises(InputError, match="inference tokens"):
        ia.optimal_for_loss(get_law("sardana2023"), 2.0, -1)


def test_plan_inference_block():
    p = make_plan(n_params=70e9, n_tokens=15e12, law="sardana2023",
                  inference_tokens=2e12).to_dict()
    b = p["inference"]
    assert b["total_flops"] == pytest.approx(6 * 70e9 * 15e12 + 2 * 70e9 * 2e12)
    assert b["optimum"]["loss"] == pytest.approx(p["loss"])
    assert 0 <= b["total_flops_saved"] < 1


def test_cli(cli):
    d = cli("optimal", "--loss", "1.947", "--inference-tokens", "2T", "--law", "sardana2023",
            "--json").json
    assert d["n_params"] == pytest.approx(2.418e10, rel=5e-4)
    assert set(d) >= {"n_params", "n_tokens", "tokens_per_param", "loss", "flops", "total_flops"}
    d = cli("optimal", "--compute", "1e24", "--inference-tokens", "0", "--law", "all", "--json").json
    assert "kaplan2020" not in {x["law"] for x in d["laws"]}
    r = cli("plan", "--params", "70B", "--tokens", "15T", "--inference-tokens", "10T")
    assert r.code == 0 and "lifetime" in r.out and "Sardana" in r.out
    assert cli("optimal", "--loss", "1.947", "--inference-tokens", "2T").code == 0


@pytest.mark.parametrize("args", [
    ("optimal", "--loss", "2.0", "--inference-tokens", "-1T"),
    ("optimal", "--loss", "2.0", "--inference-tokens", "lots"),
    ("optimal", "--loss", "2.0", "--inference-tokens", "1T", "--law", "kaplan2020"),
    ("plan", "--compute", "1e24", "--inference-tokens", "x"),
])
def test_bad_input(cli, args):
    assert_one_line_error(cli(*args))
