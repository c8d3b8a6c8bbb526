"""Notable language models as data: size, tokens, training FLOP, each row with its source.

The rows live in data/models.csv (mostly Epoch AI's 'All ML Systems' data, CC BY 4.0, plus papers
and model cards). Missing numbers are None, never guessed. `confidence` says how far to trust a row:
reported (the model's own paper or card states the number), estimated (a third party computed it,
e.g. Epoch AI's 6ND) or rumoured (leaks, lectures). `flop_source` names who computed train_flops
and where (the page for a reported number).
"""

import csv
import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

import numpy as np

from scalinglab.compute import FLOPS_PER_PARAM_TOKEN
from scalinglab.errors import InputError, unknown
from scalinglab.results import Result, flat

CONFIDENCE = ("reported", "estimated", "rumoured")


@dataclass(frozen=True)
class Model(Result):
    """One catalogue row. Counts in base units (parameters, tokens, FLOP); None when unknown."""

    name: str
    org: str
    year: int
    n_params: float | None
    active_params: float | None  # MoE: parameters used per token; None for dense models
    n_tokens: float | None
    train_flops: float | None  # as reported/estimated by the source, not 6ND
    arch: str
    source: str
    confidence: str
    notes: str = ""
    flop_source: str = ""  # who computed train_flops, and where
    released: str = ""  # release date, YYYY-MM-DD or YYYY-MM ("" when only the year is known)
    released_source: str = ""  # where the date comes from

    @property
    def release_year(self) -> float:
        """The release as a fractional year (2023-07-18 -> 2023.54); mid-year (year + 0.5) when
        only the year is known."""
        if not self.released:
            return self.year + 0.5
        parts = [int(x) for x in self.released.split("-")]
        month, day = parts[1], parts[2] if len(parts) > 2 else 15
        start = date(parts[0], month, 1)
        days = (date(parts[0] + month // 12, month % 12 + 1, 1) - start).days
        return parts[0] + (month - 1 + (day - 1) / days) / 12

    @property
    def is_moe(self) -> bool:
        return self.active_params is not None

    @property
    def compute_params(self) -> float | None:
        """Parameters that do work per token: active for MoE, all for dense."""
        return self.active_params if self.is_moe else self.n_params

    @property
    def law_params(self) -> float | None:
        """The N every law is given for this model, in `models`, `explain` and the figures: the
        parameters active per token (all of a dense model's)."""
        return self.compute_params

    @property
    def params_counted(self) -> str:
        return "active" if self.is_moe else "total"

    @property
    def moe_note(self) -> str:
        from scalinglab.units import format_count

        return (f"{self.name} is a mixture of experts: N = {format_count(self.active_params)} "
                f"ACTIVE parameters (of {format_count(self.n_params)}) in 6ND, D/N, the optimum "
                "and the loss; "
                "the laws were fitted on dense models, so they are only a rough guide for it")

    @property
    def non_embedding_params(self) -> float | None:
        """Non-embedding parameters (active, for MoE) from the preset of the same name, if any."""
        return _preset_non_embedding().get(_key(self.name))


@cache
def _preset_non_embedding() -> dict:
    """Model key -> active non-embedding parameters, for catalogue rows that have a preset."""
    from scalinglab.architecture import PRESETS, count_params

    out = {}
    for name, spec in PRESETS.items():
        c = count_params(spec)
        out[_key(name)] = float(c.non_embedding - (c.total - c.active))
    return out


def _num(text: str) -> float | None:
    return float(text) if text.strip() else None


def _row(r: dict) -> Model:
    if r["confidence"] not in CONFIDENCE:
        raise ValueError(f"models.csv: {r['name']}: confidence {r['confidence']!r}")
    released = r.get("released", "")
    if released:
        if not re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", released) or released[:4] != r["year"]:
            raise ValueError(f"models.csv: {r['name']}: released {released!r} (YYYY-MM[-DD] "
                             f"in {r['year']})")
        date(*map(int, (released + "-01")[:10].split("-")))  # a real date, or ValueError
    return Model(r["name"], r["org"], int(r["year"]), _num(r["params"]), _num(r["active_params"]),
                 _num(r["tokens"]), _num(r["train_flop"]), r["arch"], r["source"],
                 r["confidence"], r["notes"], r.get("flop_source", ""), released,
                 r.get("released_source", ""))


def _load() -> tuple:
    text = resources.files("scalinglab").joinpath("data/models.csv").read_text(encoding="utf-8")
    return tuple(_row(r) for r in csv.DictReader(text.splitlines()))


MODELS: tuple = _load()


def _key(name: str) -> str:
    """'Llama 3 70B', 'llama-3-70b', 'LLAMA_3_70B' -> 'llama370b'."""
    return re.sub(r"[^a-z0-9.]", "", str(name).lower()).replace(".", "_")


_BY_KEY = {_key(m.name): m for m in MODELS}


def get_model(name: str) -> Model:
    """A model by name, forgiving case and punctuation ('llama-3-70b'); a unique prefix also works
    ('chinchilla'). Unknown or ambiguous names raise InputError with suggestions."""
    key = _key(name)
    if key in _BY_KEY:
        return _BY_KEY[key]
    hits = [m for k, m in _BY_KEY.items() if key and k.startswith(key)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise InputError(f"model {name!r} is ambiguous; did you mean: "
                         f"{', '.join(m.name for m in hits[:8])}?")
    raise unknown("model", name, [m.name for m in MODELS], "`scalinglab models` lists them")


def column(field: str, models=MODELS) -> np.ndarray:
    """One numeric field of many models as a float array, NaN where unknown."""
    if field not in Model.__dataclass_fields__:
        raise unknown("model field", field, Model.__dataclass_fields__)
    return np.array([np.nan if getattr(m, field) is None else getattr(m, field) for m in models],
                    dtype=float)


@dataclass(frozen=True)
class ModelRow(Result):
    """A catalogue model against a law: tokens/param vs the optimum, 6ND vs reported, loss."""

    model: Model = flat()
    tokens_per_param: float | None
    times_optimal: float | None
    optimal_tokens_per_param: float | None
    flops_6nd: float | None
    flops_6nd_over_reported: float | None
    loss: float | None
    law: str
    params_counted: str = "total"  # the N of tokens_per_param, 6ND and loss: "active" for MoE


SORT_KEYS = {"name": "name", "org": "org", "year": "year", "params": "n_params",
             "active": "active_params", "tokens": "n_tokens", "flops": "train_flops",
             "flops-6nd": "flops_6nd", "tokens-per-param": "tokens_per_param",
             "times-optimal": "times_optimal", "loss": "loss", "confidence": "confidence"}


def compare(law=None, models=MODELS, sort: str = "year", reverse: bool = False) -> list:
    """Each model with tokens/param, its multiple of the law's compute-optimal ratio at the same
    6ND compute, 6ND against the reported FLOP, and the law's predicted loss, sorted by `sort`
    (SORT_KEYS; unknown values last, also with reverse).

    Every law is given Model.law_params: active parameters for a mixture of experts (as
    `explain` does; params_counted says which), so D/N, the optimum, 6ND and the loss agree
    across verbs. Anything whose inputs are unknown is None. A law that counts non-embedding
    parameters gets them where the model has a preset (else the total, and a note).
    """
    from scalinglab.laws import DEFAULT_LAW, get_law

    law = get_law(law or DEFAULT_LAW)
    if str(sort).lower() not in SORT_KEYS:
        raise unknown("sort key", sort, SORT_KEYS)
    n = np.array([np.nan if m.law_params is None else m.law_params for m in models])
    d = column("n_tokens", models)
    flops = FLOPS_PER_PARAM_TOKEN * n * d
    known = ~np.isnan(flops)
    opt_tpp, loss = np.full(len(models), np.nan), np.full(len(models), np.nan)
    if known.any():
        opt_tpp[known] = law.optimal(flops[known]).tokens_per_param
        if law.can("loss"):
            counted = np.array([law.params_for(m.law_params, m.non_embedding_params)[0]
                                if ok else np.nan for m, ok in zip(models, known)])
            loss[known] = law.loss(counted[known], d[known])
    tpp = d / n
    cols = (tpp, tpp / opt_tpp, opt_tpp, flops, flops / column("train_flops", models), loss)
    rows = [ModelRow(m, *(_none(c[i]) for c in cols), law.id, m.params_counted)
            for i, m in enumerate(models)]
    key = SORT_KEYS[str(sort).lower()]
    value = (lambda r: getattr(r.model, key)) if key in Model.__dataclass_fields__ else \
        (lambda r: getattr(r, key))
    rows.sort(key=lambda r: (value(r) is None, value(r) if value(r) is not None else 0))
    if reverse:
        known = [r for r in rows if value(r) is not None][::-1]
        rows = known + [r for r in rows if value(r) is None]
    return rows


def _none(x) -> float | None:
    return None if np.isnan(x) else float(x)
