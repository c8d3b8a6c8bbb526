"""The curves behind figures and the page: loss along an iso-compute line, compute-optimal
frontiers, the 20:1 line, and percentile bands of a bootstrapped fit. Arrays in, arrays out; no
plotting here (plots.py and web/charts.py draw them)."""

import numpy as np

from scalinglab.compute import tokens_for_compute
from scalinglab.laws.parametric import FLOPS_PER_PARAM_TOKEN, ParametricLaw
from scalinglab.plan import CHINCHILLA_TOKENS_PER_PARAM


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


def resampled_law(samples: np.ndarray, name: str = "fit") -> ParametricLaw:
    """One law whose constants are columns (K, 1): K bootstrap resamples evaluated at once, so
    law.loss(n, d) and law.optimal(c) on a row of M points give (K, M) arrays."""
    E, A, B, alpha, beta = (np.asarray(samples, dtype=float)[:, i:i + 1] for i in range(5))
    return ParametricLaw(name, E, A, B, alpha, beta, source="bootstrap resamples")


def band(values, level: float = 0.95) -> tuple:
    """The central `level` percentile band over the first axis of (K, M) values: (lo, hi)."""
    tail = 50 * (1 - level)
    v = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):  # a resample with alpha or beta at 0 gives inf/nan: left out
        pct = np.percentile if np.isfinite(v).all() else np.nanpercentile
        lo, hi = pct(v, [tail, 100 - tail], axis=0)
    return lo, hi
