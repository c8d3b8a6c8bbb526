"""Notable language models as data: size, tokens, training FLOP, each row with its source.

The rows live in data/models.csv (mostly Epoch AI's 'All ML Systems' data, CC BY 4.0, plus papers
and model cards). Missing numbers are None, never guessed. `confidence` says how far to trust a row:
reported (by the developer), estimated (by a third party) or rumoured (leaks, lectures).
"""

import csv
import re
from dataclasses import asdict, dataclass
from importlib import resources

import numpy as np

from scalinglab.errors import InputError, unknown

CONFIDENCE = ("reported", "estimated", "rumoured")


@dataclass(frozen=True)
class Model:
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

    @property
    def is_moe(self) -> bool:
        return self.active_params is not None

    @property
    def compute_params(self) -> float | None:
        """Parameters that do work per token: active for MoE, all for dense."""
        return self.active_params if self.is_moe else self.n_params

    def to_dict(self) -> dict:
        return asdict(self)


def _num(text: str) -> float | None:
    return float(text) if text.strip() else None


def _row(r: dict) -> Model:
    if r["confidence"] not in CONFIDENCE:
        raise ValueError(f"models.csv: {r['name']}: confidence {r['confidence']!r}")
    return Model(r["name"], r["org"], int(r["year"]), _num(r["params"]), _num(r["active_params"]),
                 _num(r["tokens"]), _num(r["train_flop"]), r["arch"], r["source"],
                 r["confidence"], r["notes"])


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
