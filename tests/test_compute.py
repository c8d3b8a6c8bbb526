"""compute: 6ND, its split, PF-days (REFERENCES.md §5)."""

import pytest

from scalinglab.compute import (flops_to_pf_days, inference_flops, pf_days_to_flops,
                                training_flops)
from scalinglab.plan import make_plan, ratio_check


def test_gpt4_lecture_6nd():
    # The lecture's GPT-4 case: N = 1.7T, D = 13T -> 6ND = 1.326e26 FLOP (REFERENCES.md §6)
    f = training_flops(1.7e12, 13e12)
    assert f.flops == pytest.approx(1.326e26)
    assert f.forward_flops == pytest.approx(f.flops / 3)
    assert f.backward_flops == pytest.approx(2 * f.flops / 3)


def test_pf_days():
    assert pf_days_to_flops(3.64e3) == pytest.approx(3.14e23, rel=2e-3)  # GPT-3 (Brown et al. 2020)
    assert flops_to_pf_days(8.64e19) == pytest.approx(1.0)


def test_inference_is_2n_per_token():
    assert inference_flops(7e9, 1000) == 1.4e13


def test_twenty_to_one():
    # Llama 3 70B on 15T tokens is 214:1 (REFERENCES.md §6); ~12x Epoch's optimum at that compute
    r = ratio_check(70e9, 15e12, "besiroglu2024")
    assert r.tokens_per_param == pytest.approx(214.3, abs=0.1)
    assert r.vs_twenty == pytest.approx(10.7, abs=0.05)
    assert r.vs_optimal == pytest.approx(12.4, abs=0.1)
    assert ratio_check(8e9, 15e12).tokens_per_param == pytest.approx(1875)


def test_plan_from_each_input():
    for kw in (dict(compute=1e24), dict(loss=2.0), dict(n_params=70e9), dict(n_tokens=1.4e12),
               dict(n_params=70e9, n_tokens=15e12), dict(compute=1e24, n_params=70e9),
               dict(loss=2.0, n_params=70e9)):
        p = make_plan(**kw)
        assert p.compute.flops == pytest.approx(6 * p.n_params * p.n_tokens)
        assert set(p.losses) >= {"hoffmann2022", "besiroglu2024"}
    assert make_plan(loss=2.0).loss == pytest.approx(2.0)
    assert make_plan(loss=2.0, n_params=70e9).loss == pytest.approx(2.0)
    assert make_plan(n_params=70e9).ratio.vs_optimal == pytest.approx(1.0)
