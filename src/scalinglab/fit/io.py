"""Runs to fit: from a CSV, numpy arrays or a pandas DataFrame, with column detection.

A run is (N parameters, D tokens, loss); C = 6ND when no FLOP column is given, D = C/(6N) when
no token column is. The built-in dataset `chinchilla` is Epoch AI's reading of Chinchilla Fig. 4.
"""

import csv
import io
import re
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np

from scalinglab.compute import FLOPS_PER_PARAM_TOKEN, tokens_for_compute
from scalinglab.errors import InputError, unknown
from scalinglab.results import Result, hidden

MIN_POINTS = 5

# role -> accepted column names, compared lower-case with everything but letters and digits removed
ALIASES = {
    "n_params": ("n", "nparams", "params", "parameters", "numparams", "nparameters", "modelsize", "size"),
    "n_tokens": ("d", "ntokens", "tokens", "numtokens", "trainingtokens", "datasize", "data"),
    "flops": ("c", "flops", "flop", "compute", "trainingflop", "trainingflops", "trainingcompute"),
    "loss": ("loss", "l", "valloss", "evalloss", "validationloss", "testloss", "finalloss"),
}
LABELS = {"n_params": "parameters (N)", "n_tokens": "tokens (D)", "flops": "FLOP (C)", "loss": "loss"}
# a training loss is used only when no held-out loss column (ALIASES["loss"]) is there
TRAIN_LOSS = ("trainloss", "trainingloss", "trloss")
# tokens and FLOP both given: C = 6ND within this share, else a warning says which was used
FLOP_TOLERANCE = 0.03
# cross-entropy in nats/token of a language model: above this it looks like a perplexity
MAX_LOSS = 10.0

DATASETS = {
    "chinchilla": dict(
        file="chinchilla_isoflop_epoch.csv", drop_highest=5,
        source="Epoch AI: Chinchilla (Hoffmann et al. 2022) Fig. 4 points, digitised by Besiroglu "
               "et al. 2024 (arXiv:2404.10102), CC BY 4.0",
        # the nine isoFLOP budgets of Hoffmann et al. 2022 Fig. 3, for Approach 2
        budgets=(6e18, 1e19, 3e19, 6e19, 1e20, 3e20, 6e20, 1e21, 3e21),
    ),
}


@dataclass(frozen=True)
class Runs(Result):
    """Training runs: parameters, tokens, FLOP and final loss, one entry per run."""

    n_params: np.ndarray = hidden()
    n_tokens: np.ndarray = hidden()
    flops: np.ndarray = hidden()
    loss: np.ndarray = hidden()
    source: str = "arrays"
    dropped: int = 0
    budgets: tuple = hidden(default=())
    columns: dict = field(default_factory=dict)  # role -> the column it came from
    notes: tuple = ()  # how the columns were read (which loss column was preferred)
    warnings: tuple = ()  # what in the data looks wrong (6ND disagreement, perplexities)

    _derived = ("n_points",)

    def __len__(self) -> int:
        return len(self.loss)

    @property
    def n_points(self) -> int:
        return len(self)

    @property
    def columns_used(self) -> str:
        """Which column played which role: "N 'params', D 'tokens', loss 'val_loss'"."""
        short = {"n_params": "N", "n_tokens": "D", "flops": "C", "loss": "loss"}
        return ", ".join(f"{short[role]} {col!r}" for role, col in self.columns.items())


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _values(column, name: str) -> np.ndarray:
    """A column as floats; every value must be a positive finite number."""
    from scalinglab.units import parse_number

    out = []
    for i, v in enumerate(column):
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            out.append(parse_number(v, f"column {name!r} row {i + 1}"))
    x = np.asarray(out, dtype=float)
    bad = np.flatnonzero(~np.isfinite(x) | (x <= 0))
    if bad.size:
        i = int(bad[0])
        raise InputError(f"column {name!r} row {i + 1}: {column[i]!r} is not a positive finite "
                         f"number ({bad.size} such value(s))")
    return x


