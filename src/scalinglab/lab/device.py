"""Where the lab trains and the peak its MFU is measured against.

CPU: fp32; torch threads: as given, else whichever of 1 and all cores runs the rung's own
training micro-step faster now (choose_threads), with OpenMP's threads waiting passively
(lab/__init__.py); the peak MEASURED at that thread count: the best sustained
FLOP/s of square fp32 matmuls (2 n^3 FLOP each) over a few sizes, best of a few repeats (what
the BLAS reaches on this machine now, not a datasheet), the highest of the measurements this
process made. CUDA: bf16 autocast over fp32 weights, fused AdamW, and the catalogue's dense bf16
peak for the detected GPU (data/accelerators.csv, matched by name). `peak_flops` overrides both.
"""

import os
import platform
import time
from dataclasses import dataclass, field

from scalinglab.errors import InputError, unknown
from scalinglab.lab import require_torch
from scalinglab.results import Result

DEVICES = ("auto", "cpu", "cuda")
PEAK_SIZES = (256, 512, 1024, 2048)


@dataclass(frozen=True)
class Peak(Result):
    """A peak FLOP/s and how it was found (`scalinglab lab peak --json`)."""

    peak_flops: float
    device: str
    name: str
    dtype: str
    threads: int
    method: str
    by_size: dict = field(default_factory=dict)  # matmul size -> best FLOP/s
    seconds: float = 0.0


@dataclass(frozen=True)
class Device(Result):
    """The device a rung trains on."""

    kind: str       # cpu | cuda
    name: str
    dtype: str      # fp32 on CPU, bf16 (autocast) on CUDA
    threads: int
    peak_flops: float
    peak_source: str
    accelerator: str | None = None  # catalogue id on CUDA
    threads_source: str = ""


def cpu_threads() -> int:
    """The cores this process may run on (affinity and cpusets respected where the OS tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "CPU"


def measure_cpu_peak(threads: int | None = None, sizes=PEAK_SIZES, seconds: float = 0.25,
                     repeats: int = 3) -> Peak:
    """Best sustained fp32 matmul FLOP/s: for each n x n size, repeats of ~`seconds` each."""
    torch = require_torch()
    threads = threads or cpu_threads()
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    by_size = {}
    g = torch.Generator().manual_seed(0)
    for n in sizes:
        a, b = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
        c = torch.empty(n, n)
        torch.mm(a, b, out=c)  # warm up
        best = 0.0
        for _ in range(repeats):
            k, t = 0, time.perf_counter()
            while True:
                torch.mm(a, b, out=c)
                k += 1
                dt = time.perf_counter() - t
                if dt >= seconds:
                    break
            best = max(best, 2.0 * n**3 * k / dt)
        by_size[n] = best
    peak = max(by_size.values())
    return Peak(peak, "cpu", cpu_name(), "fp32", threads,
                f"best of {repeats} x {seconds:g} s of torch.mm on n x n fp32 matrices, n in "
                f"{', '.join(map(str, sizes))}; {threads} thread(s); 2 n^3 FLOP each",
                by_size, time.perf_counter() - t0)


def cuda_peak(name: str) -> tuple[float, str, str]:
    """(bf16 dense peak, catalogue id, source) for a CUDA device name ('NVIDIA H100 80GB HBM3')."""
    from scalinglab.hardware import get_accelerator

    try:
        acc = get_accelerator(name)
    except InputError:
        raise InputError(f"GPU {name!r} is not in the accelerator catalogue, so the lab has no "
                         "peak to measure MFU against: pass --peak-flops (e.g. 989e12)") from None
    return acc.peak_flops("bf16"), acc.id, f"catalogue: {acc.name}, dense bf16 ({acc.source})"


def choose_threads(work, rounds: int = 2) -> tuple[int, str]:
    """(threads, why): 1 or all cores, whichever runs `work()` (a training micro-step) faster
    now, best of `rounds` alternating tries after a warm-up. On cores other processes share,
    one thread often wins: measured here on 2 shared cores, a ladder's largest rung ran at 83
    GFLOP/s on 1 thread and 52 on 2 (its matmul peak: 120 and 114)."""
    torch = require_torch()
    counts = sorted({1, cpu_threads()})
    best = {t: float("inf") for t in counts}
    for t in counts:
        torch.set_num_threads(t)
        work()
    for _ in range(rounds):
        for t in counts:
            torch.set_num_threads(t)
            t0 = time.perf_counter()
            work()
            best[t] = min(best[t], time.perf_counter() - t0)
    pick = min(best, key=best.get)
    return pick, "the faster for one training micro-step now (" + ", ".join(
        f"{t} thread(s): {s * 1e3:.1f} ms" for t, s in best.items()) + ")"


def setup(device: str = "auto", peak_flops: float | None = None,
          threads: int | None = None, probe=None) -> Device:
    """The device to train on. CPU: `threads` as given, else the faster of 1 and all cores for
    `probe()` (one training micro-step; see choose_threads), else all cores; the peak as given,
    else measured now at that thread count."""
    torch = require_torch()
    if device not in DEVICES:
        raise unknown("device", device, DEVICES)
    cuda = torch.cuda.is_available()
    if device == "cuda" and not cuda:
        raise InputError(f"--device cuda: torch {torch.__version__} sees no CUDA device; use "
                         "--device cpu")
    if (device == "auto" and cuda) or device == "cuda":
        name = torch.cuda.get_device_name()
        if peak_flops:
            return Device("cuda", name, "bf16", 0, float(peak_flops), "given (--peak-flops)")
        peak, acc, source = cuda_peak(name)
        return Device("cuda", name, "bf16", 0, peak, source, acc)
    how = "given"
    if threads is None and probe is not None and cpu_threads() > 1:
        threads, how = choose_threads(probe)
    elif threads is None:
        threads, how = cpu_threads(), "all cores"
    torch.set_num_threads(int(threads))
    if peak_flops:
        return Device("cpu", cpu_name(), "fp32", int(threads), float(peak_flops),
                      "given (--peak-flops)", threads_source=how)
    p = measure_cpu_peak(int(threads), sizes=(256, 512, 1024), seconds=0.15, repeats=2)
    best = _BEST.setdefault(int(threads), [])
    best.append(p.peak_flops)
    return Device("cpu", p.name, "fp32", int(threads), max(best), f"measured: the highest of "
                  f"{len(best)} measurement(s) in this process, one before each rung (other "
                  f"processes on these cores only lower it); each {p.method}",
                  threads_source=how)


_BEST: dict = {}  # threads -> every CPU peak measured in this process


def peak(device: str = "auto", threads: int | None = None) -> Peak:
    """`scalinglab lab peak`: the CPU's fp32 matmul peak on `threads` (default all cores),
    measured, or a GPU's catalogue peak."""
    torch = require_torch()
    if device == "cuda" or (device == "auto" and torch.cuda.is_available()):
        d = setup("cuda")
        return Peak(d.peak_flops, "cuda", d.name, "bf16", 0, d.peak_source)
    if device not in DEVICES:
        raise unknown("device", device, DEVICES)
    if threads is not None and threads < 1:
        raise InputError(f"--threads must be at least 1, got {threads}")
    return measure_cpu_peak(threads)
