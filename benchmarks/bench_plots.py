"""Cost of each figure (build + save PNG at 150 dpi) against the simplest matplotlib figure (one
200-point line, saved the same way), same machine, same run.

    python benchmarks/bench_plots.py [--repeat 3]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np  # noqa: E402

from scalinglab import plots  # noqa: E402
from scalinglab.laws import LAWS  # noqa: E402
from scalinglab.plan import make_plan  # noqa: E402


def baseline():
    fig, (row,) = plots._figure()
    x = np.logspace(7, 12, 200)
    row[0].plot(x, LAWS["besiroglu2024"].loss(x, 20 * x))
    return fig


def runs():
    rng = np.random.default_rng(0)
    n, d = 10 ** rng.uniform(7.5, 10, 240), 10 ** rng.uniform(9, 11.5, 240)
    return n, d, LAWS["besiroglu2024"].loss(n, d) * np.exp(rng.normal(0, 0.01, 240))


FIGURES = {"baseline": baseline, "isoflop": plots.isoflop_figure, "frontier": plots.frontier_figure,
           "contour": plots.contour_figure, "history": plots.history_figure,
           "fit": lambda: plots.fit_figure(*runs()),
           "plan": lambda: plots.plan_figure(make_plan(compute=1e24))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        times = {}
        for name, build in FIGURES.items():
            ts = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                plots.save(build(), Path(tmp) / f"{name}.png")
                ts.append(time.perf_counter() - t)
            times[name] = statistics.median(ts)
    for name, t in times.items():
        print(f"{name:9s} {t * 1e3:8.0f} ms  {t / times['baseline']:5.1f}x baseline "
              f"(median of {args.repeat})")


if __name__ == "__main__":
    main()
