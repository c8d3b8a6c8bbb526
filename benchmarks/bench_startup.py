"""Start-up cost of the CLI: `scalinglab loss 70B 15T` against `python -c pass`, same machine, same run.

    python benchmarks/bench_startup.py [--repeat 10]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")


def wall(cmd: list[str], repeat: int) -> float:
    env = {**os.environ, "PYTHONPATH": SRC}
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    base = wall([sys.executable, "-c", "pass"], args.repeat)
    cli = wall([sys.executable, "-m", "scalinglab", "loss", "70B", "15T"], args.repeat)
    print(f"python -c pass            {base * 1e3:8.1f} ms (median of {args.repeat})")
    print(f"scalinglab loss 70B 15T   {cli * 1e3:8.1f} ms")
    print(f"ratio                     {cli / base:8.1f}x  (target: no scipy/matplotlib/torch at start-up)")


if __name__ == "__main__":
    main()
