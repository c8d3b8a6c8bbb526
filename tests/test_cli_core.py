"""CLI: loss, optimal, flops, laws, plan: output, --json, and one-line errors (exit 2)."""

import pytest

from conftest import assert_one_line_error, heavy_imports_after, run_subprocess


def test_loss_json(cli):
    r = cli("loss", "70B", "15T", "--law", "hoffmann2022", "--json")
    assert r.code == 0
    d = r.json
    assert d["loss"] == pytest.approx(1.857, abs=5e-4)  # Hoffmann et al. 2022, Eq. 10
    assert set(d) >= {"law", "n_params", "n_tokens", "loss", "terms"}


def test_loss_all_laws_table(cli):
    r = cli("loss", "70B", "15T", "--law", "all")
    assert r.code == 0 and "hoffmann2022" in r.out and "1.8575" in r.out


def test_optimal_json(cli):
    d = cli("optimal", "--compute", "5.76e23", "--json").json
    assert d["tokens_per_param"] == pytest.approx(18.4, abs=0.05)  # besiroglu2024
    assert set(d) >= {"n_params", "n_tokens", "tokens_per_param", "loss", "flops"}
    d = cli("optimal", "--loss", "2.0", "--law", "hoffmann2022", "--json").json
    assert d["loss"] == pytest.approx(2.0)


def test_flops_json(cli):
    d = cli("flops", "1.7T", "13T", "--json").json
    assert d["flops"] == pytest.approx(1.326e26)
    assert d["pf_days"] == pytest.approx(1.326e26 / 8.64e19)
    assert set(d) >= {"flops", "forward_flops", "backward_flops", "pf_days"}


def test_laws_lists_all(cli):
    r = cli("laws", "--json")
    ids = {law["id"] for law in r.json["laws"]}
    assert {"hoffmann2022", "hoffmann2022-exact", "besiroglu2024", "muennighoff2023"} <= ids


def test_plan_json(cli):
    d = cli("plan", "--params", "70B", "--tokens", "15T", "--json").json
    assert d["tokens_per_param"] == pytest.approx(214.3, abs=0.1)
    assert d["losses"]["hoffmann2022"]["loss"] == pytest.approx(1.857, abs=5e-4)
    assert d["ratio"]["times_twenty"] == pytest.approx(10.7, abs=0.05)
    assert d["assumptions"]


def test_plan_human(cli):
    r = cli("plan", "--compute", "1e24")
    assert r.code == 0
    for word in ("PF-days", "20:1", "Assumptions", "hoffmann2022", "besiroglu2024"):
        assert word in r.out


def test_version(cli):
    r = cli("--version")
    assert r.code == 0 and r.out.startswith("scalinglab ")


@pytest.mark.parametrize("args", [
    ("loss", "7X", "15T"), ("loss", "-3B", "15T"), ("loss", "0", "15T"), ("loss", "7B", "nan"),
    ("loss", "7B", "15T", "--law", "nope"), ("loss", "7B"), ("loss", "7B", "1T", "--bogus"),
    ("optimal",), ("optimal", "--compute", "1e24", "--loss", "2"), ("optimal", "--compute", "inf"),
    ("optimal", "--loss", "1.5"), ("optimal", "--loss", "1.8172"), ("optimal", "--compute", "-1"),
    ("optimal", "--compute", "1e24", "--law", "kaplan"),
    ("flops", "1.7T", "0"), ("flops", "x", "13T"),
    ("plan",), ("plan", "--compute", "abc"), ("plan", "--loss", "1.0"),
    ("plan", "--params", "7B", "--law", "zzz"), ("plan", "--tokens", "-5T"),
    ("plan", "--compute", "1e24", "--params", "7B", "--tokens", "1T"),
    ("plan", "--loss", "1.9", "--params", "1M"),
])
def test_bad_input_is_one_line_exit_2(cli, args):
    assert_one_line_error(cli(*args))


def test_startup_imports_nothing_heavy():
    assert heavy_imports_after("loss", "70B", "15T") == []


def test_module_entry_point_runs():
    r = run_subprocess("loss", "70B", "15T", "--json")
    assert r.returncode == 0 and '"loss"' in r.stdout
