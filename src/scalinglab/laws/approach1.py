"""Laws that are only a compute-optimal allocation N_opt = G (C/6)^a, D = C/6N, without L(N, D).

Chinchilla's Approach 1 (Hoffmann et al. 2022, Sec. 3.1; Table 2: a = b = 0.50) fixes the model
size for each budget from the envelope of its training curves; Table 3 projects it, and G here is
fitted to those nine rows (least squares of log N - a log(C/6), a fixed at 0.50). A fit saved by
`scalinglab fit --approach 2` (isoFLOP profiles, N* = k C^a) is the same kind of law.
"""

from dataclasses import dataclass

import numpy as np

from scalinglab.compute import FLOPS_PER_PARAM_TOKEN
from scalinglab.errors import InputError
from scalinglab.laws.base import Law

# Hoffmann et al. 2022, Table 3: (parameters, FLOPs, tokens) of the Approach 1 projections.
TABLE3 = ((400e6, 1.92e19, 8.0e9), (1e9, 1.21e20, 20.2e9), (10e9, 1.23e22, 205.1e9),
          (67e9, 5.76e23, 1.5e12), (175e9, 3.85e24, 3.7e12), (280e9, 9.90e24, 5.9e12),
          (520e9, 3.43e25, 11.0e12), (1e12, 1.27e26, 21.2e12), (10e12, 1.30e28, 216.2e12))


@dataclass(frozen=True)
class AllocationLaw(Law):
    """N_opt = G (C/6)^a with D = C/6N; no loss."""

    id: str
    exponent: float  # a
    coefficient: float  # G
    source: str
    note: str = ""
    data: str = "MassiveText (Chinchilla's runs)"

    lacks = "it is only a compute-optimal allocation (N_opt ~ C^a), with no L(N, D); use `optimal`"

    def __post_init__(self):
        if not (0 < self.exponent < 1) or not (self.coefficient > 0) or not np.isfinite(self.coefficient):
            raise InputError(f"law {self.id!r}: needs 0 < a < 1 and a positive coefficient, got "
                             f"a = {self.exponent!r}, G = {self.coefficient!r}")

    @property
    def a(self) -> float:
        return self.exponent

    @property
    def G(self) -> float:
        return self.coefficient

    @property
    def optimum_formula(self) -> str:
        return f"N_opt = {self.G:.4g} (C/6)^{self.a:.3g}, D = C/6N"

    def constants(self) -> dict:
        return {"a": self.a, "G": self.G}


def _fit_table3(a: float = 0.5) -> float:
    n, c, _ = np.array(TABLE3).T
    return float(np.exp(np.mean(np.log(n) - a * np.log(c / FLOPS_PER_PARAM_TOKEN))))


HOFFMANN2022_APPROACH1 = AllocationLaw(
    "hoffmann2022-approach1", 0.5, _fit_table3(0.5),
    source="Hoffmann et al. 2022 (Chinchilla), Approach 1: Table 2 (a = b = 0.50), G fitted to "
           "the nine Table 3 projections",
    note="no L(N, D): the optimum only (67B on ~1.4T tokens at 5.76e23 FLOP)")


def from_isoflop(id: str, a: float, n_opt_coefficient: float, source: str) -> AllocationLaw:
    """An Approach 2 fit, N* = k C^a, as a law: G = k 6^a."""
    return AllocationLaw(id, float(a), float(n_opt_coefficient) * FLOPS_PER_PARAM_TOKEN ** float(a),
                         source, "Approach 2 fit: the optimum only, no L(N, D)")
