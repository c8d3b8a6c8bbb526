"""Bootstrap uncertainty for an Approach 3 fit (Besiroglu et al. 2024 resample 4,000 times).

Each resample draws the runs with replacement; it is solved as a weighted problem (weight = how
often a run was drawn), all resamples at once in one batch, each warm-started from the full fit.
Intervals are percentiles of the resampled estimates.
"""

from dataclasses import dataclass

import numpy as np

from scalinglab.errors import InputError
from scalinglab.fit.io import load_runs
from scalinglab.fit.parametric import DELTA, PARAMS, STATUS, ParametricFit, _Data, solve
from scalinglab.laws.parametric import closed_form, loss_of
from scalinglab.results import Result, hidden

N_RESAMPLES = 4000  # as Epoch AI


@dataclass(frozen=True)
class Bootstrap(Result):
    """Resampled estimates of (E, A, B, alpha, beta), one row per resample."""

    samples: np.ndarray = hidden()  # (K, 5) in PARAMS order
    objective: np.ndarray = hidden()  # (K,)
    status: dict
    seed: int = 0
    level: float = 0.95

    _derived = ("n_resamples",)

    @property
    def n_resamples(self) -> int:
        return len(self.samples)

    def interval(self, values) -> list:
        """The central `level` percentile interval of per-resample values."""
        tail = 50 * (1 - self.level)
        lo, hi = np.nanpercentile(np.asarray(values), [tail, 100 - tail])
        return [float(lo), float(hi)]

    def quantities(self, flops=None, at=None) -> dict:
        """Per-resample arrays: the parameters, a, b, G, and optionally N_opt, D_opt, L* at
        compute `flops` and the loss at `at` = (N, D)."""
        E, A, B, al, be = self.samples.T
        q = dict(zip(PARAMS, self.samples.T))
        q["a"], q["b"] = be / (al + be), al / (al + be)
        q["G"] = (al * A / (be * B)) ** (1 / (al + be))
        if flops is not None:
            n, d = closed_form(A, B, al, be, flops)
            q["n_opt"], q["d_opt"] = n, d
            q["loss_opt"] = loss_of(E, A, B, al, be, n, d)
        if at is not None:
            q["loss_at"] = loss_of(E, A, B, al, be, *at)
        return q

    def ci(self, flops=None, at=None) -> dict:
        """Percentile intervals for every quantity in `quantities` (a resample with alpha or
        beta at 0 gives an infinite G: it counts as such, silently)."""
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            return {k: self.interval(v) for k, v in self.quantities(flops, at).items()}

    def intervals(self, flops=None, at=None) -> dict:
        """What `fit` reports: the method, the level and every interval."""
        return {"method": "bootstrap percentile", "level": self.level, **self.ci(flops, at)}


def bootstrap(fit: ParametricFit, data, n: int = N_RESAMPLES, seed: int = 0, names=None,
              delta: float | None = None, max_iter: int = 200, progress=None) -> Bootstrap:
    """Refit `n` resamples (with replacement) of the runs `fit` was fitted to, as one batch."""
    if n < 1:
        raise InputError(f"--bootstrap must be at least 1 resample, got {n}")
    runs = load_runs(data, names)
    d = _Data.of(runs)
    rng = np.random.default_rng(seed)
    P = len(runs)
    counts = rng.multinomial(P, np.full(P, 1.0 / P), size=n).astype(float)
    start = d.centre(np.repeat(fit.theta[None], n, axis=0))
    sol = solve(start, d, fit.delta if delta is None else delta, weights=counts,
                max_iter=max_iter, progress=progress)
    raw = d.uncentre(sol.theta)
    A, B, E = np.exp(raw[:, :3]).T
    samples = np.stack([E, A, B, raw[:, 3], raw[:, 4]], 1)
    return Bootstrap(samples, sol.objective, sol.counts(), seed)


__all__ = ["Bootstrap", "N_RESAMPLES", "STATUS", "bootstrap"]
