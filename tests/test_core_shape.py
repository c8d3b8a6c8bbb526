"""Issue 11: one shape for laws, precisions and results.

Laws are asked what they can do (never their type or id outside laws/); every verb x law pair is
a result or one line; every dtype alias means the same; results serialise once; the public API
is light and equals the CLI's JSON."""

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scalinglab as sl
from conftest import assert_one_line_error, run_subprocess
from scalinglab.errors import InputError
from scalinglab.laws import LAWS, get_law, load_law
from scalinglab.precision import TABLE, get_precision

SRC = Path(__file__).resolve().parents[1] / "src" / "scalinglab"
IDS = "|".join(re.escape(i) for i in LAWS)


def test_no_law_type_or_id_checks_outside_the_laws_package():
    pattern = re.compile(
        r"isinstance\([^)]*(Law|law)\b|\[[\"']kind[\"']\]|get\([\"']kind[\"']|hasattr\(\s*law"
        rf"|(==|!=|\bin)\s*[\(\[\{{]?\s*[\"']({IDS})[\"']|LAWS\[[\"']")
    hits = [f"{p.relative_to(SRC)}:{i}: {line.strip()}"
            for p in SRC.rglob("*.py") if "laws" not in p.relative_to(SRC).parts
            for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert hits == []


def test_approach1_is_one_module_and_one_registry_line():
    # Hoffmann et al. 2022 Table 3: 67B parameters, 1.5T tokens at 5.76e23 FLOP (a = b = 0.50)
    law = LAWS["hoffmann2022-approach1"]
    o = law.optimal(5.76e23)
    assert o.n_params == pytest.approx(67e9, rel=0.02) and o.n_tokens == pytest.approx(1.5e12, rel=0.06)
    assert law.a == 0.5 and o.loss is None and not law.can("loss") and law.can("optimal")
    registry = (SRC / "laws" / "__init__.py").read_text()
    assert registry.count("HOFFMANN2022_APPROACH1") == 2  # imported once, registered once


def test_approach1_in_the_cli(cli):
    d = cli("optimal", "--compute", "5.76e23", "--law", "hoffmann2022-approach1", "--json").json
    assert d["n_params"] == pytest.approx(67e9, rel=0.02) and d["loss"] is None
    assert_one_line_error(cli("loss", "70B", "15T", "--law", "hoffmann2022-approach1"))
    all_loss = cli("loss", "70B", "15T", "--law", "all", "--json").json
    assert "hoffmann2022-approach1" not in {r["law"] for r in all_loss["laws"]}
    assert all_loss["skipped"][0]["law"] == "hoffmann2022-approach1"
    all_opt = cli("optimal", "--compute", "1e24", "--law", "all", "--json").json
    assert "hoffmann2022-approach1" in {r["law"] for r in all_opt["laws"]}


VERBS = [["loss", "70B", "15T"], ["optimal", "--compute", "1e24"], ["optimal", "--loss", "2.1"],
         ["optimal", "--compute", "1e24", "--inference-tokens", "1T"],
         ["loss", "7B", "1T", "--unique-tokens", "100B"], ["plan", "--compute", "1e24"],
         ["plan", "--arch", "llama-3-8b", "--tokens", "15T"], ["plan", "--params", "7B"],
         ["plan", "--tokens", "1T"], ["plan", "--params", "7B", "--loss", "2.2"],
         ["explain", "llama-3-70b"], ["models"]]
PLOTS = [["plot", "isoflop"], ["plot", "contour"], ["plot", "frontier"],
         ["plot", "plan", "--compute", "1e24"]]


@pytest.fixture(scope="module")
def law_files(tmp_path_factory):
    """A saved Approach 3 fit and a saved Approach 2 fit, as `scalinglab fit -o` writes them."""
    from scalinglab.cli import main

    d = tmp_path_factory.mktemp("laws")
    for approach in ("3", "2"):
        with pytest.raises(SystemExit):
            main(["fit", "--dataset", "chinchilla", "--approach", approach, "--bootstrap", "0",
                  "-o", str(d / f"a{approach}.json")])
    return [str(d / "a3.json"), str(d / "a2.json")]


def test_every_verb_and_law_is_a_result_or_one_line(cli, law_files, tmp_path):
    for law in [*LAWS, *law_files]:
        for args in VERBS:
            r = cli(*args, "--law", law)
            assert r.code in (0, 2) and "Traceback" not in r.err, (law, args, r.err)
            if r.code:
                assert_one_line_error(r)


@pytest.mark.parametrize("law", ["kaplan2020", "hoffmann2022-approach1", "besiroglu2024"])
def test_every_figure_and_law_is_a_figure_or_one_line(cli, law, tmp_path):
    runs = tmp_path / "runs.csv"
    runs.write_text("N,D,loss\n" + "".join(f"{n},{d},{2 + 1e3 / n ** .3 + 1e3 / d ** .3}\n"
                                           for n in (1e8, 3e8, 1e9) for d in (1e10, 3e10)))
    for args in [*PLOTS, ["plot", "fit", str(runs)]]:
        out = tmp_path / "x.svg"
        r = cli(*args, "-o", str(out), "--law", law)
        assert r.code in (0, 2), (law, args, r.err)
        assert (r.code == 0 and out.exists()) or r.err.startswith("scalinglab: error:"), (law, args)
        if r.code:
            assert_one_line_error(r)
        out.unlink(missing_ok=True)


def test_kaplan_plot_fit_draws(cli, tmp_path):  # issue 11: was a traceback (it read law.A)
    runs = tmp_path / "runs.csv"
    runs.write_text("N,D,loss\n1e8,1e10,3.3\n3e8,1e10,3.1\n1e9,3e10,2.9\n3e9,1e11,2.7\n1e10,3e11,2.5\n")
    r = cli("plot", "fit", str(runs), "-o", str(tmp_path / "k.png"), "--law", "kaplan2020")
    assert r.code == 0 and (tmp_path / "k.png").stat().st_size > 1000


def test_kaplan_gets_the_non_embedding_count(cli):
    # Llama-3-8B: 8,030,261,248 total; minus 2 x 128,256 x 4,096 embedding and head
    # = 6,979,588,096 non-embedding (Kaplan et al. 2020's N); joint law at 15T: 2.0008
    d = cli("plan", "--arch", "llama-3-8b", "--tokens", "15T", "--law", "kaplan2020", "--json").json
    k = d["losses"]["kaplan2020"]
    assert k["n_params"] == 6_979_588_096 and k["counts"] == "non-embedding"
    assert d["loss"] == pytest.approx(2.0008, abs=1e-4)
    assert d["losses"]["hoffmann2022"]["n_params"] == 8_030_261_248
    assert any("non-embedding parameters (6,979,588,096)" in a for a in d["assumptions"])


def test_explain_feeds_kaplan_the_non_embedding_count():
    from scalinglab.catalog import get_model

    m = get_model("llama-3-70b")  # 70,553,706,496 total; 2 x 128,256 x 8,192 in embeddings + head
    assert m.non_embedding_params == 70_553_706_496 - 2 * 128_256 * 8_192
    e = sl.loss(m.non_embedding_params, m.n_tokens, law="kaplan2020").loss
    from scalinglab.beyond import explain

    row = next(r for r in explain(m.n_params, m.n_tokens, m.name, non_embedding=m.non_embedding_params).laws
               if r.law == "kaplan2020")
    assert row.loss == pytest.approx(e)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([(p.name, a) for p in TABLE for a in (p.name, *p.aliases)]),
       st.sampled_from(["train", "infer"]))
