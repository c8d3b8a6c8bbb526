"""The parametric loss law L(N, D) = E + A/N^alpha + B/D^beta (Hoffmann et al. 2022, Eq. 2).

N is parameters, D training tokens. Under C = 6ND the optimum has a closed form
(REFERENCES.md §1): N_opt = G (C/6)^a, D_opt = G^-1 (C/6)^b with
G = (alpha A / (beta B))^(1/(alpha+beta)), a = beta/(alpha+beta), b = alpha/(alpha+beta).
Every method takes numpy arrays (or floats) and broadcasts; `closed_form` does the same for
arrays of constants (a bootstrap's resamples).
"""

import math
from dataclasses import dataclass

import numpy as np

from scalinglab.compute import FLOPS_PER_PARAM_TOKEN
from scalinglab.errors import InputError
from scalinglab.laws.base import Law, Optimum
from scalinglab.validate import out, positive

PARAMS = ("E", "A", "B", "alpha", "beta")


def closed_form(A, B, alpha, beta, flops):
    """(N_opt, D_opt) under C = 6ND for constants and budgets that broadcast together."""
    A, B, alpha, beta = (np.asarray(x, dtype=float) for x in (A, B, alpha, beta))
    c = np.asarray(flops, dtype=float) / FLOPS_PER_PARAM_TOKEN
    G = (alpha * A / (beta * B)) ** (1 / (alpha + beta))
    n = G * c ** (beta / (alpha + beta))
    return n, c / n


def loss_of(E, A, B, alpha, beta, n_params, n_tokens):
    """E + A/N^alpha + B/D^beta for constants and sizes that broadcast together (a bootstrap's
    resamples as (K, 1) columns against M sizes give (K, M))."""
    return E + A / np.asarray(n_params, dtype=float) ** alpha + B / np.asarray(n_tokens, dtype=float) ** beta


