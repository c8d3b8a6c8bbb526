"""Vectorised training_time over a grid of runs against a Python loop of scalar calls, same run.

    python benchmarks/bench_training.py [--points 20000]

A sweep (FLOP budgets x cluster sizes x MFUs) is one numpy call; the loop is what a caller
without broadcasting would write. Both give the same days (checked).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from scalinglab.training import training_time  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--points", type=int, default=20_000)
    n = ap.parse_args().points
    rng = np.random.default_rng(0)
    flops = 10 ** rng.uniform(20, 26, n)
    gpus = rng.integers(1, 100_000, n).astype(float)
    mfu = rng.uniform(0.2, 0.6, n)

    t = time.perf_counter()
    vec = training_time(flops, "h100", gpus, "bf16", mfu, price=2.0).to_dict()
    t_vec = time.perf_counter() - t

    t = time.perf_counter()
    loop = [training_time(f, "h100", g, "bf16", m, price=2.0).to_dict()
            for f, g, m in zip(flops, gpus, mfu)]
    t_loop = time.perf_counter() - t

    assert np.allclose(vec["days"], [r["days"] for r in loop])
    print(f"{n:,} runs, vectorised  {t_vec * 1e3:9.2f} ms")
    print(f"{n:,} runs, Python loop {t_loop * 1e3:9.2f} ms")
    print(f"ratio (loop / vectorised) {t_loop / t_vec:7.0f}x")


if __name__ == "__main__":
    main()
