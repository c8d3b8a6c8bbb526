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

    @property
    def is_moe(self) -> bool:
        return self.active_params is not None

    @property
    def compute_params(self) -> float | None:
        """Parameters that do work per token: active for MoE, all for dense."""
        return self.active_params if self.is_moe else self.n_params

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
    return Model(r["name"], r["org"], int(r["year"]), _num(r["params"]), _num(r["active_params"]),
                 _num(r["tokens"]), _num(r["train_flop"]), r["arch"], r["source"],
                 r["confidence"], r["notes"], r.get("flop_source", ""))


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
    raise unknown("model", name, [m.name for m in MODELS])


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


SORT_KEYS = {"name": "name", "org": "org", "year": "year", "params": "n_params",
             "active": "active_params", "tokens": "n_tokens", "flops": "train_flops",
             "flops-6nd": "flops_6nd", "tokens-per-param": "tokens_per_param",
             "times-optimal": "times_optimal", "loss": "loss", "confidence": "confidence"}


def compare(law=None, models=MODELS, sort: str = "year", reverse: bool = False) -> list:
    """Each model with tokens/param, its multiple of the law's compute-optimal ratio at the same
    6ND compute, 6ND against the reported FLOP, and the law's predicted loss, sorted by `sort`
    (SORT_KEYS; unknown values last, also with reverse).

    MoE rows use active parameters for 6ND; dense laws say nothing about MoE loss or optimum, so
    those two are None there (as is anything whose inputs are unknown). A law that counts
    non-embedding parameters gets them where the model has a preset (else the total, and a note).
    """
    from scalinglab.laws import DEFAULT_LAW, get_law

    law = get_law(law or DEFAULT_LAW)
    if str(sort).lower() not in SORT_KEYS:
        raise unknown("sort key", sort, SORT_KEYS)
    n, d = column("n_params", models), column("n_tokens", models)
    active = column("active_params", models)
    moe = ~np.isnan(active)
    flops = FLOPS_PER_PARAM_TOKEN * np.where(moe, active, n) * d
    dense = ~moe & ~np.isnan(flops)
    opt_tpp, loss = np.full(len(models), np.nan), np.full(len(models), np.nan)
    if dense.any():
        opt_tpp[dense] = law.optimal(flops[dense]).tokens_per_param
        if law.can("loss"):
            counted = np.array([law.params_for(m.n_params, m.non_embedding_params)[0]
                                if ok else np.nan for m, ok in zip(models, dense)])
            loss[dense] = law.loss(counted[dense], d[dense])
    tpp = d / n
    cols = (tpp, tpp / opt_tpp, opt_tpp, flops, flops / column("train_flops", models), loss)
    rows = [ModelRow(m, *(_none(c[i]) for c in cols), law.id) for i, m in enumerate(models)]
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