def _pick(header, role: str, given: str | None) -> str | None:
    """The column that plays `role`: the one named, or the single one whose name is an alias."""
    if given is not None:
        if given not in header:
            raise unknown(f"column for {LABELS[role]}", given, header)
        return given
    hits = [h for h in header if _norm(h) in ALIASES[role]]
    if len(hits) > 1:
        raise InputError(f"ambiguous columns for {LABELS[role]}: {', '.join(map(repr, hits))}; "
                         f"name one (e.g. --{role.split('_')[-1]}-col {hits[0]!r})")
    return hits[0] if hits else None


def from_columns(columns: dict, source: str = "columns", names: dict | None = None,
                 min_points: int = MIN_POINTS) -> Runs:
    """Runs from {column name: values}; `names` maps a role (n_params, n_tokens, flops, loss) to a
    column name when detection by name is not enough. Fewer than `min_points` rows is an error."""
    names = names or {}
    bad = set(names) - set(ALIASES)
    if bad:
        raise unknown("column role", sorted(bad)[0], ALIASES)
    header = list(columns)
    cols = {role: _pick(header, role, names.get(role)) for role in ALIASES}
    notes = []
    train = [h for h in header if _norm(h) in TRAIN_LOSS]
    if "loss" not in names and train:
        if cols["loss"] is not None:
            notes.append(f"loss: {cols['loss']!r} preferred over {train[0]!r} (a held-out loss "
                         f"measures what the law predicts; --loss-col {train[0]!r} to fit the "
                         "training loss)")
        elif len(train) == 1:
            cols["loss"] = train[0]
            notes.append(f"loss: {train[0]!r}, a training loss (no validation loss column)")
    for role in ("n_params", "loss"):
        if cols[role] is None:
            raise InputError(f"no column for {LABELS[role]} in {source}: expected one of "
                             f"{', '.join(ALIASES[role][:4])} (columns: {', '.join(header)})")
    if cols["n_tokens"] is None and cols["flops"] is None:
        raise InputError(f"no column for tokens (D) or FLOP (C) in {source}: expected one of D, "
                         f"tokens, n_tokens, C, flops (columns: {', '.join(header)})")
    v = {role: _values(list(columns[c]), c) for role, c in cols.items() if c is not None}
    n = v["n_params"]
    d = v["n_tokens"] if "n_tokens" in v else tokens_for_compute(v["flops"], n)
    c = v["flops"] if "flops" in v else FLOPS_PER_PARAM_TOKEN * n * d
    used = {role: col for role, col in cols.items() if col is not None}
    if "n_tokens" not in v:
        notes.append(f"tokens: D = C / 6N from {cols['flops']!r}")
    elif "flops" not in v:
        notes.append(f"FLOP: C = 6ND from {cols['n_tokens']!r}")
    runs = Runs(n, d, c, v["loss"], source, columns=used, notes=tuple(notes),
                warnings=data_warnings(n, v.get("n_tokens"), v.get("flops"), v["loss"], cols))
    return _check(runs, min_points)


def data_warnings(n, d, c, loss, cols: dict) -> tuple:
    """What looks wrong in runs: tokens and FLOP that disagree with C = 6ND by more than
    FLOP_TOLERANCE (and which each fit uses), losses above MAX_LOSS (perplexities?)."""
    out = []
    if d is not None and c is not None:
        off = np.abs(c / (FLOPS_PER_PARAM_TOKEN * n * d) - 1)
        bad = off > FLOP_TOLERANCE
        if bad.any():
            out.append(f"{int(bad.sum())} of {len(off)} runs have {cols['flops']!r} off C = 6ND of "
                       f"{cols['n_params']!r} and {cols['n_tokens']!r} by more than "
                       f"{FLOP_TOLERANCE:.0%} (up to {float(off.max()):.1%}): Approach 3 fits N and "
                       f"D from {cols['n_tokens']!r}; Approach 2 groups budgets by "
                       f"{cols['flops']!r}")
    high = loss > MAX_LOSS
    if high.any():
        out.append(f"{int(high.sum())} of {len(loss)} losses in {cols['loss']!r} are above "
                   f"{MAX_LOSS:g} (up to {float(loss.max()):.4g}): is it a perplexity? The laws "
                   "take cross-entropy in nats/token (log of the perplexity)")
    return tuple(out)


def _check(runs: Runs, min_points: int = MIN_POINTS) -> Runs:
    if len(runs) < min_points:
        raise InputError(f"need at least {min_points} runs to fit a law, got {len(runs)} "
                         f"(from {runs.source})")
    return runs


