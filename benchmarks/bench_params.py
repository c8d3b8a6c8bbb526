"""Closed form vs building the model: a whole `scalinglab params deepseek-v3.json` process against a
process that builds DeepSeek-V3 with transformers on the meta device and counts numel (same run).

    python benchmarks/bench_params.py [--repeat 5]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = str(ROOT / "src")
CONFIG = str(ROOT / "tests" / "data" / "hf_configs" / "deepseek-v3.json")
BUILD = ("import json; from scalinglab.architecture.exact import build_model, numel; "
         f"print(numel(build_model(json.load(open({CONFIG!r})))))")


def wall(cmd: list[str], repeat: int) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": SRC, "HF_HUB_OFFLINE": "1"}
    times, out = [], ""
    for _ in range(repeat):
        t = time.perf_counter()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    base, _ = wall([sys.executable, "-c", "pass"], args.repeat)
    startup, _ = wall([sys.executable, "-m", "scalinglab", "loss", "70B", "15T"], args.repeat)
    closed, out = wall([sys.executable, "-m", "scalinglab", "params", CONFIG, "--json"], args.repeat)
    total = out.split('"total": ')[1].split(",")[0]
    print(f"python -c pass                        {base * 1e3:9.1f} ms (median of {args.repeat})")
    print(f"scalinglab loss 70B 15T (start-up)    {startup * 1e3:9.1f} ms")
    print(f"scalinglab params deepseek-v3.json    {closed * 1e3:9.1f} ms  total = {total}")
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        print("transformers build                    skipped (torch/transformers not installed)")
        return
    built, n = wall([sys.executable, "-c", BUILD], max(1, args.repeat // 2))
    print(f"transformers meta-device build        {built * 1e3:9.1f} ms  numel = {n.strip()}")
    print(f"ratio build / closed form             {built / closed:9.1f}x")


if __name__ == "__main__":
    main()