@dataclass(frozen=True)
class ParametricLaw(Law):
    """L(N, D) = E + A/N^alpha + B/D^beta, with its id and citation."""

    id: str
    E: float
    A: float
    B: float
    alpha: float
    beta: float
    source: str
    note: str = ""
    data: str = "MassiveText (Chinchilla's runs)"

    formula = "L(N, D) = E + A/N^alpha + B/D^beta"
    optimum_formula = ("C = 6ND; N_opt = G (C/6)^a, D_opt = (C/6)^b / G (Hoffmann et al. 2022, "
                       "closed form)")
    additive = True
    optimum_minimises_loss = True  # the closed form is the minimum of L along C = 6ND
    extensions = frozenset({"inference-aware", "data-constrained"})

    def __post_init__(self):
        for k in PARAMS:
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise InputError(f"law {self.id!r}: {k} must be a finite number, got {v!r}")
        if self.E < 0:
            raise InputError(f"law {self.id!r}: E (irreducible loss) must be >= 0, got {self.E!r}")
        for k in ("A", "B", "alpha", "beta"):
            if getattr(self, k) <= 0:
                raise InputError(f"law {self.id!r}: {k} must be positive, got {getattr(self, k)!r}")

    # --- loss ---------------------------------------------------------------------------------
    def loss(self, n_params, n_tokens):
        """Predicted loss (nats/token) for N parameters trained on D tokens."""
        return out(sum(np.asarray(v) for v in self.terms(n_params, n_tokens).values()))

    def terms(self, n_params, n_tokens) -> dict:
        """The three parts of the loss: irreducible E, model-size A/N^alpha, data B/D^beta."""
        n = positive(n_params, "n_params")
        d = positive(n_tokens, "n_tokens")
        return {
            "irreducible": out(np.broadcast_to(self.E, np.broadcast(n, d).shape)),
            "model": out(self.A / n**self.alpha),
            "data": out(self.B / d**self.beta),
        }

    def tokens_for_loss(self, n_params, loss):
        """D that takes an N-parameter model to loss L: (B / (L - E - A/N^alpha))^(1/beta)."""
        n = positive(n_params, "n_params")
        floor = self.E + self.A / n**self.alpha
        gap = np.asarray(loss, dtype=float) - floor
        if np.any(gap <= 0):
            raise InputError(f"a {float(np.max(n)):.3g}-parameter model cannot reach loss {loss} under "
                             f"{self.id} (its floor is {float(np.min(floor)):.4g})")
        return out((self.B / gap) ** (1 / self.beta))

    # --- compute-optimal allocation -------------------------------------------------------------
    @property
    def a(self) -> float:
        """N_opt ~ C^a."""
        return self.beta / (self.alpha + self.beta)

    @property
    def b(self) -> float:
        """D_opt ~ C^b."""
        return self.alpha / (self.alpha + self.beta)

    @property
    def G(self) -> float:
        return (self.alpha * self.A / (self.beta * self.B)) ** (1 / (self.alpha + self.beta))

    @property
    def _k(self) -> float:
        """L*(C) = E + k (C/6)^(-alpha beta/(alpha+beta))."""
        return self.A * self.G**-self.alpha + self.B * self.G**self.beta

    @property
    def _gamma(self) -> float:
        return self.alpha * self.beta / (self.alpha + self.beta)

    def loss_at_optimum(self, flops):
        """L*(C): the lowest loss reachable with C FLOP."""
        c = positive(flops, "compute") / FLOPS_PER_PARAM_TOKEN
        return out(self.E + self._k * c**-self._gamma)

    def check_target(self, loss) -> np.ndarray:
        """A target loss this law can reach (above E)."""
        loss = np.asarray(loss, dtype=float)
        if not np.all(np.isfinite(loss)) or np.any(loss <= self.E):
            raise InputError(
                f"target loss {loss if loss.ndim else float(loss)!r} is unreachable under {self.id}: "
                f"it must be above the irreducible loss E = {self.E:.4g}"
            )
        return loss

    def compute_for_loss(self, loss):
        """C(L): the fewest FLOP (under 6ND) that reach loss L; L must exceed E."""
        gap = self.check_target(loss) - self.E
        return out(FLOPS_PER_PARAM_TOKEN * (gap / self._k) ** (-1 / self._gamma))

    def optimal_for_loss(self, loss) -> Optimum:
        """The cheapest (N, D) that reaches loss L (equals optimal(compute_for_loss(L)))."""
        gap = self.check_target(loss) - self.E
        with np.errstate(under="ignore", over="ignore"):
            n = (self.A * (1 + self.alpha / self.beta) / gap) ** (1 / self.alpha)
            d = (self.B * (1 + self.beta / self.alpha) / gap) ** (1 / self.beta)
        if np.any(n < 1) or np.any(d < 1) or not np.all(np.isfinite(n * d)):
            raise InputError(f"target loss {loss!r} is out of range for {self.id}: its cheapest model "
                             "would have under one parameter or token (give a loss a model can have)")
        return Optimum(self.id, out(FLOPS_PER_PARAM_TOKEN * n * d), out(n), out(d),
                       out(self.loss(n, d)))

    # --- what it declares -----------------------------------------------------------------------
    def constants(self) -> dict:
        return {k: getattr(self, k) for k in PARAMS}

    @classmethod
    def from_dict(cls, d: dict, where: str = "a parametric law") -> "ParametricLaw":
        missing = [k for k in PARAMS if k not in d]
        if missing:
            raise InputError(f"{where} needs numbers {', '.join(PARAMS)} (missing {', '.join(missing)})")
        bad = [k for k in PARAMS if isinstance(d[k], bool) or not isinstance(d[k], (int, float))]
        if bad:
            raise InputError(f"{where}: {bad[0]} must be a number, got {d[bad[0]]!r}")
        return cls(id=str(d.get("id", "fit")), source=str(d.get("source", "user fit")),
                   note=str(d.get("note", "")), **{k: float(d[k]) for k in PARAMS})
