"""min_gpus: one vectorised estimate over every data-parallel degree (1..16,384) against a Python
loop that calls estimate() once per degree until it fits, same machine, same run.

    python benchmarks/bench_memory.py [--repeat 5]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from scalinglab.memory import estimate, load_shape  # noqa: E402

CASES = [("llama-2-7b", 24e9), ("llama-3-70b", 80e9), ("mixtral-8x7b", 40e9)]


def loop(shape, usable):
    """The baseline: try 1, 2, 3, ... data-parallel GPUs one estimate at a time, against the
    same usable bytes (device memory minus the reserve) the vectorised search uses."""
    for n in range(1, 16_385):
        if estimate(shape, "train", zero=3, recompute="selective", n_gpus=n).per_gpu_bytes <= usable:
            return n
    return None


def best(f, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    print(f"{'model':>16} {'min_gpus':>8} {'vectorised ms':>14} {'loop ms':>10} {'loop/vectorised':>16}")
    for name, mem in CASES:
        shape = load_shape(name)
        usable = estimate(shape, "train", zero=3, gpu_memory_bytes=mem).usable_bytes
        tv, n = best(lambda: estimate(shape, "train", zero=3, recompute="selective",
                                      gpu_memory_bytes=mem).min_gpus, a.repeat)
        tl, m = best(lambda: loop(shape, usable), a.repeat)
        assert n == m, (n, m)
        print(f"{name:>16} {n:>8} {tv * 1e3:14.2f} {tl * 1e3:10.2f} {tl / tv:16.1f}")


if __name__ == "__main__":
    main()
