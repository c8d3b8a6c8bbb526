"""Repeated data (Muennighoff et al. 2023, arXiv:2305.16264; huggingface/datablations README)."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from conftest import assert_one_line_error
from scalinglab.errors import InputError
from scalinglab.laws import get_law
from scalinglab.laws import data_constrained as dc
from scalinglab.plan import make_plan

M = get_law("muennighoff2023")


@pytest.mark.parametrize("n, d, u, loss", [
    (6.34e9, 242e9, 25e9, 2.2256440890),   # README, Figure 1 (right): "<- This one is better"
    (8.67e9, 178e9, 25e9, 2.2269634075),
])
def test_readme_losses(n, d, u, loss):
    assert dc.loss(M, n, d, u).loss == pytest.approx(loss, abs=1e-10)


def test_readme_optimal_allocation():
    # README grid search around 8.67e9 params / 178e9 tokens / 25e9 unique:
    # "227B tokens, 9.1 epochs, 6.8B parameters"
    o = dc.optimal(M, 6 * 8.67e9 * 178e9, 25e9).to_dict()
    assert o["n_tokens"] == pytest.approx(227e9, rel=5e-3)
    assert o["epochs"] == pytest.approx(9.1, abs=0.05)
    assert o["n_params"] == pytest.approx(6.8e9, rel=5e-3)
    assert o["loss"] <= dc.loss(M, 8.67e9, 178e9, 25e9).loss
    assert o["n_params"] < o["unconstrained"]["n_params"]  # "many epochs, fewer params"


def test_effective_tokens():
    assert dc.effective_tokens(1e9, 1e9) == 1e9              # one epoch: nothing lost
    assert dc.effective_tokens(1e9, 5e9) == 1e9              # fewer tokens than U: U_D = D
    # at R_D = R_D* repeated tokens are worth 1 - 1/e of fresh ones (Sec. 3.1)
    u = 1e9
    assert dc.effective_tokens(u * (1 + dc.R_D_STAR), u) == pytest.approx(
        u + u * dc.R_D_STAR * (1 - np.exp(-1)))
    assert dc.effective_tokens(1e18, u) <= u * (1 + dc.R_D_STAR)  # never more than 16.39 U


@settings(max_examples=50, deadline=None)
@given(st.floats(min_value=8, max_value=11), st.floats(min_value=9, max_value=13),
       st.floats(min_value=0, max_value=3))
def test_invariants(log_n, log_u, log_epochs):
    n, u = 10.0**log_n, 10.0**log_u
    d = u * 10.0**log_epochs
    r = dc.loss(M, n, d, u)
    assert r.effective_tokens <= d * (1 + 1e-12) and r.effective_params <= n * (1 + 1e-12)
    assert r.loss >= r.loss_fresh_data - 1e-12       # repetition never helps
    assert dc.loss(M, n, d, 2 * u).loss <= r.loss + 1e-12  # more unique data never hurts


def test_fresh_data_and_small_model_equal_plain_law():
    # one epoch and N below the compute-optimal N for U: exactly the fresh-data law
    assert dc.loss(M, 1e8, 1e11, 1e11).loss == pytest.approx(M.loss(1e8, 1e11), rel=1e-12)


def test_kaplan_is_refused():
    with pytest.raises(InputError, match="muennighoff2023"):
        dc.loss(get_law("kaplan2020"), 1e9, 1e10, 1e9)


def test_plan_block():
    p = make_plan(n_params=8.67e9, n_tokens=178e9, law=M, unique_tokens=25e9).to_dict()
    b = p["data_constrained"]
    assert b["loss"] == pytest.approx(2.2269634075, abs=1e-10)
    assert b["optimum"]["n_params"] == pytest.approx(6.8e9, rel=5e-3)


def test_cli(cli):
    d = cli("loss", "6.34B", "242B", "--unique-tokens", "25B", "--law", "muennighoff2023", "--json").json
    assert d["loss"] == pytest.approx(2.2256440890, abs=1e-10)
    assert set(d) >= {"law", "n_params", "n_tokens", "loss", "terms", "epochs", "loss_fresh_data"}
    assert sum(d["terms"].values()) == pytest.approx(d["loss"])
    r = cli("loss", "70B", "15T", "--unique-tokens", "5T", "--law", "all")
    # kaplan2020 has no repeated-data form: not in the table, and a line says why (issue 11)
    assert r.code == 0 and "R_D*" in r.out and "kaplan2020: not shown" in r.out
    assert "kaplan2020 " not in r.out.split("kaplan2020: not shown")[0]
    r = cli("plan", "--params", "8.67B", "--tokens", "178B", "--unique-tokens", "25B",
            "--law", "muennighoff2023")
    assert r.code == 0 and "Repeated data" in r.out and "best split" in r.out


@pytest.mark.parametrize("args", [
    ("loss", "7B", "1T", "--unique-tokens", "0"),
    ("loss", "7B", "1T", "--unique-tokens", "many"),
    ("loss", "7B", "1T", "--unique-tokens", "1T", "--law", "kaplan2020"),
    ("plan", "--compute", "1e24", "--unique-tokens", "-5T"),
])
def test_bad_input(cli, args):
    assert_one_line_error(cli(*args))
