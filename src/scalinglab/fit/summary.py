"""One call from runs to a reported fit: `fit_runs` (what `scalinglab fit` prints, and `sl.fit`).

Approach 3 (parametric) with bootstrap percentile intervals (or sandwich SEs with bootstrap=0),
Approach 2 (isoFLOP parabolas) with t intervals; optionally the optimum at a budget and the
predicted loss at a point, with the assumptions the fit rests on.
"""

from dataclasses import dataclass

from scalinglab.errors import InputError
from scalinglab.fit.bootstrap import N_RESAMPLES, Bootstrap, bootstrap
from scalinglab.fit.io import LABELS, Runs, load_runs
from scalinglab.fit.isoflop import IsoflopFit, fit_isoflop
from scalinglab.fit.parametric import DELTA, ParametricFit, fit_parametric
from scalinglab.laws.base import Optimum
from scalinglab.results import Result, flat


@dataclass(frozen=True)
class ParametricReport(Result):
    """An Approach 3 fit with its intervals, as `scalinglab fit --json` prints it."""

    fit: ParametricFit = flat()
    data: Runs
    bootstrap: Bootstrap | None
    ci: dict
    optimal: Optimum | None
    loss_at: dict | None
    assumptions: tuple
    approach: int = 3

    _derived = ("warnings",)

    @property
    def law(self):
        return self.fit.law

    @property
    def warnings(self) -> tuple:
        return self.data.warnings


@dataclass(frozen=True)
class IsoflopReport(Result):
    """An Approach 2 fit, as `scalinglab fit --approach 2 --json` prints it."""

    fit: IsoflopFit = flat()
    data: Runs
    optimal: Optimum | None
    assumptions: tuple
    approach: int = 2
    objective: None = None

    _derived = ("params", "warnings")

    @property
    def warnings(self) -> tuple:
        return self.data.warnings

    @property
    def params(self) -> dict:
        return {"a": self.fit.a, "b": self.fit.b, "n_opt_coefficient": self.fit.n_opt_coefficient}

    @property
    def ci(self) -> dict:
        return self.fit.ci

    @property
    def law(self):
        return self.fit.law


def data_line(runs: Runs) -> str:
    dropped = f", the {runs.dropped} highest-loss dropped" if runs.dropped else ""
    cols = (" (columns: " + ", ".join(f"{LABELS[role]} = {col!r}"
                                      for role, col in runs.columns.items()) + ")") if runs.columns else ""
    return "; ".join([f"data: {runs.source}; {len(runs)} runs{dropped}{cols}", *runs.notes])


def fit_runs(data, approach: int = 3, n_boot: int | None = None, seed: int = 0,
             starts: int | None = None, delta: float = DELTA, flops: float | None = None,
             at: tuple | None = None, budgets=None, names: dict | None = None,
             progress=None) -> ParametricReport | IsoflopReport:
    """Fit runs (CSV path, DataFrame, dict of columns or Runs) and report it.

    approach 3: E + A/N^alpha + B/D^beta from Epoch AI's 4,500 starts; n_boot resamples
    (default 4,000, as Besiroglu et al. 2024; 0 for sandwich SEs only). approach 2: isoFLOP
    parabolas grouped by `budgets` (FLOP) or by equal compute. flops: also the optimum there;
    at = (N, D): also the predicted loss there."""
    if approach not in (2, 3):
        raise InputError(f"approach must be 3 (parametric) or 2 (isoFLOP), got {approach}")
    runs = load_runs(data, names)
    if approach == 2:
        if n_boot:
            raise InputError("--bootstrap works with --approach 3; Approach 2 reports t intervals")
        if at is not None:
            raise InputError("--at needs a loss L(N, D): use --approach 3")
        fit = fit_isoflop(runs, budgets=budgets)
        return IsoflopReport(fit, runs, fit.optimal(flops) if flops is not None else None,
                             _isoflop_assumptions(fit, runs))
    n_boot = N_RESAMPLES if n_boot is None else n_boot
    if n_boot < 0:
        raise InputError(f"--bootstrap must be >= 0, got {n_boot}")
    fit = fit_parametric(runs, starts=starts, delta=delta)
    boot = bootstrap(fit, runs, n=n_boot, seed=seed, progress=progress) if n_boot else None
    ci = boot.intervals(flops, at) if boot else fit.sandwich_intervals()
    law = fit.law
    loss_at = None if at is None else {"n_params": at[0], "n_tokens": at[1], "loss": law.loss(*at)}
    return ParametricReport(fit, runs, boot, ci, law.optimal(flops) if flops is not None else None,
                            loss_at, _parametric_assumptions(runs, fit, n_boot, seed))


def _parametric_assumptions(runs, fit, n_boot, seed) -> tuple:
    lines = [
        "model: log L = logsumexp(log A - alpha log N, log B - beta log D, log E) "
        "(Hoffmann et al. 2022 Approach 3, as replicated by Besiroglu et al. 2024)",
        f"objective: sum over runs of Huber(delta={fit.delta:g}) of log residuals",
        f"starts: {fit.n_starts} of Epoch AI's 4,500-point grid (alpha, beta in 0..2, log E in "
        "-1..1, log A, log B in 0..25); all solved together (Gauss-Newton/IRLS then Newton)",
        data_line(runs),
    ]
    if n_boot:
        lines.append(f"intervals: {n_boot} bootstrap resamples of the runs (seed {seed}), each "
                     "warm-started from the full fit; 2.5-97.5 percentiles")
    else:
        lines.append("intervals: 1.96 sandwich standard errors (quick; --bootstrap 4000 for "
                     "percentile intervals)")
    lines.append("compute-optimal split under C = 6ND (closed form, REFERENCES.md §1)")
    return tuple(lines)


def _isoflop_assumptions(fit, runs) -> tuple:
    return (
        "per compute budget: least-squares parabola of loss against log N; its minimum is N*(C) "
        "(Hoffmann et al. 2022 Approach 2)",
        "then log N* = a log C + const by least squares; D* = C / (6 N*), so b = 1 - a",
        f"intervals: {int(fit.level * 100)}% t intervals of the slope over {len(fit.budgets)} budgets",
        data_line(runs),
    )
