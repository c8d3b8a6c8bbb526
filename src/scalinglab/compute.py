"""Training and inference FLOP under C = 6ND, and PF-days.

Forward pass ~2N FLOP per token (one multiply-add per parameter), backward ~4N (gradients with
respect to activations and to weights), so training costs ~6N per token (Kaplan et al. 2020,
Sec. 2.1; Hoffmann et al. 2022, App. F). Architecture-exact conventions live in architecture.py.
"""

from dataclasses import dataclass

import numpy as np

from scalinglab.errors import InputError
from scalinglab.laws.parametric import _out, _positive
from scalinglab.units import PF_DAY

FORWARD_FLOPS_PER_PARAM = 2.0
BACKWARD_FLOPS_PER_PARAM = 4.0


@dataclass(frozen=True)
class TrainingFlops:
    """Training FLOP split into forward and backward passes, under the 6ND convention."""

    n_params: float
    n_tokens: float
    forward_flops: float
    backward_flops: float
    convention: str = "6ND"

    @property
    def flops(self) -> float:
        return self.forward_flops + self.backward_flops

    @property
    def pf_days(self) -> float:
        return flops_to_pf_days(self.flops)

    def to_dict(self) -> dict:
        return {"n_params": self.n_params, "n_tokens": self.n_tokens, "flops": self.flops,
                "forward_flops": self.forward_flops, "backward_flops": self.backward_flops,
                "pf_days": self.pf_days, "convention": self.convention}


def training_flops(n_params, n_tokens) -> TrainingFlops:
    """C = 6ND = 2ND (forward) + 4ND (backward)."""
    with np.errstate(over="ignore"):
        nd = _positive(n_params, "n_params") * _positive(n_tokens, "n_tokens")
        if not np.all(np.isfinite(BACKWARD_FLOPS_PER_PARAM * nd)):
            raise InputError("6ND overflows a float (above 1.8e308 FLOP): N and D are too large")
    return TrainingFlops(_out(n_params), _out(n_tokens), _out(FORWARD_FLOPS_PER_PARAM * nd),
                         _out(BACKWARD_FLOPS_PER_PARAM * nd))


def inference_flops(n_params, n_tokens=1.0):
    """Forward-only FLOP to process (or generate) n_tokens: 2N per token."""
    return _out(FORWARD_FLOPS_PER_PARAM * _positive(n_params, "n_params")
                * _positive(n_tokens, "n_tokens"))


def flops_to_pf_days(flops):
    """1 PF-day = 1e15 FLOP/s for a day = 8.64e19 FLOP."""
    return _out(np.asarray(flops, dtype=float) / PF_DAY)


def pf_days_to_flops(pf_days):
    return _out(np.asarray(pf_days, dtype=float) * PF_DAY)


def tokens_for_compute(flops, n_params):
    """D = C / 6N."""
    return _out(_positive(flops, "compute") / (6.0 * _positive(n_params, "n_params")))


def params_for_compute(flops, n_tokens):
    """N = C / 6D."""
    return _out(_positive(flops, "compute") / (6.0 * _positive(n_tokens, "n_tokens")))
