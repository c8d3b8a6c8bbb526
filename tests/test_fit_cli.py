"""CLI `fit`: --json keys, saved fits usable as --law FILE, bootstrap, Approach 2, bad input."""

import json

import pytest

from conftest import assert_one_line_error
from scalinglab.laws import load_law

FAST = ("--dataset", "chinchilla", "--starts", "300")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    from scalinglab.cli import main

    path = tmp_path_factory.mktemp("fit") / "myfit.json"
    with pytest.raises(SystemExit) as e:
        main(["fit", *FAST, "-o", str(path), "--json"])
    assert e.value.code in (0, None)
    return path


def test_fit_json_keys_and_best_objective(cli):
    r = cli("fit", *FAST, "--json", "--compute", "5.76e23", "--at", "70B", "15T")
    assert r.code == 0, r.err
    d = r.json
    assert set(d["params"]) == {"E", "A", "B", "alpha", "beta"}
    assert d["objective"] <= 0.0010182741  # Besiroglu et al. 2024 best known optimum
    assert d["params"]["E"] == pytest.approx(1.817, abs=0.002)
    assert {"E", "A", "B", "alpha", "beta", "method", "level"} <= set(d["ci"])
    assert d["optimal"]["tokens_per_param"] == pytest.approx(17.9, abs=0.3)
    assert d["loss_at"]["loss"] == pytest.approx(1.930, abs=0.002)
    assert d["assumptions"] and d["data"]["n_points"] == 240


def test_saved_fit_loads_as_a_law(saved, cli):
    law = load_law(saved)
    assert law.E == pytest.approx(1.817, abs=0.002) and law.id == "myfit"
    d = cli("loss", "70B", "15T", "--law", str(saved), "--json").json
    assert d["law"] == "myfit" and d["loss"] == pytest.approx(1.930, abs=0.002)
    d = cli("optimal", "--compute", "5.76e23", "--law", str(saved), "--json").json
    assert d["tokens_per_param"] == pytest.approx(17.9, abs=0.3)
    r = cli("plan", "--compute", "1e24", "--law", str(saved), "--json")
    assert r.code == 0 and r.json["law"] == "myfit"


def test_bootstrap_cli_is_seeded(cli):
    args = ("fit", *FAST, "--bootstrap", "40", "--seed", "3", "--compute", "1e22", "--json")
    a, b = cli(*args).json, cli(*args).json
    assert a["ci"]["method"].startswith("bootstrap") and a["ci"] == b["ci"]
    assert {"a", "b", "G", "n_opt", "d_opt"} <= set(a["ci"]) and a["bootstrap"]["seed"] == 3


def test_human_output_shows_assumptions_and_sources(cli):
    r = cli("fit", *FAST)
    assert r.code == 0
    for word in ("Approach 3", "objective", "Assumptions", "Epoch AI", "Huber"):
        assert word in r.out


def test_approach2(cli, tmp_path):
    d = cli("fit", "--dataset", "chinchilla", "--approach", "2", "--json").json
    assert d["approach"] == 2 and len(d["budgets"]) == 9
    assert d["ci"]["a"][0] < d["a"] < d["ci"]["a"][1]
    r = cli("fit", "--dataset", "chinchilla", "--approach", "2", "--compute", "1e21")
    assert r.code == 0 and "N*" in r.out


def test_csv_roundtrip_through_cli(cli, tmp_path):
    from scalinglab.laws import LAWS

    law = LAWS["hoffmann2022"]
    rows = ["params,tokens,loss"]
    for n in (1e8, 3e8, 1e9, 3e9):
        for d in (3e9, 1e10, 3e10, 1e11):
            rows.append(f"{n},{d},{law.loss(n, d)}")
    p = tmp_path / "runs.csv"
    p.write_text("\n".join(rows) + "\n")
    d = cli("fit", str(p), "--starts", "200", "--json").json
    assert d["params"]["alpha"] == pytest.approx(0.34, abs=1e-3)
    assert d["objective"] < 1e-10


def _csv(tmp_path, text, name="bad.csv"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


ONE_BUDGET = "N,C,loss\n" + "".join(f"{n},1e20,{3 - i * 0.1}\n" for i, n in
                                    enumerate((1e8, 2e8, 4e8, 8e8, 1.6e9, 3.2e9)))


@pytest.mark.parametrize("args,text", [
    (("fit",), None),
    (("fit", "--dataset", "chinchila"), None),
    (("fit", "CSV", "--dataset", "chinchilla"), "N,D,loss\n"),
    (("fit", "nope.csv"), None),
    (("fit", "CSV"), "N,D,loss\n1e8,1e9,3\n2e8,1e9,2.9\n"),  # fewer than 5 points
    (("fit", "CSV"), "N,D,loss\n" + "1e8,1e9,3\n" * 4 + "1e8,1e9,nan\n"),
    (("fit", "CSV"), "N,D,loss\n" + "1e8,1e9,3\n" * 4 + "-1e8,1e9,3\n"),
    (("fit", "CSV"), "N,D,score\n" + "1e8,1e9,3\n" * 5),  # missing loss
    (("fit", "CSV"), "N,params,D,loss\n" + "1e8,1e8,1e9,3\n" * 5),  # ambiguous N
    (("fit", "CSV", "--approach", "2"), ONE_BUDGET),  # one compute budget
    (("fit", "--dataset", "chinchilla", "--approach", "4"), None),
    (("fit", "--dataset", "chinchilla", "--bootstrap", "-1"), None),
    (("fit", "--dataset", "chinchilla", "--starts", "0"), None),
    (("fit", "--dataset", "chinchilla", "--delta", "0"), None),
    (("fit", "--dataset", "chinchilla", "--drop-highest", "300"), None),
    (("fit", "--dataset", "chinchilla", "--compute", "abc"), None),
    (("fit", "--dataset", "chinchilla", "--approach", "2", "--plot", "x.png"), None),
    (("fit", "CSV", "--loss-col", "nope"), "N,D,loss\n" + "1e8,1e9,3\n" * 5),
])
def test_bad_input_is_one_line_exit_2(cli, tmp_path, args, text):
    if text is not None:
        args = tuple(_csv(tmp_path, text) if a == "CSV" else a for a in args)
    elif "nope.csv" in args:
        args = tuple(str(tmp_path / a) if a == "nope.csv" else a for a in args)
    r = cli(*args)
    assert_one_line_error(r)


def test_one_budget_error_names_the_problem(cli, tmp_path):
    r = cli("fit", _csv(tmp_path, ONE_BUDGET), "--approach", "2")
    assert "budget" in r.err


def test_plot_without_plots_module_is_a_clear_error(cli, tmp_path):
    try:
        from scalinglab.plots import fit_figure  # noqa: F401
    except ImportError:
        r = cli("fit", *FAST, "--plot", str(tmp_path / "f.png"))
        assert_one_line_error(r)
        assert "not available" in r.err
    else:
        pytest.importorskip("matplotlib")
        r = cli("fit", *FAST, "--plot", str(tmp_path / "f.png"))
        assert r.code == 0 and (tmp_path / "f.png").stat().st_size > 0


def test_saved_file_is_plain_json(saved):
    doc = json.loads(saved.read_text())
    assert set(doc["law"]) >= {"E", "A", "B", "alpha", "beta"} and "id" not in doc["law"]
