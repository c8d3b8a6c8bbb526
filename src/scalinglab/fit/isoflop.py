"""Chinchilla Approach 2: isoFLOP profiles (Hoffmann et al. 2022 Sec. 3.2; REFERENCES.md §2).

Group the runs by compute budget; in each group fit a parabola of loss against log N and take
its minimum N*(C); then fit the power laws N*(C) = k_N C^a and D*(C) = C / (6 N*) = k_D C^b by
least squares in log space (b = 1 - a), with t-distribution confidence intervals.
"""

from dataclasses import dataclass

import numpy as np

from scalinglab.compute import tokens_for_compute
from scalinglab.errors import InputError
from scalinglab.fit.io import load_runs
from scalinglab.laws.approach1 import AllocationLaw, from_isoflop
from scalinglab.laws.base import Optimum
from scalinglab.results import Result, hidden

MIN_PER_BUDGET = 3  # points a parabola needs


def group_budgets(flops, budgets=(), rtol: float = 0.05):
    """(labels, centres): runs whose FLOP differ by at most rtol share a budget; or, given
    `budgets`, each run goes to the nearest one in log space (within a factor of 2)."""
    lc = np.log(np.asarray(flops, dtype=float))
    if len(budgets):
        lb = np.log(np.asarray(budgets, dtype=float))
        dist = np.abs(lc[:, None] - lb[None, :])
        labels = np.where(dist.min(1) <= np.log(2.0), dist.argmin(1), -1)
        return labels, np.asarray(budgets, dtype=float)
    order = np.argsort(lc)
    new = np.r_[True, np.diff(lc[order]) > np.log1p(rtol)]
    labels = np.empty(len(lc), int)
    labels[order] = np.cumsum(new) - 1
    centres = np.exp([lc[labels == k].mean() for k in range(labels.max() + 1)])
    return labels, centres


@dataclass(frozen=True)
class IsoflopFit(Result):
    """Per-budget optima and the power laws through them."""

    budgets: np.ndarray = hidden()  # C of each used budget
    n_opt: np.ndarray = hidden()  # N*(C), the parabola's minimum
    loss_opt: np.ndarray = hidden()  # the parabola's value there
    n_points: np.ndarray = hidden()  # runs per used budget
    a: float = hidden()  # N* ~ C^a
    a_ci: tuple = hidden()
    log_kn: float = hidden()  # N* = exp(log_kn) C^a
    skipped: tuple = hidden()  # (budget, reason) for groups that gave no optimum
    source: str = hidden()
    level: float = hidden(default=0.95)

    _derived = ("a", "b", "ci", "n_opt_coefficient", ("budgets", "budget_rows"),
                ("skipped", "skipped_rows"), "source")

    @property
    def b(self) -> float:
        """D* ~ C^b, with D* = C / (6 N*)."""
        return 1.0 - self.a

    @property
    def b_ci(self) -> tuple:
        return (1.0 - self.a_ci[1], 1.0 - self.a_ci[0])

    @property
    def d_opt(self) -> np.ndarray:
        return tokens_for_compute(self.budgets, self.n_opt)

    @property
    def n_opt_coefficient(self) -> float:
        """k in N* = k C^a."""
        return float(np.exp(self.log_kn))

    @property
    def ci(self) -> dict:
        return {"a": list(self.a_ci), "b": list(self.b_ci), "level": self.level}

    @property
    def law(self) -> AllocationLaw:
        """The fit as a law with an optimum and no loss."""
        return from_isoflop("fit", self.a, self.n_opt_coefficient,
                            f"Approach 2 fit to {self.source}")

    def optimal(self, flops) -> Optimum:
        """N*, D* at compute `flops` from the fitted power laws."""
        return self.law.optimal(flops)

    @property
    def budget_rows(self) -> list:
        return [{"flops": float(c), "n_opt": float(n), "d_opt": float(d),
                 "loss_opt": float(lo), "n_points": int(k)}
                for c, n, d, lo, k in zip(self.budgets, self.n_opt, self.d_opt,
                                          self.loss_opt, self.n_points)]

    @property
    def skipped_rows(self) -> list:
        return [{"flops": float(c), "reason": r} for c, r in self.skipped]


def _parabola_minimum(x, y):
    """Minimum (x*, y*) of the least-squares parabola through (x, y), or a reason it has none."""
    c2, c1, c0 = np.polyfit(x, y, 2)
    if c2 <= 0:
        return None, "the loss is not convex in log N here"
    xm = -c1 / (2 * c2)
    if not x.min() <= xm <= x.max():
        return None, "the parabola's minimum lies outside the runs' range of N"
    return (xm, c0 + c1 * xm + c2 * xm * xm), None


def fit_isoflop(data, budgets=None, names=None, level: float = 0.95) -> IsoflopFit:
    """Approach 2 on runs (CSV path, DataFrame, dict or Runs); `budgets` (FLOP) to snap runs to,
    else the dataset's own (chinchilla) or groups of runs within 5% of each other's FLOP."""
    try:
        from scipy import stats
    except ImportError:
        raise InputError("Approach 2's t intervals need scipy, which is not installed: "
                         "pip install 'scalinglab[fit]'") from None
    runs = load_runs(data, names)
    budgets = runs.budgets if budgets is None else tuple(budgets)
    labels, centres = group_budgets(runs.flops, budgets)
    used, skipped = [], []
    for k, c in enumerate(centres):
        m = labels == k
        if m.sum() < MIN_PER_BUDGET:
            if m.any():
                skipped.append((float(c), f"{int(m.sum())} run(s); a parabola needs {MIN_PER_BUDGET}"))
            continue
        opt, why = _parabola_minimum(np.log(runs.n_params[m]), runs.loss[m])
        if opt is None:
            skipped.append((float(c), why))
        else:
            used.append((c, np.exp(opt[0]), opt[1], int(m.sum())))
    if len(used) < 2:
        found = len(np.unique(labels[labels >= 0]))
        raise InputError(f"Approach 2 needs at least 2 compute budgets with {MIN_PER_BUDGET}+ runs "
                         f"each; found {found} budget(s) in {runs.source}, {len(used)} usable")
    c, n, lo, k = (np.array(v) for v in zip(*used))
    x, y = np.log(c), np.log(n)
    slope, intercept = np.polyfit(x, y, 1)
    dof = len(x) - 2
    if dof > 0:
        resid = y - (slope * x + intercept)
        se = np.sqrt(resid @ resid / dof / np.sum((x - x.mean()) ** 2))
        half = stats.t.ppf(0.5 + level / 2, dof) * se
    else:
        half = np.inf
    return IsoflopFit(c, n, lo, k, float(slope), (float(slope - half), float(slope + half)),
                      float(intercept), tuple(skipped), runs.source, level)
