"""Inference-aware optimum for many (loss, inference tokens) pairs: one vectorised Newton solve in
log D (laws/inference_aware.py) against a per-point scipy.optimize.newton loop on D itself, started
at 1e8 as in nikhilsardana/beyond-chinchilla compute_optimal.py. Same machine, same run.

    python benchmarks/bench_inference_aware.py [--points 2000]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from scalinglab.laws import get_law  # noqa: E402
from scalinglab.laws.inference_aware import train_tokens  # noqa: E402


def per_point(law, losses, ts):
    from scipy.optimize import newton

    a, b, B, E = law.alpha, law.beta, law.B, law.E
    out, failed = np.full(len(losses), np.nan), 0
    for i, (l, t) in enumerate(zip(losses, ts)):
        f = lambda x: (b * B / a + B) * x**-b + (t * b * B / (3 * a)) * x ** (-b - 1) + E - l  # noqa: E731
        try:
            out[i] = newton(f, 1e8, tol=1e-5, maxiter=100, rtol=1e-8)
        except (RuntimeError, OverflowError, ZeroDivisionError):
            failed += 1
    return out, failed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--points", type=int, default=2000)
    args = ap.parse_args()
    law = get_law("sardana2023")
    rng = np.random.default_rng(0)
    losses = law.E + rng.uniform(0.1, 0.6, args.points)
    ts = 10.0 ** rng.uniform(9, 14, args.points)
    import scipy.optimize  # noqa: F401  (import cost outside the timing)

    t0 = time.perf_counter()
    base, failed = per_point(law, losses, ts)
    t1 = time.perf_counter()
    ours = train_tokens(law, losses, ts)
    t2 = time.perf_counter()
    ok = np.isfinite(base)
    diff = np.max(np.abs(ours[ok] / base[ok] - 1)) if ok.any() else float("nan")
    print(f"points                         {args.points}")
    print(f"per-point scipy newton         {(t1 - t0) * 1e3:9.1f} ms  ({failed} failed to converge)")
    print(f"vectorised Newton in log D     {(t2 - t1) * 1e3:9.1f} ms")
    print(f"ratio                          {(t1 - t0) / (t2 - t1):9.1f}x faster")
    print(f"max relative difference in D   {diff:9.1e}  (where the baseline converged)")


if __name__ == "__main__":
    main()
