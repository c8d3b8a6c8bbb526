"""The lab without torch: planning a ladder, its TOML, the runs/ store, fitting synthetic runs of a
known law, and one-line errors. Training is in test_lab_train.py."""

import json
import math
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import assert_one_line_error, heavy_imports_after
from scalinglab.architecture import count_params
from scalinglab.architecture.flops import flops_per_token
from scalinglab.errors import InputError
from scalinglab.lab import data, ladder
from scalinglab.lab.store import open_store, write_csv
from scalinglab.lab.train import RunResult
from scalinglab.laws import get_law

TINY = dict(head_dim=4, seq_len=32, aspect=8.0, eval_tokens=2048, batch_anchor_tokens=8192.0)


@pytest.fixture(scope="module")
def default():
    return ladder.plan()


def test_default_ladder_spans_5_to_300_tokens_per_param(default):
    assert len(default.budgets) >= 3 and len(default.rungs) >= 15
    for c in default.budgets:
        rs = [r for r in default.rungs if r.budget == c]
        assert len(rs) == 5
        tpp = [r.tokens_per_param for r in rs]
        # span 7.75 = sqrt(300/5) around the law's optimum; discrete shapes move the ends (at
        # 5e11 the narrowest allowed model, d_model 32, caps it at 140)
        assert 2 < min(tpp) < 8 and 100 < max(tpp) < 400, tpp
        for r in rs:  # a whole number of steps: within 1/(2 x steps) of the budget
            assert abs(r.flops / c - 1) <= 0.5 / r.steps + 1e-12


def test_rungs_count_with_architecture(default):
    law = get_law(default.rules.law)
    for r in default.rungs:
        spec = r.spec
        assert r.n_params == count_params(spec).total  # N with the tied head, once
        assert r.flops_per_token == flops_per_token(spec, "palm", r.seq_len).training
        assert r.n_heads * default.rules.head_dim == r.d_model
        assert 16 <= r.d_model / r.n_layers <= 256  # within 4x of the aspect ratio 64
    assert default.centres == tuple(float(law.optimal(c).n_params) for c in default.budgets)


def test_hyperparameter_rules_follow_their_power_laws(default):
    rules = default.rules
    for r in default.rungs:
        scale = r.n_params / rules.anchor_params
        assert r.lr == pytest.approx(rules.lr_anchor * scale ** (-1 / 3))
        want = rules.batch_anchor_tokens * scale ** (2 / 3)
        assert abs(r.batch_tokens - want) <= r.seq_len / 2 + 1e-9  # whole sequences
        assert r.warmup_steps == math.ceil(r.n_params / r.batch_tokens)  # ~N tokens of warmup
        assert r.micro_batch == min(r.batch_size, 8192 // r.seq_len)
        assert (r.beta2, r.schedule) == (0.99, "cosine")


def test_toml_round_trip_and_edits_change_the_hash(default):
    text = ladder.to_toml(default)
    back = ladder.from_toml(text)
    assert back.hash == default.hash and back.rungs == default.rungs
    edited = ladder.from_toml(text.replace(f"lr_anchor = {default.rules.lr_anchor!r}",
                                           "lr_anchor = 0.002"))
    assert edited.hash != default.hash and edited.rungs[0].lr < default.rungs[0].lr
    one = text.replace("[[rung]]\n", "[[rung]]\nlr = 0.01\n", 1)
    r0 = ladder.from_toml(one).rungs[0]
    assert r0.lr == 0.01 and r0.key != default.rungs[0].key


@settings(max_examples=60, deadline=None)
@given(steps=st.integers(20, 5000), warm=st.floats(0, 0.5), lo=st.floats(0, 0.9),
       schedule=st.sampled_from(ladder.SCHEDULES))
def test_schedule_warms_up_then_decays_to_its_floor(default, steps, warm, lo, schedule):
    from dataclasses import replace

    r = replace(default.rungs[0], steps=steps, warmup_steps=int(warm * steps),
                final_lr_fraction=lo, schedule=schedule)
    lr = r.lr_at(np.arange(steps))
    assert np.all(lr[:-1] > 0) and np.all(lr >= 0) and np.all(lr <= r.lr * (1 + 1e-12))
    after = lr[r.warmup_steps:]
    assert np.all(np.diff(after) <= 1e-15)  # never rises after the warmup
    assert lr[-1] == pytest.approx(lo * r.lr, abs=1e-12)
    if r.warmup_steps > 1:
        assert np.all(np.diff(lr[:r.warmup_steps]) > 0)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 5000))
