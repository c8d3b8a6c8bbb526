"""Start-up cost of the CLI: `scalinglab loss 70B 15T` against `python -c "import numpy, typer,
rich"` (what any numpy + typer + rich CLI pays before doing anything), same machine, same run.
Target (issue 11): a ratio of at most 1.3.

    python benchmarks/bench_startup.py [--repeat 15]
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
    subprocess.run(cmd, check=True, capture_output=True, env=env)  # warm the file cache
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    cases = {"python -c pass": [sys.executable, "-c", "pass"],
             "import numpy, typer, rich": [sys.executable, "-c", "import numpy, typer, rich"],
             "scalinglab loss 70B 15T": [sys.executable, "-m", "scalinglab", "loss", "70B", "15T"],
             "scalinglab --help": [sys.executable, "-m", "scalinglab", "--help"]}
    t = {k: wall(cmd, args.repeat) for k, cmd in cases.items()}
    for k, v in t.items():
        print(f"{k:28s} {v * 1e3:8.1f} ms (median of {args.repeat})")
    base = t["import numpy, typer, rich"]
    print(f"ratio loss / (numpy+typer+rich)  {t['scalinglab loss 70B 15T'] / base:.2f}x  (target <= 1.3)")


if __name__ == "__main__":
    main()
