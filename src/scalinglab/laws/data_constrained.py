"""Repeated data: Muennighoff et al. 2023, 'Scaling Data-Constrained Language Models' (arXiv:2305.16264).

With U unique tokens seen D/U times, repeated tokens are worth less than fresh ones, and parameters
beyond the compute-optimal size for U are worth less too (Eq. 5-6, huggingface/datablations README):
    R_D = D/U_D - 1,  D' = U_D + U_D R_D* (1 - exp(-R_D / R_D*)),   U_D = min(U, D)
    U_N = min(N, N_opt(U_D)),  R_N = N/U_N - 1,  N' = U_N + U_N R_N* (1 - exp(-R_N / R_N*))
    L = E + A/N'^alpha + B/D'^beta
R_D* and R_N* were fitted together with the muennighoff2023 constants (C4); with another law they are
an assumption. The best allocation for a budget has no closed form (their README grid-searches).
"""

from dataclasses import dataclass

import numpy as np

from scalinglab.compute import tokens_for_compute
from scalinglab.laws.base import Array, Optimum
from scalinglab.laws.parametric import ParametricLaw
from scalinglab.results import Result
from scalinglab.validate import out as _out
from scalinglab.validate import positive as _positive

R_D_STAR = 15.387756  # Muennighoff et al. 2023, App. A / datablations README
R_N_STAR = 5.309743


def _parametric(law) -> ParametricLaw:
    law.require("data-constrained", "the repeated-data loss (it needs a law of the form "
                "E + A/N^alpha + B/D^beta, e.g. muennighoff2023)")
    return law


def effective_tokens(n_tokens, unique_tokens, r_star=R_D_STAR):
    """D': what D tokens drawn from U unique ones are worth in fresh tokens (<= 16.39 U)."""
    d = _positive(n_tokens, "n_tokens")
    u = np.minimum(_positive(unique_tokens, "unique tokens"), d)
    r = np.maximum(d / u - 1, 0)
    return _out(u + u * r_star * (1 - np.exp(-r / r_star)))


def effective_params(law, n_params, unique_tokens, r_star=R_N_STAR):
    """N': parameters beyond the law's compute-optimal N for U tokens decay like repeated tokens."""
    law = _parametric(law)
    n = _positive(n_params, "n_params")
    u_d = _positive(unique_tokens, "unique tokens")
    n_for_u = law.optimal_for_tokens(u_d).n_params  # N_opt at the compute where D_opt = U
    u_n = np.minimum(n, n_for_u)
    r = np.maximum(n / u_n - 1, 0)
    return _out(u_n + u_n * r_star * (1 - np.exp(-r / r_star)))


@dataclass(frozen=True)
class DataConstrainedLoss(Result):
    """Loss of N parameters trained on D tokens drawn from U unique ones."""

    law: str
    n_params: Array
    n_tokens: Array
    unique_tokens: Array
    effective_params: Array
    effective_tokens: Array
    loss: Array
    loss_fresh_data: Array
    terms: dict  # irreducible E, model A/N'^alpha, data B/D'^beta

    _derived = ("epochs", "r_d_star", "r_n_star", "loss_penalty")
    r_d_star = R_D_STAR
    r_n_star = R_N_STAR

    @property
    def epochs(self) -> Array:
        return _out(np.asarray(self.n_tokens) / np.minimum(self.unique_tokens, self.n_tokens))

    @property
    def loss_penalty(self) -> Array:
        return _out(np.asarray(self.loss) - self.loss_fresh_data)


def loss(law, n_params, n_tokens, unique_tokens) -> DataConstrainedLoss:
    """L(N, D, U) = E + A/N'^alpha + B/D'^beta."""
    law = _parametric(law)
    d_eff = np.asarray(effective_tokens(n_tokens, unique_tokens))
    u_d = np.minimum(unique_tokens, n_tokens)
    n_eff = np.asarray(effective_params(law, n_params, u_d))
    terms = law.terms(n_eff, d_eff)  # the fresh-data law at the effective N', D'
    return DataConstrainedLoss(law.id, _out(n_params), _out(n_tokens), _out(unique_tokens),
                               _out(n_eff), _out(d_eff), law.loss(n_eff, d_eff),
                               law.loss(n_params, n_tokens), terms)


@dataclass(frozen=True)
class DataConstrainedOptimum(Result):
    """Best N, D for a budget with U unique tokens, next to the fresh-data optimum."""

    law: str
    flops: float
    unique_tokens: float
    n_params: float
    n_tokens: float
    loss: float
    unconstrained: Optimum

    _derived = ("tokens_per_param", "epochs")

    @property
    def tokens_per_param(self) -> float:
        return self.n_tokens / self.n_params

    @property
    def epochs(self) -> float:
        return self.n_tokens / min(self.unique_tokens, self.n_tokens)


def optimal(law, flops, unique_tokens) -> DataConstrainedOptimum:
    """Minimise L(N, C/6N, U) over N: a log-spaced grid, refined around its minimum."""
    law = _parametric(law)
    c = float(_positive(flops, "compute"))
    u = float(_positive(unique_tokens, "unique tokens"))
    free = law.optimal(c)
    lo, hi = np.log(free.n_params) - np.log(1e4), np.log(free.n_params) + np.log(1e2)
    for _ in range(8):
        x = np.linspace(lo, hi, 401)
        n = np.exp(x)
        i = int(np.argmin(loss(law, n, tokens_for_compute(c, n), u).loss))
        lo, hi = x[max(i - 2, 0)], x[min(i + 2, 400)]
    n = float(np.exp((lo + hi) / 2))
    d = tokens_for_compute(c, n)
    return DataConstrainedOptimum(law.id, c, u, n, d, float(loss(law, n, d, u).loss), free)
