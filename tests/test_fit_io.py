"""Reading runs: CSV column detection, arrays, DataFrames, the outlier rule, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalinglab.errors import InputError
from scalinglab.fit import io
from scalinglab.fit.isoflop import group_budgets


def _write(tmp_path, header, rows, name="runs.csv"):
    p = tmp_path / name
    p.write_text("\n".join([",".join(header)] + [",".join(map(str, r)) for r in rows]) + "\n")
    return p


ROWS = [(1e8, 2e9, 3.1), (2e8, 4e9, 2.9), (4e8, 8e9, 2.7), (8e8, 1.6e10, 2.6), (1.6e9, 3.2e10, 2.5)]


@pytest.mark.parametrize("header", [("N", "D", "loss"), ("params", "tokens", "loss"),
                                    ("n_params", "n_tokens", "val_loss"),
                                    ("Model Size", "Training Tokens", "Loss")])
def test_columns_detected_by_name(tmp_path, header):
    runs = io.read_csv(_write(tmp_path, header, ROWS))
    assert np.allclose(runs.n_params, [r[0] for r in ROWS])
    assert np.allclose(runs.flops, 6 * runs.n_params * runs.n_tokens)  # C = 6ND


def test_tokens_derived_from_flops(tmp_path):
    rows = [(n, 6 * n * d, lo) for n, d, lo in ROWS]
    runs = io.read_csv(_write(tmp_path, ("params", "flops", "loss"), rows))
    assert np.allclose(runs.n_tokens, [r[1] for r in ROWS])


def test_suffixed_numbers_are_read(tmp_path):
    rows = [("100M", "2B", 3.1), ("200M", "4B", 2.9), ("400M", "8B", 2.7), ("800M", "16B", 2.6),
            ("1.6B", "32B", 2.5)]
    runs = io.read_csv(_write(tmp_path, ("N", "D", "loss"), rows))
    assert runs.n_params[-1] == 1.6e9 and runs.n_tokens[0] == 2e9


def test_names_override_detection(tmp_path):
    p = _write(tmp_path, ("size", "toks", "l1", "l2"), [r + (r[2] + 1,) for r in ROWS])
    with pytest.raises(InputError, match="no column"):
        io.read_csv(p)
    runs = io.read_csv(p, {"n_tokens": "toks", "loss": "l2"})
    assert runs.loss[0] == pytest.approx(4.1)


@pytest.mark.parametrize("header,rows,match", [
    (("N", "D", "loss"), ROWS[:4], "at least 5"),
    (("N", "D", "loss"), ROWS[:4] + [(1e9, 2e10, "nan")], "row 5"),
    (("N", "D", "loss"), ROWS[:4] + [(-1e9, 2e10, 2.0)], "positive"),
    (("N", "D", "loss"), ROWS[:4] + [(1e9, 0, 2.0)], "positive"),
    (("N", "D", "loss"), ROWS[:4] + [(1e9, "", 2.0)], "cannot read"),
    (("N", "D", "score"), ROWS, "no column for loss"),
    (("N", "x", "loss"), ROWS, "tokens"),
    (("N", "params", "D", "loss"), [(r[0], r[0]) + r[1:] for r in ROWS], "ambiguous"),
    (("N", "D", "loss", "val_loss"), [r + (r[2],) for r in ROWS], "ambiguous"),
])
def test_bad_csv_is_an_input_error_naming_the_problem(tmp_path, header, rows, match):
    with pytest.raises(InputError, match=match):
        io.read_csv(_write(tmp_path, header, rows))


def test_missing_file_and_unknown_dataset(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        io.read_csv(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="chinchilla"):
        io.dataset("chinchila")


def test_drop_highest_is_epochs_outlier_rule():
    runs = io.from_arrays(np.arange(1, 9) * 1e8, [3, 9, 2, 8, 2.5, 2.4, 2.3, 2.2], n_tokens=np.full(8, 1e10))
    kept = io.drop_highest(runs, 2)
    assert len(kept) == 6 and kept.dropped == 2 and kept.loss.max() == 3
    with pytest.raises(InputError, match="at least 5"):
        io.drop_highest(runs, 4)


def test_dict_and_dataframe_inputs():
    cols = {"N": [r[0] for r in ROWS], "D": [r[1] for r in ROWS], "loss": [r[2] for r in ROWS]}
    assert len(io.load_runs(cols)) == 5
    pd = pytest.importorskip("pandas")
    assert np.allclose(io.load_runs(pd.DataFrame(cols)).loss, cols["loss"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(1e6, 1e12), st.floats(1e8, 1e13), st.floats(1.5, 6.0)),
                min_size=5, max_size=30))
def test_from_arrays_round_trip(rows):
    n, d, lo = map(np.array, zip(*rows))
    runs = io.from_arrays(n, lo, n_tokens=d)
    assert np.array_equal(runs.n_params, n) and np.array_equal(runs.loss, lo)
    assert np.allclose(runs.flops, 6 * n * d)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(17, 24), min_size=1, max_size=8, unique=True),
       st.integers(1, 5))
def test_group_budgets_puts_equal_flops_together(exponents, reps):
    budgets = 10.0 ** np.round(np.array(exponents), 1)
    budgets = np.unique(budgets)
    flops = np.repeat(budgets, reps) * (1 + 1e-3 * np.tile(np.arange(reps), len(budgets)))
    labels, centres = group_budgets(flops)
    assert len(centres) == len(budgets)
    assert all(len(set(labels[i * reps:(i + 1) * reps])) == 1 for i in range(len(budgets)))


# --- issue 14, item 3: fit says what it used and what looks wrong --------------------------------

def test_columns_recorded_and_val_loss_preferred(tmp_path, cli):
    rows = [(n, d, 10 * lo, lo) for n, d, lo in ROWS]
    path = _write(tmp_path, ("params", "tokens", "train_loss", "val_loss"), rows)
    runs = io.read_csv(path)
    assert runs.columns == {"n_params": "params", "n_tokens": "tokens", "loss": "val_loss"}
    assert np.allclose(runs.loss, [r[2] for r in ROWS])  # the validation losses
    assert any("'val_loss' preferred over 'train_loss'" in n for n in runs.notes)
    r = cli("fit", path, "--bootstrap", "0", "--json")
    d = r.json
    assert d["data"]["columns"]["loss"] == "val_loss" and d["data"]["notes"] == list(runs.notes)
    out = cli("fit", path, "--bootstrap", "0").out
    assert "columns N 'params', D 'tokens', loss 'val_loss'" in out and "preferred over" in out
    # only a training loss: used, and said so
    only = io.read_csv(_write(tmp_path, ("N", "D", "train_loss"), ROWS, "train.csv"))
    assert only.columns["loss"] == "train_loss" and "a training loss" in only.notes[0]
    # named explicitly: no note, the user chose
    named = io.read_csv(path, {"loss": "train_loss"})
    assert np.allclose(named.loss, [10 * r[2] for r in ROWS]) and not any("preferred" in n for n in named.notes)


def test_tokens_and_flops_that_disagree_with_6nd_are_a_warning(tmp_path, cli):
    # 6ND of the first run is 6 x 1e8 x 2e9 = 1.2e18; a FLOP column 10% above it (an
    # attention-inclusive count, say) is noticed, and the warning says which column each fit uses
    rows = [(n, d, 6 * n * d * (1.10 if i == 0 else 1.01), lo) for i, (n, d, lo) in enumerate(ROWS)]
    runs = io.read_csv(_write(tmp_path, ("N", "D", "C", "loss"), rows))
    assert len(runs.warnings) == 1
    w = runs.warnings[0]
    assert w.startswith("1 of 5 runs") and "up to 10.0%" in w and "Approach 3 fits N and D from 'D'" in w
    assert np.allclose(runs.n_tokens, [r[1] for r in ROWS]) and np.allclose(runs.flops, [r[2] for r in rows])
    within = [(n, d, 6 * n * d * 1.02, lo) for n, d, lo in ROWS]  # 2%: within the tolerance
    assert io.read_csv(_write(tmp_path, ("N", "D", "C", "loss"), within, "ok.csv")).warnings == ()
    assert io.FLOP_TOLERANCE == 0.03


def test_losses_that_look_like_perplexities_are_a_warning(tmp_path, cli):
    # perplexities exp(L) of besiroglu2024's losses (Besiroglu et al. 2024, Table 1) on a 3 x 3
    # grid: 39.5 at 100M on 1B tokens is a loss of ln 39.5 = 3.68 nats, which the laws take
    from scalinglab.laws import get_law

    law = get_law("besiroglu2024")
    rows = [(n, n * k, round(float(np.exp(law.loss(n, n * k))), 4))
            for n in (1e8, 3e8, 1e9) for k in (10, 20, 40)]
    assert rows[0][2] == pytest.approx(39.52, abs=0.01)
    path = _write(tmp_path, ("N", "D", "loss"), rows)
    runs = io.read_csv(path)
    assert len(runs.warnings) == 1 and "9 of 9 losses" in runs.warnings[0]
    assert "perplexity" in runs.warnings[0] and "up to 39.52" in runs.warnings[0]
    assert io.read_csv(_write(tmp_path, ("N", "D", "loss"), ROWS, "nats.csv")).warnings == ()
    r = cli("fit", path, "--bootstrap", "0")
    assert r.code == 0 and "warning: 9 of 9 losses in 'loss' are above 10" in r.out
    assert cli("fit", path, "--bootstrap", "0", "--json").json["warnings"] == list(runs.warnings)