def test_split_holds_out_every_twentieth_block(n):
    raw = np.arange(n, dtype=np.int64).astype(np.uint8)
    train, held = data.split(raw)
    assert train.size + held.size == n
    assert held.size <= n // 20 + max(1, n // 40)
    assert np.array_equal(np.sort(np.concatenate([train, held])), np.sort(raw))


def test_stdlib_corpus_is_found_hashed_and_split():
    c = data.load_corpus("stdlib")
    assert c.n_files > 100 and c.n_bytes > 1_000_000 and len(c.sha256) == 64
    assert c.n_heldout / c.n_bytes == pytest.approx(1 / 20, abs=0.003)
    s = data.batch_starts(c.n_train, 128, 64, seed=0, step=7)
    assert np.array_equal(s, data.batch_starts(c.n_train, 128, 64, seed=0, step=7))
    assert s.min() >= 0 and s.max() <= c.n_train - 129


def test_user_corpus_folder(tmp_path):
    (tmp_path / "a.txt").write_text("hello world\n" * 400)
    (tmp_path / "b.bin").write_bytes(b"\0\1\2" * 10)
    (tmp_path / ".hidden").write_text("secret")
    c = data.load_corpus(str(tmp_path))
    assert (c.n_files, c.n_skipped, c.n_bytes) == (1, 1, 4800)


def test_bad_input_is_one_line(cli, tmp_path):
    assert_one_line_error(r := cli("lab", "plan", "--budgets", "1e6"))
    assert "too small" in r.err
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "x.txt").write_text("")
    assert_one_line_error(r := cli("lab", "plan", "--corpus", str(tmp_path / "empty")))
    assert "empty" in r.err
    assert_one_line_error(cli("lab", "plan", "--corpus", str(tmp_path / "nope")))
    assert_one_line_error(r := cli("lab", "plan", "--set", "seq_lenn=64"))
    assert "seq_len" in r.err
    toml = tmp_path / "l.toml"
    assert cli("lab", "plan", "--budgets", "2e9", "-o", toml, *_tiny_args()).code == 0
    toml.write_text(toml.read_text().replace("[rules]\n", "[rules]\nlearning_rate = 1\n"))
    assert_one_line_error(r := cli("lab", "run", toml, "-o", tmp_path / "runs"))
    assert "learning_rate" in r.err and "did you mean" in r.err
    assert_one_line_error(cli("lab", "run", tmp_path / "missing.toml", "-o", tmp_path / "r"))
    assert_one_line_error(cli("lab", "fit", tmp_path))


def _tiny_args():
    return [x for k, v in TINY.items() for x in ("--set", f"{k}={v}")]


def test_runs_folder_is_bound_to_its_ladder(tmp_path, cli):
    a = ladder.plan((1e9, 2e9), **TINY)
    b = ladder.plan((1e9, 2e9), seed=1, **TINY)
    open_store(tmp_path / "runs", a)
    open_store(tmp_path / "runs", a)  # the same ladder again: fine
    with pytest.raises(InputError, match="different ladder"):
        open_store(tmp_path / "runs", b)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x").write_text("x")
    with pytest.raises(InputError, match="not a lab runs folder"):
        open_store(tmp_path / "other", a)
    toml = tmp_path / "b.toml"
    toml.write_text(ladder.to_toml(b))
    assert_one_line_error(r := cli("lab", "run", toml, "-o", tmp_path / "runs"))
    assert "different ladder" in r.err


def synthetic(rung, loss, **kw) -> RunResult:
    """A RunResult as train_rung would return it, with a given held-out loss."""
    base = dict(rung=rung.id, rung_key=rung.key, budget=rung.budget, n_params=rung.n_params,
                n_tokens=rung.n_tokens, flops=rung.flops, flops_convention=rung.flops_convention,
                d_model=rung.d_model, n_layers=rung.n_layers, n_heads=rung.n_heads,
                seq_len=rung.seq_len, batch_size=rung.batch_size, steps=rung.steps, lr=rung.lr,
                seed=rung.seed, train_loss=loss, heldout_loss=loss, eval_tokens=2048,
                wall_seconds=1.0, train_seconds=1.0, tokens_per_second=rung.n_tokens,
                achieved_flops=rung.flops, peak_flops=2 * rung.flops, peak_source="test",
                device="cpu", device_name="test", dtype="fp32", threads=1, threads_source="test",
                memory_bytes=1e6, memory_method="test", memory={"weights": 1e6},
                memory_estimate_bytes=1e6, memory_estimate={"weights": 1e6}, resumed_from_step=0,
                torch_version="none", loss_curve=((0, 5.0), (1, loss)))
    return RunResult(**{**base, **kw})


