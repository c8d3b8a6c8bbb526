"""A fit to uploaded runs, for the page: the `fit` verb's report (what /api/fit answers), and what
the charts draw over the plan: the runs, the fitted law's curves and their bootstrap bands (the
very resamples behind the report's intervals). Kept in a small cache, so that moving an input of
the plan does not refit."""

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from scalinglab import curves
from scalinglab.compute import tokens_for_compute
from scalinglab.units import format_count, format_sci

CACHE_SIZE = 8
MAX_BUDGETS = 4  # isoFLOP curves of the fit drawn through the runs: the budgets with most runs


@dataclass(frozen=True)
class Overlay:
    """Runs, the law fitted to them and its bootstrap resamples."""

    runs: object  # fit.io.Runs
    law: object  # ParametricLaw
    resampled: object | None  # (K, 5) bootstrap samples of (E, A, B, alpha, beta), or None
    level: float
    flops_range: tuple

    def isoflop(self, add, c_plan, n_plan) -> None:
        for series in self._through_runs:
            add(*series[0], **series[1])
        self._isoflop_curve(add, c_plan, n_plan)

    @cached_property
    def _through_runs(self) -> list:
        """The runs, and the fit's isoFLOP curves through the best-sampled budgets (these do not
        move with the plan: computed once)."""
        from scalinglab.fit.isoflop import group_budgets

        r, out = self.runs, []
        labels, centres = group_budgets(r.flops)
        out.append((("your runs", "points", r.n_params, r.loss, [
            f"run: N = {format_count(n)}, D = {format_count(d)}, C = {format_sci(c)} FLOP, loss "
            f"{x:.4f}" for n, d, c, x in zip(r.n_params, r.n_tokens, r.flops, r.loss)], "runs"), {}))
        counts = np.bincount(labels, minlength=len(centres))
        for k in sorted(np.argsort(-counts, kind="stable")[:MAX_BUDGETS]):  # best-sampled budgets
            if counts[k] >= 3:
                n = np.geomspace(r.n_params[labels == k].min() / 1.2, r.n_params[labels == k].max() * 1.2, 31)
                self._isoflop_curve(lambda *a, **kw: out.append((a, kw)), centres[k], n)
        return out

    def _isoflop_curve(self, add, c, n) -> None:
        self._curve(add, "your fit", n, curves.isoflop_loss(self.law, c, n),
                    lambda samples: curves.resampled_isoflop_loss(samples, c, n),
                    lambda a, x: f"your fit at {format_sci(c)} FLOP: N = {format_count(a)}, "
                                 f"D = {format_count(tokens_for_compute(c, a))}, loss {x:.4f}")

    def frontier(self, add, c) -> None:
        r = self.runs
        add("your runs", "points", r.flops, r.n_params, [
            f"run: C = {format_sci(cc)} FLOP, N = {format_count(n)}, loss {x:.4f}"
            for cc, n, x in zip(r.flops, r.n_params, r.loss)], "runs")
        self._curve(add, "your fit", c, self.law.optimal(c).n_params,
                    lambda samples: curves.resampled_optimal_params(samples, c),
                    lambda x, n: f"your fit at {format_sci(x)} FLOP: N = {format_count(n)}")

    def _curve(self, add, name, xs, ys, resampled_ys, label) -> None:
        if self.resampled is not None:
            lo, hi = curves.band(resampled_ys(self.resampled), self.level)
            add(f"{name}: {self.level:.0%} bootstrap band", "band", xs, lo, None, "fit", hi=hi)
        add(name, "line", xs, ys, [label(a, b) for a, b in zip(np.atleast_1d(xs), np.atleast_1d(ys))],
            "fit")


class Fits:
    """Fit reports and overlays by request body, the last CACHE_SIZE of them."""

    def __init__(self, verbs):
        self.verbs = verbs
        self._cache = OrderedDict()
        self._lock = threading.Lock()

    def get(self, body: dict) -> tuple:
        """(the `fit` verb's report, as /api/fit prints it; Overlay) for a fit body."""
        key = json.dumps(body, sort_keys=True)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        report = self.verbs.run("fit", body)
        out = report, overlay(report)
        with self._lock:
            self._cache[key] = out
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return out


def overlay(report) -> Overlay | None:
    """What the charts draw of a fit report: its runs, its law, its bootstrap resamples."""
    if report.approach != 3:
        return None  # Approach 2 has no L(N, D) to draw; its document lists the per-budget optima
    runs, boot = report.data, report.bootstrap
    return Overlay(runs, report.law, boot.samples if boot is not None else None,
                   boot.level if boot is not None else report.ci["level"],
                   (float(runs.flops.min()), float(runs.flops.max())))