def test_every_alias_means_the_same(pair, mode):
    from scalinglab.memory import estimate_for

    name, alias = pair
    if mode == "train" and not get_precision(name).trains or get_precision(name).bits < 16 and mode == "train":
        return
    a = estimate_for("llama-2-7b", mode, name).to_dict()
    b = estimate_for("llama-2-7b", mode, alias.upper()).to_dict()
    assert a == b


def test_bfloat16_keeps_the_master_copy(cli):  # was 53.9 GB of optimizer state, bf16 80.9 GB
    a = cli("memory", "llama-2-7b", "--dtype", "bfloat16", "--json").json
    b = cli("memory", "llama-2-7b", "--dtype", "bf16", "--json").json
    assert a == b and a["breakdown"]["optimizer"] == 12 * 6_738_415_616  # 4 master + 8 AdamW


@pytest.mark.parametrize("doc, match", [
    ({"E": 1.7, "A": 400, "B": 400, "alpha": 0.0, "beta": 0.3}, "alpha must be positive"),
    ({"E": 1.7, "A": -4, "B": 400, "alpha": 0.3, "beta": 0.3}, "A must be positive"),
    ({"E": -1, "A": 400, "B": 400, "alpha": 0.3, "beta": 0.3}, "E"),
    ({"E": 1.7, "A": 400, "alpha": 0.3, "beta": 0.3}, "missing B"),
    ({"E": "x", "A": 400, "B": 400, "alpha": 0.3, "beta": 0.3}, "E must be a number"),
    ({"law": [1, 2]}, "must be an object"),
    ({"approach": 2, "a": "x"}, "Approach 2"),
    ([1, 2], "JSON object"),
])
def test_bad_law_files_are_one_line(tmp_path, cli, doc, match):
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=match):
        load_law(p)
    assert_one_line_error(cli("loss", "7B", "1T", "--law", str(p)))


def test_an_approach2_file_is_an_allocation_law(law_files, cli):
    law = get_law(law_files[1])
    assert law.can("optimal") and not law.can("loss")
    assert 0.4 < law.a < 0.6  # Chinchilla's Approach 2: a = 0.49 (Hoffmann et al. 2022, Table 2)
    assert cli("optimal", "--compute", "1e24", "--law", law_files[1]).code == 0
    assert_one_line_error(cli("loss", "7B", "1T", "--law", law_files[1]))


