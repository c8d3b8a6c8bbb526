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