def from_arrays(n_params, loss, n_tokens=None, flops=None, source: str = "arrays") -> Runs:
    """Runs from numpy arrays (give n_tokens or flops, or both)."""
    cols = {"n_params": np.ravel(n_params), "loss": np.ravel(loss)}
    if n_tokens is not None:
        cols["n_tokens"] = np.ravel(n_tokens)
    if flops is not None:
        cols["flops"] = np.ravel(flops)
    if len({len(x) for x in cols.values()}) > 1:
        raise InputError(f"arrays differ in length: {', '.join(f'{k}={len(x)}' for k, x in cols.items())}")
    names = {k: k for k in cols}
    return from_columns(cols, source, names)


def read_csv(path, names: dict | None = None, min_points: int = MIN_POINTS) -> Runs:
    """Runs from a CSV file with a header row."""
    p = Path(path)
    try:
        with p.open(newline="") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        raise InputError(f"CSV file {str(p)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read CSV file {str(p)!r} ({e})") from None
    return _from_rows(rows, p.name, names, min_points)


def parse_csv(text: str, name: str = "runs.csv", names: dict | None = None,
              min_points: int = MIN_POINTS) -> Runs:
    """Runs from the text of a CSV file (an upload) called `name`, as read_csv reads the file."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as e:
        raise InputError(f"CSV file {name!r} is not valid CSV ({e})") from None
    return _from_rows(rows, name, names, min_points)


def _from_rows(rows: list, name: str, names: dict | None, min_points: int) -> Runs:
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise InputError(f"CSV file {name!r} is empty")
    header = [h.strip() for h in rows[0]]
    if len(set(header)) < len(header):
        raise InputError(f"CSV file {name!r} repeats a column name in its header")
    body = rows[1:]
    short = [i for i, r in enumerate(body) if len(r) != len(header)]
    if short:
        raise InputError(f"CSV file {name!r} row {short[0] + 1} has {len(body[short[0]])} "
                         f"fields, the header has {len(header)}")
    columns = {h: [r[j].strip() for r in body] for j, h in enumerate(header)}
    return from_columns(columns, name, names, min_points)


def load_runs(data, names: dict | None = None) -> Runs:
    """Runs from a CSV path, an open text file (its .name names it), a pandas DataFrame, a
    {column: values} dict, or Runs itself."""
    if isinstance(data, Runs):
        return data
    if hasattr(data, "read"):
        return parse_csv(data.read(), Path(getattr(data, "name", "runs.csv")).name, names)
    if isinstance(data, (str, Path)):
        return read_csv(data, names)
    if hasattr(data, "columns") and hasattr(data, "__getitem__"):  # a pandas DataFrame
        return from_columns({str(c): np.asarray(data[c]) for c in data.columns}, "DataFrame", names)
    if isinstance(data, dict):
        return from_columns(data, "columns", names)
    raise InputError(f"cannot read runs from a {type(data).__name__}; give a CSV path, a "
                     f"DataFrame or a dict of columns")


def drop_highest(runs: Runs, k: int) -> Runs:
    """The outlier rule Epoch AI used: drop the k runs with the highest loss."""
    if k < 0:
        raise InputError(f"--drop-highest must be >= 0, got {k}")
    if k == 0:
        return runs
    if k >= len(runs):
        raise InputError(f"cannot drop the {k} highest-loss runs of {len(runs)}")
    keep = np.sort(np.argsort(runs.loss, kind="stable")[: len(runs) - k])
    return _check(replace(runs, n_params=runs.n_params[keep], n_tokens=runs.n_tokens[keep],
                          flops=runs.flops[keep], loss=runs.loss[keep], dropped=runs.dropped + k))


def dataset(name: str, drop: int | None = None) -> Runs:
    """A built-in dataset by name (`chinchilla`), with its published outlier rule."""
    spec = DATASETS.get(str(name).lower())
    if spec is None:
        raise unknown("dataset", name, DATASETS)
    path = resources.files("scalinglab") / "data" / spec["file"]
    with resources.as_file(path) as p:
        runs = read_csv(p)
    runs = replace(runs, source=spec["source"], budgets=spec["budgets"])
    return drop_highest(runs, spec["drop_highest"] if drop is None else drop)