def test_store_detects_corrupt_and_partial_results(tmp_path):
    lad = ladder.plan((1e9, 2e9), **TINY)
    store = open_store(tmp_path / "runs", lad)
    r0 = lad.rungs[0]
    res = synthetic(r0, 3.0)
    p = store.write(res)
    assert store.read(r0) == (res, "done")
    doc = json.loads(p.read_text())
    doc["result"]["heldout_loss"] = 2.0  # tampered: the checksum no longer matches
    p.write_text(json.dumps(doc))
    got, status = store.read(r0)
    assert got is None and "checksum" in status and (p.parent / (p.name + ".corrupt")).exists()
    store.write(res)
    p.write_text(p.read_text()[: len(p.read_text()) // 2])  # a partial write
    got, status = store.read(r0)
    assert got is None and "not valid JSON" in status and not p.exists()


def _law_ladder():
    """A ladder whose 'runs' follow a known law exactly (plus small noise): lab fit must find it
    and predict the held-out budget."""
    from dataclasses import replace

    lad = ladder.plan((1e12, 2e12, 4e12, 8e12))
    epoch = get_law("besiroglu2024")  # A and B scaled alike keep its optimum (G), E lowered:
    law = replace(epoch, A=epoch.A / 20, B=epoch.B / 20, E=0.8)  # losses of a byte-level model
    rng = np.random.default_rng(0)
    return lad, law, [synthetic(r, float(law.loss(r.n_params, r.n_tokens)
                                         * (1 + 0.002 * rng.standard_normal())))
                      for r in lad.rungs]


@pytest.fixture
def law_runs(tmp_path):
    """(runs folder, law, results): the synthetic ladder written as `lab run` would."""
    pytest.importorskip("scipy")
    lad, law, results = _law_ladder()
    store = open_store(tmp_path / "runs", lad)
    for r in results:
        store.write(r)
    return tmp_path / "runs", law, results


def test_lab_fit_recovers_a_known_law_and_predicts_the_held_out_budget(law_runs):
    from scalinglab.lab.report import fit_runs

    runs, law, results = law_runs
    res = fit_runs(runs, n_boot=200, figures=False)
    a3 = res.approach3
    assert a3["a"] == pytest.approx(law.a, abs=0.08)
    assert a3["ci"]["a"][0] < law.a < a3["ci"]["a"][1]
    h = res.holdout
    assert h["available"] and abs(h["best_loss"]["error"]) < 0.01
    assert h["best_loss"]["inside_interval"]
    assert 0.7 < h["n_opt"]["ratio"] < 1.4
    assert all(b["interior"] for b in res.budgets)  # the law's optimum sits mid-grid
    assert res.approach2["available"] and 0.3 < res.approach2["a"] < 0.7
    rows = list((runs / "runs.csv").read_text().splitlines())
    assert len(rows) == len(results) + 1 and rows[0].startswith("rung,budget,n_params,n_tokens")


def test_runs_csv_round_trips_into_scalinglab_fit(law_runs, cli):
    from scalinglab.lab.report import fit_runs

    runs, _, results = law_runs
    res = fit_runs(runs, n_boot=0, figures=False)
    out = cli("fit", runs / "runs.csv", "--bootstrap", "0", "--json")
    assert out.code == 0, out.err
    assert out.json["params"] == pytest.approx(res.approach3["params"], rel=1e-9)
    assert out.json["data"]["n_points"] == len(results)
    two = cli("fit", runs / "runs.csv", "--approach", "2", "--budgets",
              "1e12,2e12,4e12,8e12", "--json").json
    assert two["a"] == pytest.approx(res.approach2["a"], rel=1e-9)  # C read from the flops column


def test_write_csv_columns_are_found_by_fit_io(tmp_path):
    from scalinglab.fit.io import read_csv

    lad, _, results = _law_ladder()
    runs = read_csv(write_csv(results, tmp_path / "runs.csv"))
    assert np.allclose(runs.n_params, [r.n_params for r in results])
    assert np.allclose(runs.flops, [r.flops for r in results])  # not 6ND: the ladder's count
    assert np.allclose(runs.loss, [r.heldout_loss for r in results])


def test_lab_without_torch_names_the_extra(cli, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    toml = tmp_path / "l.toml"
    toml.write_text(ladder.to_toml(ladder.plan((2e9,), **TINY)))
    for args in (("lab", "run", toml, "-o", tmp_path / "runs"), ("lab", "peak")):
        r = cli(*args)
        assert_one_line_error(r)
        assert "scalinglab[lab]" in r.err and "torch" in r.err


def test_plan_imports_no_torch():
    assert "torch" not in heavy_imports_after("lab", "plan", "--budgets", "1e12", "--json")
    assert heavy_imports_after("lab", "--help") == []
