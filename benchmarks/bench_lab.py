"""The lab on this machine: training throughput of a ladder's largest rung against the CPU's
fp32 matmul peak measured in the same run (interleaved, so that other processes on the cores
weigh on both alike), its memory against scalinglab's estimate, and optionally a whole ladder:
wall time, interior minima, fitted exponent and tokens/param, the held-out prediction.

    python benchmarks/bench_lab.py [--budgets 5e11,1e12,2e12,4e12] [--rounds 5] [--seconds 2]
    python benchmarks/bench_lab.py --runs out/runs-default   # also report a trained ladder

Throughput: `rounds` times, a fresh peak measurement (fp32 torch.mm, n = 256..1024) and then
`seconds` of training steps of the rung; each is the best of its rounds (contention only slows
either down). FLOP per step: the rung's FLOP per token (6N + attention, palm) x batch tokens.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from scalinglab.lab import require_torch  # noqa: E402

torch = require_torch()

from scalinglab.lab import device, ladder  # noqa: E402
from scalinglab.lab.model import GPT  # noqa: E402
from scalinglab.lab.train import (_optimizer, _step, comparable, memory_estimate,  # noqa: E402
                                  train_rung)


def throughput(rung, rounds: int, seconds: float, threads: int) -> dict:
    """Best peak and best training FLOP/s over interleaved rounds."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = GPT(rung.spec, rung.seq_len)
    opt = _optimizer(torch, model, rung, False)
    params = list(model.parameters())
    x = torch.randint(0, 256, (rung.batch_size, rung.seq_len + 1))
    amp = torch.autocast("cpu", enabled=False)
    _step(torch, model, opt, params, x[:, :-1], x[:, 1:], amp, rung)
    peaks, runs = [], []
    for _ in range(rounds):
        peaks.append(device.measure_cpu_peak(threads, sizes=(256, 512, 1024), seconds=0.2,
                                             repeats=2).peak_flops)
        k, t = 0, time.perf_counter()
        while time.perf_counter() - t < seconds:
            _step(torch, model, opt, params, x[:, :-1], x[:, 1:], amp, rung)
            k += 1
        runs.append(rung.flops_per_token * rung.batch_tokens * k / (time.perf_counter() - t))
    return {"peak": max(peaks), "train": max(runs), "peaks": peaks, "runs": runs}


def ladder_report(runs_dir: Path) -> None:
    from scalinglab.lab.report import fit_runs

    t = time.perf_counter()
    fit = fit_runs(runs_dir)
    print(f"\nladder {runs_dir}: {fit.n_runs} runs; lab fit took {time.perf_counter() - t:.1f} s")
    start, end = (runs_dir.parent / f"{runs_dir.name.removeprefix('runs-')}.{x}" for x in
                  ("start", "end"))
    if start.exists() and end.exists():
        wall = int(end.read_text()) - int(start.read_text())
        print(f"  wall time of `lab run`: {wall / 60:.1f} min (target <= 20)")
    train = sum(r["train s"] for r in fit.runs)
    print(f"  training seconds summed over rungs: {train / 60:.1f} min")
    for b in fit.budgets:
        print(f"  {b['flops']:.0e}: {b['n_runs']} runs, best {b['best_rung']} "
              f"{b['best_loss']:.4f}, interior minimum: {b['interior']}  {b['note']}")
    print(f"  Approach 3: {fit.approach3['summary']}")
    print(f"  Approach 2: {fit.approach2['summary']}")
    print(f"  held-out: {fit.holdout['summary']}")
    big = max(fit.runs, key=lambda r: r["N"])
    print(f"  largest rung {big['rung']}: {big['GFLOP/s']:.1f} GFLOP/s, MFU {big['MFU']:.1%} of "
          f"the peak measured before it; memory measured/estimate {big['measured/estimate']:.3f}")
    print(f"  figure {fit.figure}, report {fit.html}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--budgets", default=",".join(f"{b:g}" for b in ladder.DEFAULT_BUDGETS))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--threads", type=int, nargs="*",
                    default=sorted({1, device.cpu_threads()}),
                    help="thread counts to measure (the lab trains on the faster, see "
                         "device.choose_threads)")
    ap.add_argument("--runs", type=Path, help="a trained runs/ folder to report on as well")
    a = ap.parse_args()
    lad = ladder.plan([float(b) for b in a.budgets.split(",")])
    big = max(lad.rungs, key=lambda r: r.n_params)
    print(f"largest rung {big.id}: N {big.n_params:,}, {big.d_model} x {big.n_layers}, batch "
          f"{big.batch_tokens:,} tokens, {big.flops_per_token:,.0f} FLOP/token "
          f"({big.flops_convention})")
    best = None
    for threads in a.threads:
        t = throughput(big, a.rounds, a.seconds, threads)
        print(f"  {threads} thread(s): peak fp32 matmul {t['peak'] / 1e9:6.1f} GFLOP/s "
              f"[{', '.join(f'{p / 1e9:.0f}' for p in t['peaks'])}], training "
              f"{t['train'] / 1e9:6.1f} GFLOP/s [{', '.join(f'{p / 1e9:.0f}' for p in t['runs'])}]"
              f": training / peak {t['train'] / t['peak']:.3f} (target >= 0.5)")
        if best is None or t["train"] > best["train"]:
            best = {**t, "threads": threads}
    t = best
    print(f"  the lab would train on {t['threads']} thread(s) (the faster): training / peak "
          f"{t['train'] / t['peak']:.3f}")
    with __import__("tempfile").TemporaryDirectory() as d:
        short = ladder.resolve(big.budget, big.d_model, big.n_layers, lad.rules, 0, lad.corpus,
                               lad.corpus_sha256)
        from dataclasses import replace

        res = train_rung(replace(short, steps=lad.rules.min_steps), d, peak_flops=t["peak"],
                         threads=t["threads"])
    est = memory_estimate(big, "fp32")
    print(f"  memory of one step: measured {res.memory_bytes / 1e6:.2f} MB (saved tensors + "
          f"states), estimate {comparable(est, False) / 1e6:.2f} MB, ratio "
          f"{res.memory_bytes / comparable(est, False):.4f} (target within 10%)")
    for k in est:
        print(f"    {k:12s} measured {res.memory.get(k, 0) / 1e6:8.3f} MB  estimate "
              f"{est[k] / 1e6:8.3f} MB" + ("  (backward transient: not a saved tensor)"
                                           if k == "loss_peak" else ""))
    if a.runs:
        ladder_report(a.runs)
    print(json.dumps({"threads": t["threads"], "peak_flops": t["peak"], "train_flops": t["train"],
                      "ratio": t["train"] / t["peak"],
                      "memory_ratio": res.memory_bytes / comparable(est, False)}))


if __name__ == "__main__":
    main()
