"""Training and inference FLOP under C = 6ND, and PF-days: the one place for 6ND.

Forward pass ~2N FLOP per token (one multiply-add per parameter), backward ~4N (gradients with
respect to activations and to weights), so training costs ~6N per token (Kaplan et al. 2020,
Sec. 2.1; Hoffmann et al. 2022, App. F). Architecture-exact conventions live in architecture/.
"""

from dataclasses import dataclass

import numpy as np

from scalinglab.results import Result
from scalinglab.units import PF_DAY
from scalinglab.validate import finite_or_raise, out, positive

FORWARD_FLOPS_PER_PARAM = 2.0
BACKWARD_FLOPS_PER_PARAM = 4.0
FLOPS_PER_PARAM_TOKEN = FORWARD_FLOPS_PER_PARAM + BACKWARD_FLOPS_PER_PARAM  # C = 6ND
# Chinchilla's empirical compute-optimal ratio: 70B parameters on 1.4T tokens (Hoffmann et al.
# 2022, Sec. 3 and Table 3); a rule of thumb the laws are compared against, not a law.
CHINCHILLA_TOKENS_PER_PARAM = 20.0

Array = float | np.ndarray


@dataclass(frozen=True)
class TrainingFlops(Result):
    """Training FLOP split into forward and backward passes, under a named convention."""

    n_params: Array
    n_tokens: Array
    forward_flops: Array
    backward_flops: Array
    convention: str = "6ND"

    _derived = ("flops", "pf_days")

    @property
    def flops(self) -> Array:
        return out(np.asarray(self.forward_flops) + self.backward_flops)

    @property
    def pf_days(self) -> Array:
        return flops_to_pf_days(self.flops)


def training_flops(n_params, n_tokens) -> TrainingFlops:
    """C = 6ND = 2ND (forward) + 4ND (backward)."""
    with np.errstate(over="ignore"):
        nd = positive(n_params, "n_params") * positive(n_tokens, "n_tokens")
        finite_or_raise(BACKWARD_FLOPS_PER_PARAM * nd, "6ND")
    return TrainingFlops(out(n_params), out(n_tokens), out(FORWARD_FLOPS_PER_PARAM * nd),
                         out(BACKWARD_FLOPS_PER_PARAM * nd))


def inference_flops(n_params, n_tokens=1.0):
    """Forward-only FLOP to process (or generate) n_tokens: 2N per token."""
    return out(FORWARD_FLOPS_PER_PARAM * positive(n_params, "n_params")
               * positive(n_tokens, "n_tokens"))


def flops_to_pf_days(flops):
    """1 PF-day = 1e15 FLOP/s for a day = 8.64e19 FLOP."""
    return out(np.asarray(flops, dtype=float) / PF_DAY)


def pf_days_to_flops(pf_days):
    return out(np.asarray(pf_days, dtype=float) * PF_DAY)


def tokens_for_compute(flops, n_params):
    """D = C / 6N."""
    return out(positive(flops, "compute") / (FLOPS_PER_PARAM_TOKEN * positive(n_params, "n_params")))


def params_for_compute(flops, n_tokens):
    """N = C / 6D."""
    return out(positive(flops, "compute") / (FLOPS_PER_PARAM_TOKEN * positive(n_tokens, "n_tokens")))
