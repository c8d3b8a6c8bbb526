"""Kaplan et al. 2020 (arXiv:2001.08361): joint law with Table 2's fit, Table 6 frontier, B_crit."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from conftest import assert_one_line_error
from scalinglab.laws import get_law
from scalinglab.laws.kaplan import KAPLAN2020, embedding_params, non_embedding_params
from scalinglab.plan import make_plan
from scalinglab.units import PF_DAY


@pytest.mark.parametrize("n, d, x, loss", [
    # by hand: x = (6.4e13/N)^(0.076/0.103), y = 1.8e13/D, L = (x + y)^0.103 (Table 2 constants)
    (1e9, 1e10, 3518.09, 2.41965),          # x + y = 5318.1, 5318.1^0.103
    (1.5e9, 2.2e10, 2608.41, 2.31255),      # y = 818.18
    (1.75e11, 3e11, 77.8485, 1.66096),      # GPT-3-sized: y = 60
    (7e10, 1.5e13, 153.065, 1.68032),       # Llama 3 70B tokens: y = 1.2, data barely matters
])
def test_joint_law_table2_by_hand(n, d, x, loss):
    k = get_law("kaplan2020")
    assert (k.N_c / n) ** (k.alpha_N / k.alpha_D) == pytest.approx(x, rel=1e-5)
    assert k.loss(n, d) == pytest.approx(loss, rel=1e-5)


def test_table2_constants_not_the_single_variable_ones():
    # Table 2 (joint fit) differs from Eq. 1.1-1.2 (alpha_D 0.095, Nc 8.8e13, Dc 5.4e13)
    k = KAPLAN2020
    assert (k.alpha_N, k.alpha_D, k.N_c, k.D_c) == (0.076, 0.103, 6.4e13, 1.8e13)
    assert (k.alpha_D_alone, k.N_c_alone, k.D_c_alone) == (0.095, 8.8e13, 5.4e13)


def test_single_variable_laws():
    k = KAPLAN2020
    assert k.loss_of_params(8.8e13) == pytest.approx(1.0)           # L(N = Nc) = 1
    assert k.loss_of_params(8.8e11) == pytest.approx(100 ** 0.076)  # 1.419
    assert k.loss_of_tokens(5.4e11) == pytest.approx(100 ** 0.095)
    assert k.loss_of_compute(3.1e8 * PF_DAY) == pytest.approx(1.0)
    # infinite data: the joint law tends to (Nc/N)^alpha_N
    assert k.loss(1e9, 1e300) == pytest.approx((6.4e13 / 1e9) ** 0.076)


def test_table6_frontier():
    k = KAPLAN2020
    o = k.optimal(PF_DAY)  # C = 1 PF-day: N_opt = N_e
    assert o.n_params == pytest.approx(1.3e9)
    t = k.table6(PF_DAY)
    assert t == pytest.approx({"n_params": 1.3e9, "n_tokens": 2e10, "critical_batch_tokens": 2.0e6,
                               "min_steps": 5.4e3})
    o = k.optimal(1e24)  # N ~ C^0.73, 6ND = C
    assert o.n_params == pytest.approx(1.3e9 * (1e24 / PF_DAY) ** 0.73)
    assert 6 * o.n_params * o.n_tokens == pytest.approx(1e24)
    assert k.optimal(1e25).n_params / o.n_params == pytest.approx(10 ** 0.73)


def test_critical_batch():
    # B_crit(L) = 2e8 / L^(1/0.21) tokens (Eq. 5.3): at L = 2 nats, 7.37M tokens
    assert KAPLAN2020.critical_batch(2.0) == pytest.approx(7.3715e6, rel=1e-4)


def test_non_embedding_params_gpt3():
    # GPT-3 175B: 96 layers, d_model 12288 (Brown et al. 2020, Table 2.1); 12 n d^2 = 173.9B
    assert non_embedding_params(96, 12288) == pytest.approx(1.7395e11, rel=1e-4)
    assert embedding_params(50257, 12288, 2048) == pytest.approx((50257 + 2048) * 12288)


@settings(max_examples=30, deadline=None)
@given(st.floats(min_value=18, max_value=27))
def test_compute_for_loss_inverts(log_c):
    c = 10.0**log_c
    loss = KAPLAN2020.loss_at_optimum(c)
    assert KAPLAN2020.compute_for_loss(loss) == pytest.approx(c, rel=1e-9)
    assert KAPLAN2020.optimal_for_loss(loss).loss == pytest.approx(loss, rel=1e-9)


def test_terms_sum_to_loss():
    t = KAPLAN2020.terms(7e10, 1.5e13)
    assert t["irreducible"] == 0.0
    assert sum(t.values()) == pytest.approx(KAPLAN2020.loss(7e10, 1.5e13))
    assert KAPLAN2020.loss(np.array([1e9, 1e10]), 1e12).shape == (2,)


def test_plan_with_kaplan():
    for kw in (dict(compute=1e24), dict(n_params=70e9), dict(n_tokens=1e12), dict(loss=2.0),
               dict(loss=2.2, n_params=70e9), dict(n_params=70e9, n_tokens=15e12)):
        p = make_plan(law="kaplan2020", **kw)
        assert p.compute.flops == pytest.approx(6 * p.n_params * p.n_tokens)
        assert any("non-embedding" in a for a in p.assumptions)
    assert make_plan(law="kaplan2020", loss=2.2, n_params=70e9).loss == pytest.approx(2.2)
    assert make_plan(law="kaplan2020", n_params=70e9).ratio.vs_optimal == pytest.approx(1.0)


def test_cli_kaplan(cli):
    d = cli("optimal", "--compute", "1e24", "--law", "kaplan2020", "--json").json
    assert d["n_params"] == pytest.approx(1.3e9 * (1e24 / PF_DAY) ** 0.73)
    r = cli("laws")
    assert r.code == 0 and "kaplan2020" in r.out and "NON-embedding" in r.out
    r = cli("plan", "--compute", "1e24", "--law", "kaplan2020")
    assert r.code == 0 and "kaplan2020 *" in r.out
    assert cli("loss", "70B", "15T", "--law", "all").code == 0
    assert_one_line_error(cli("plan", "--params", "70B", "--loss", "1.5", "--law", "kaplan2020"))
