"""The parametric loss law L(N, D) = E + A/N^alpha + B/D^beta (Hoffmann et al. 2022, Eq. 2).

N is parameters, D training tokens. Under C = 6ND the optimum has a closed form
(REFERENCES.md §1): N_opt = G (C/6)^a, D_opt = G^-1 (C/6)^b with
G = (alpha A / (beta B))^(1/(alpha+beta)), a = beta/(alpha+beta), b = alpha/(alpha+beta).
Every method takes numpy arrays (or floats) and broadcasts.
"""

from dataclasses import asdict, dataclass

import numpy as np

from scalinglab.errors import InputError

FLOPS_PER_PARAM_TOKEN = 6.0  # C = 6ND: 2ND forward + 4ND backward (Kaplan et al. 2020, Sec. 2.1)


def _out(x):
    """A float for scalar results, the array otherwise."""
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


def _positive(x, what: str) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(x)) or np.any(x <= 0):
        raise InputError(f"{what} must be positive and finite, got {x if x.ndim else float(x)!r}")
    return x


@dataclass(frozen=True)
class Optimum:
    """A compute-optimal (or loss-target-optimal) allocation under one law."""

    law: str
    flops: object
    n_params: object
    n_tokens: object
    loss: object

    @property
    def tokens_per_param(self):
        return _out(np.asarray(self.n_tokens) / np.asarray(self.n_params))

    def to_dict(self) -> dict:
        d = {k: _jsonable(v) for k, v in asdict(self).items()}
        d["tokens_per_param"] = _jsonable(self.tokens_per_param)
        return d


def _jsonable(v):
    return v.tolist() if isinstance(v, np.ndarray) else v


@dataclass(frozen=True)
class ParametricLaw:
    """L(N, D) = E + A/N^alpha + B/D^beta, with its id and citation."""

    id: str
    E: float
    A: float
    B: float
    alpha: float
    beta: float
    source: str
    note: str = ""

    # --- loss ---------------------------------------------------------------------------------
    def loss(self, n_params, n_tokens):
        """Predicted loss (nats/token) for N parameters trained on D tokens."""
        return _out(sum(self.terms(n_params, n_tokens).values()))

    def terms(self, n_params, n_tokens) -> dict:
        """The three parts of the loss: irreducible E, model-size A/N^alpha, data B/D^beta."""
        n = _positive(n_params, "n_params")
        d = _positive(n_tokens, "n_tokens")
        return {
            "irreducible": _out(np.broadcast_to(self.E, np.broadcast(n, d, self.E).shape)),
            "model": _out(self.A / n**self.alpha),
            "data": _out(self.B / d**self.beta),
        }

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

    def optimal(self, flops) -> Optimum:
        """The N, D minimising L(N, D) subject to 6ND = C (closed form)."""
        c = _positive(flops, "compute") / FLOPS_PER_PARAM_TOKEN
        n = self.G * c**self.a
        d = c**self.b / self.G
        return Optimum(self.id, _out(c * 6), _out(n), _out(d), self.loss(n, d))

    def loss_at_optimum(self, flops):
        """L*(C): the lowest loss reachable with C FLOP."""
        c = _positive(flops, "compute") / FLOPS_PER_PARAM_TOKEN
        return _out(self.E + self._k * c**-self._gamma)

    def _check_target(self, loss) -> np.ndarray:
        loss = np.asarray(loss, dtype=float)
        if not np.all(np.isfinite(loss)) or np.any(loss <= self.E):
            raise InputError(
                f"target loss {loss if loss.ndim else float(loss)!r} is unreachable under {self.id}: "
                f"it must be above the irreducible loss E = {self.E:.4g}"
            )
        return loss

    def compute_for_loss(self, loss):
        """C(L): the fewest FLOP (under 6ND) that reach loss L; L must exceed E."""
        gap = self._check_target(loss) - self.E
        return _out(FLOPS_PER_PARAM_TOKEN * (gap / self._k) ** (-1 / self._gamma))

    def optimal_for_loss(self, loss) -> Optimum:
        """The cheapest (N, D) that reaches loss L (equals optimal(compute_for_loss(L)))."""
        gap = self._check_target(loss) - self.E
        n = (self.A * (1 + self.alpha / self.beta) / gap) ** (1 / self.alpha)
        d = (self.B * (1 + self.beta / self.alpha) / gap) ** (1 / self.beta)
        return Optimum(self.id, _out(6 * n * d), _out(n), _out(d), _out(self.loss(n, d)))

    # --- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"kind": "parametric", **asdict(self), "a": self.a, "b": self.b, "G": self.G}

    @classmethod
    def from_dict(cls, d: dict) -> "ParametricLaw":
        try:
            return cls(id=str(d.get("id", "fit")), E=float(d["E"]), A=float(d["A"]),
                       B=float(d["B"]), alpha=float(d["alpha"]), beta=float(d["beta"]),
                       source=str(d.get("source", "user fit")), note=str(d.get("note", "")))
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(f"a parametric law needs numbers E, A, B, alpha, beta ({e})") from None