def test_public_api():
    # Hoffmann et al. 2022 Eq. 10 at 70B, 15T: 1.8575 (the lecture's "1.86")
    assert sl.loss(70e9, 15e12, law="hoffmann2022").loss == pytest.approx(1.8575, abs=1e-4)
    assert sl.loss("70B", "15T", law="hoffmann2022").loss == pytest.approx(1.8575, abs=1e-4)
    assert sl.optimal(compute=5.76e23).tokens_per_param == pytest.approx(18.39, abs=0.01)
    assert sl.flops(1.7e12, 13e12).flops == pytest.approx(1.326e26)
    assert sl.params("llama-2-7b").total == 6_738_415_616
    assert sl.training_time(1e24, "h100", 1024).days > 0
    assert sl.memory("llama-2-7b", "qlora", gpu="a10").fits
    assert sl.plan(compute=1e24).law == "besiroglu2024"
    assert "kaplan2020" in sl.laws() and "h100-sxm" in sl.accelerators()
    import scalinglab.plan  # noqa: F401  the submodule of the same name does not hide the call
    assert callable(sl.plan) and sl.plan(compute="1e24").n_params > 0
    html = sl.loss(70e9, 15e12)._repr_html_()
    assert "<table>" in html and "<td>1.93</td>" in html  # besiroglu2024 at 70B, 15T: 1.9303


def test_api_json_equals_cli_json(cli):
    pairs = [
        (sl.loss(70e9, 15e12, law="all"), ("loss", "70B", "15T", "--law", "all")),
        (sl.optimal(compute=1e24), ("optimal", "--compute", "1e24")),
        (sl.training_time(1e24, "h100", 64, price=2), ("time", "--flops", "1e24", "--gpu", "h100",
                                                        "--n-gpus", "64", "--price", "2")),
        (sl.memory("llama-2-7b", "infer", gpu="a100", context=4096),
         ("memory", "llama-2-7b", "--mode", "infer", "--gpu", "a100", "--context", "4096")),
        (sl.plan(arch="llama-3-8b", gpu="h100", n_gpus=64, days=14),
         ("plan", "--arch", "llama-3-8b", "--gpu", "h100", "--n-gpus", "64", "--days", "14")),
        (sl.fit(_chinchilla(), bootstrap=0),
         ("fit", "--dataset", "chinchilla", "--bootstrap", "0")),
    ]
    for result, args in pairs:
        assert json.loads(result.to_json()) == cli(*args, "--json").json, args


def _chinchilla():
    from scalinglab.fit.io import dataset

    return dataset("chinchilla")


def test_to_frame():
    pd = pytest.importorskip("pandas")
    frame = sl.loss(70e9, 15e12, law="all").to_frame()  # one row per law, terms flattened
    assert isinstance(frame, pd.DataFrame) and "terms.model" in frame
    assert frame.set_index("law").loc["hoffmann2022", "loss"] == pytest.approx(1.8575, abs=1e-4)
    frame = sl.optimal(compute=1e24).to_frame()
    assert frame["n_params"].iloc[0] == pytest.approx(sl.optimal(compute=1e24).n_params)


def test_import_scalinglab_is_light():
    code = ("import sys, scalinglab; assert scalinglab.__version__\n"
            "print([m for m in ('numpy', 'scipy', 'matplotlib', 'pandas', 'torch') if m in sys.modules])")
    r = run_subprocess(code=code)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stderr


def test_cli_loads_only_the_verb_it_runs():
    code = ("import sys\nfrom scalinglab.cli import main\ntry:\n    main(['loss', '70B', '15T'])\n"
            "except SystemExit: pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('scalinglab.')))")
    r = run_subprocess(code=code)
    loaded = set(eval(r.stdout.strip().splitlines()[-1]))  # noqa: S307 (our own output)
    assert "scalinglab.cli.core" in loaded
    assert not loaded & {"scalinglab.cli.plan", "scalinglab.cli.hardware", "scalinglab.memory",
                         "scalinglab.plan", "scalinglab.architecture", "scalinglab.fit"}


@pytest.mark.parametrize("columns", [None, "40", "60"])
def test_piped_tables_never_cut_a_cell(columns):
    import os

    env = None if columns is None else {"COLUMNS": columns}
    for args in (["plan", "--arch", "llama-3-8b", "--gpu", "h100", "--n-gpus", "64", "--days", "14"],
                 ["loss", "70B", "15T", "--law", "all"], ["gpus"], ["models"]):
        r = run_subprocess(*args, env=env)
        assert r.returncode == 0 and "…" not in r.stdout, (args, columns)
        if columns:
            assert os.environ.get("COLUMNS") != columns  # the test's own environment untouched
