"""Check memory.py against a real GPU: torch.cuda.max_memory_allocated over one training step of
the small Hugging Face models of scalinglab.memcheck.MATRIX, next to the estimate.

    python scripts/gpu_memory_check.py                  # the whole matrix (CUDA)
    python scripts/gpu_memory_check.py --family llama --family mixtral
    python scripts/gpu_memory_check.py --cpu            # no GPU: saved-tensor bytes only

Per row: the estimate without the overhead term and the reserve (max_memory_allocated counts live
tensors, not the CUDA context or the allocator's slack): weights + gradients + optimizer +
activations + loss peak; the measured peak; their ratio; and the bytes autograd saved for backward
(the CPU test's measure) on this device next to the estimate's. Prints a markdown table for
docs/memory.md. The estimate is an upper bound by design where the step's peak does not hold
everything at once (gradients freed by zero_grad(set_to_none=True) are counted as live, as they
are under gradient accumulation). Needs torch and transformers.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def rows(cases, device: str) -> list[dict]:
    """One dict per case: estimate, measured peak (CUDA only), saved bytes measured and estimated."""
    from scalinglab import memcheck
    from scalinglab.architecture.hf import spec_from_config
    from scalinglab.memory import estimate, shape_from_spec

    out = []
    for case in cases:
        shape = shape_from_spec(spec_from_config(case.config))
        e = estimate(shape, "train", overhead=0.0, **case.flags)
        saved = memcheck.saved_bytes(case, device=device)
        row = {"case": case.label(), "estimate": e.per_gpu_bytes, "saved": saved.total,
               "saved_estimate": e.activations["saved"], "peak": None}
        if device == "cuda":
            row["peak"], row["before"] = memcheck.cuda_peak_bytes(case)
        out.append(row)
    return out


def table(rs: list[dict]) -> str:
    lines = ["| case | estimate | peak allocated | peak / estimate | saved | saved / estimate |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in rs:
        peak = "-" if r["peak"] is None else f"{r['peak']:,}"
        ratio = "-" if r["peak"] is None else f"{r['peak'] / r['estimate']:.2f}"
        lines.append(f"| {r['case']} | {r['estimate']:,.0f} | {peak} | {ratio} | "
                     f"{r['saved']:,} | {r['saved'] / r['saved_estimate']:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--family", action="append", help="only these families (repeatable)")
    ap.add_argument("--cpu", action="store_true", help="run on CPU (saved tensors only)")
    args = ap.parse_args(argv)
    import torch

    from scalinglab import memcheck

    device = "cpu" if args.cpu or not torch.cuda.is_available() else "cuda"
    if device == "cpu" and not args.cpu:
        print("no CUDA device: saved-tensor bytes on CPU only (the peak needs a GPU)")
    cases = [c for c in memcheck.MATRIX if not args.family or c.family in args.family]
    if device == "cuda":
        print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    print(table(rows(cases, device)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
