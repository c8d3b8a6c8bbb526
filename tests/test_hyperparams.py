"""Hyperparameter and token laws of single labs: DeepSeek LLM (arXiv:2401.02954), Llama 3
(arXiv:2407.21783)."""

import pytest
from hypothesis import given, strategies as st

from conftest import assert_one_line_error
from scalinglab.laws import hyperparams as hp


def test_deepseek_at_1e20():
    # B_opt = 0.2920 C^0.3271, lr_opt = 0.3118 C^-0.1250 (Eq. 1): ~1.017M tokens, ~9.86e-4
    h = hp.deepseek(1e20)
    assert h.batch_tokens == pytest.approx(1.017e6, rel=1e-3)
    assert h.learning_rate == pytest.approx(9.86e-4, rel=1e-3)
    assert h.flops_per_token * h.n_tokens == pytest.approx(1e20, rel=1e-3)  # M_opt D_opt = C


@pytest.mark.parametrize("n_layer, d_model, batch_seqs, lr, tol", [
    # DeepSeek LLM Table 2: 7B = 30 layers x 4096, batch 2304 x 4096 tokens, lr 4.2e-4, 2T tokens;
    # 67B = 95 layers x 8192, batch 4608, lr 3.2e-4, 2T tokens. Eq. 1 at C = M * 2T reproduces them.
    (30, 4096, 2304, 4.2e-4, 0.03),
    (95, 8192, 4608, 3.2e-4, 0.10),
])
def test_deepseek_reproduces_its_own_configs(n_layer, d_model, batch_seqs, lr, tol):
    c = hp.flops_per_token(n_layer, d_model, 4096) * 2e12
    h = hp.deepseek(c)
    assert h.batch_sequences == pytest.approx(batch_seqs, rel=tol)
    assert h.learning_rate == pytest.approx(lr, rel=0.03)


def test_m_convention():
    # M = 72 n_layer d^2 + 12 n_layer d l_seq: 7B config -> 4.23e10 FLOP/token (6N-like term 3.62e10)
    assert hp.flops_per_token(30, 4096, 4096) == pytest.approx(72 * 30 * 4096**2 + 12 * 30 * 4096**2)


def test_llama3_token_law():
    # D*(C) = 0.299 C^0.537; at 3.8e25 FLOP ~16.3T tokens, ~389B params (Meta trained 405B on 15.6T)
    t = hp.llama3_tokens(3.8e25)
    assert t.n_tokens == pytest.approx(16.29e12, rel=2e-3)
    assert t.n_params == pytest.approx(405e9, rel=0.05)


@given(st.floats(min_value=15, max_value=27))
def test_monotone(log_c):
    a, b = hp.deepseek(10.0**log_c), hp.deepseek(10.0 ** (log_c + 1))
    assert b.batch_tokens > a.batch_tokens and b.learning_rate < a.learning_rate


def test_cli(cli):
    r = cli("hyperparams", "--compute", "1e20", "--json")
    assert r.code == 0
    d = r.json
    assert d["batch_tokens"] == pytest.approx(1.017e6, rel=1e-3)
    assert d["learning_rate"] == pytest.approx(9.86e-4, rel=1e-3)
    assert d["llama3"]["n_tokens"] > 0
    r = cli("hyperparams", "--compute", "1e20")
    assert r.code == 0 and "one lab" in r.out.lower() and "0.3118" in r.out


@pytest.mark.parametrize("args", [
    ("hyperparams",), ("hyperparams", "--compute", "-1"), ("hyperparams", "--compute", "x"),
    ("hyperparams", "--compute", "1e20", "--seq-len", "0"),
])
def test_bad_input(cli, args):
    assert_one_line_error(cli(*args))
