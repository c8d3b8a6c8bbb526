"""The curves behind figures and the page: loss along an iso-compute line, compute-optimal
frontiers, the 20:1 line, and percentile bands of a bootstrapped fit. Arrays in, arrays out; no
plotting here (plots.py and web/charts.py draw them)."""

import numpy as np

from scalinglab.compute import CHINCHILLA_TOKENS_PER_PARAM, FLOPS_PER_PARAM_TOKEN, tokens_for_compute
from scalinglab.laws.parametric import closed_form, loss_of


def around(x: float, decades: float = 2.0, points: int = 61) -> np.ndarray:
    """Log-spaced values from x / 10^decades to x * 10^decades."""
    return np.geomspace(x / 10**decades, x * 10**decades, points)


def isoflop_loss(law, flops, n_params):
    """Loss of N parameters trained on the D = C / 6N tokens that compute C buys."""
    n = np.asarray(n_params, dtype=float)
    return law.loss(n, tokens_for_compute(flops, n))


def twenty_to_one(flops) -> tuple:
    """(N, D) with D = 20 N and C = 6 N D: Chinchilla's rule of thumb as a line."""
    n = np.sqrt(np.asarray(flops, dtype=float) / (FLOPS_PER_PARAM_TOKEN * CHINCHILLA_TOKENS_PER_PARAM))
    return n, CHINCHILLA_TOKENS_PER_PARAM * n


def _columns(samples) -> tuple:
    """(E, A, B, alpha, beta) of K resamples as (K, 1) columns, against a row of M points."""
    s = np.asarray(samples, dtype=float)
    return tuple(s[:, i:i + 1] for i in range(5))


def resampled_isoflop_loss(samples, flops, n_params) -> np.ndarray:
    """(K, M): the loss along an iso-compute line under each of K resampled fits."""
    n = np.asarray(n_params, dtype=float)
    return loss_of(*_columns(samples), n, tokens_for_compute(flops, n))


def resampled_optimal_params(samples, flops) -> np.ndarray:
    """(K, M): compute-optimal N at M budgets under each of K resampled fits."""
    E, A, B, alpha, beta = _columns(samples)
    return closed_form(A, B, alpha, beta, np.asarray(flops, dtype=float))[0]


def band(values, level: float = 0.95) -> tuple:
    """The central `level` percentile band over the first axis of (K, M) values: (lo, hi)."""
    tail = 50 * (1 - level)
    v = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):  # a resample with alpha or beta at 0 gives inf/nan: left out
        pct = np.percentile if np.isfinite(v).all() else np.nanpercentile
        lo, hi = pct(v, [tail, 100 - tail], axis=0)
    return lo, hi
