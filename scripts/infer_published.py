"""The serving roofline against published measurements that state their setup (model, GPU, dtype,
batch, lengths, tensor parallelism): estimate / measured for each, at the default efficiencies.

    python scripts/infer_published.py            # the markdown table of docs/inference.md

Sources (each row names one):
- gpt-fast: pytorch-labs/gpt-fast README @0f925b5, "Benchmarks": 8 x A100-80GB power-limited to
  330 W, batch 1, a 5-token prompt, generate.py's default 200 new tokens; tokens/s = generated
  tokens / wall time (prefill included). int8 and int4 are weight-only (bf16 matmuls); int4 G=32
  stores a bf16 scale and zero per 32 weights: 4 + 32/32 = 5 bits (quantize.py).
- TRT-LLM: NVIDIA/TensorRT-LLM docs/source/performance.md @77d24b5 (v0.6.1 throughput, v0.5
  first-token latency): "LLaMA 7B/70B" are Llama-2-7b/70b (its methodology section); H100 builds
  with --enable_fp8 --fp8_kv_cache, A100 in FP16; throughput = output tokens/s per GPU of a static
  batch of the stated size, prefill included (gptSessionBenchmark).
Tensor-parallel rows use the catalogue's NVLink bandwidth (A100 SXM 600 GB/s, H100 SXM 900 GB/s,
both directions added: 300 and 450 GB/s per direction).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from scalinglab import inference  # noqa: E402

GPT_FAST = "gpt-fast README"
TRT = "TRT-LLM v0.6.1 performance.md"
TRT_LAT = "TRT-LLM v0.5 performance.md (latency)"

# (source, model, gpu, n_gpus, weights, compute dtype, kv dtype, batch, prompt, output,
#  measured metric, measured value)
PUBLISHED = (
    (GPT_FAST, "llama-2-7b", "a100", 1, "bf16", None, None, 1, 5, 200, "tokens_per_s", 104.9),
    (GPT_FAST, "llama-2-7b", "a100", 1, "int8", "bf16", "bf16", 1, 5, 200, "tokens_per_s", 155.58),
    (GPT_FAST, "llama-2-7b", "a100", 1, "5bpw", "bf16", "bf16", 1, 5, 200, "tokens_per_s", 196.80),
    (GPT_FAST, "llama-2-70b", "a100", 1, "int8", "bf16", "bf16", 1, 5, 200, "tokens_per_s", 19.13),
    (GPT_FAST, "llama-2-70b", "a100", 1, "5bpw", "bf16", "bf16", 1, 5, 200, "tokens_per_s", 25.25),
    (GPT_FAST, "llama-2-7b", "a100", 2, "bf16", None, None, 1, 5, 200, "tokens_per_s", 168.84),
    (GPT_FAST, "llama-2-7b", "a100", 8, "bf16", None, None, 1, 5, 200, "tokens_per_s", 328.43),
    (GPT_FAST, "llama-2-70b", "a100", 2, "bf16", None, None, 1, 5, 200, "tokens_per_s", 21.32),
    (GPT_FAST, "llama-2-70b", "a100", 8, "bf16", None, None, 1, 5, 200, "tokens_per_s", 62.50),
    (TRT, "llama-2-7b", "a100", 1, "fp16", None, None, 384, 128, 128, "tokens_per_s_per_gpu", 5586),
    (TRT, "llama-2-7b", "a100", 1, "fp16", None, None, 60, 128, 2048, "tokens_per_s_per_gpu", 1928),
    (TRT, "llama-2-7b", "a100", 1, "fp16", None, None, 52, 2048, 128, "tokens_per_s_per_gpu", 591),
    (TRT, "llama-2-70b", "a100", 4, "fp16", None, None, 1280, 128, 128, "tokens_per_s_per_gpu", 670),
    (TRT, "llama-2-70b", "a100", 4, "fp16", None, None, 240, 128, 2048, "tokens_per_s_per_gpu", 525),
    (TRT, "llama-2-7b", "h100", 1, "fp8", None, "fp8", 768, 128, 128, "tokens_per_s_per_gpu", 19694),
    (TRT, "llama-2-7b", "h100", 1, "fp8", None, "fp8", 112, 128, 2048, "tokens_per_s_per_gpu", 6818),
    (TRT, "llama-2-7b", "h100", 1, "fp8", None, "fp8", 80, 2048, 128, "tokens_per_s_per_gpu", 2244),
    (TRT, "llama-2-70b", "h100", 2, "fp8", None, "fp8", 1024, 128, 128, "tokens_per_s_per_gpu", 2657),
    (TRT, "llama-2-70b", "h100", 4, "fp8", None, "fp8", 480, 128, 2048, "tokens_per_s_per_gpu", 1486),
    (TRT_LAT, "llama-2-7b", "a100", 1, "fp16", None, None, 1, 128, 1, "ttft_s", 0.016),
    (TRT_LAT, "llama-2-7b", "a100", 1, "fp16", None, None, 1, 2048, 1, "ttft_s", 0.133),
    (TRT_LAT, "llama-2-70b", "a100", 4, "fp16", None, None, 1, 2048, 1, "ttft_s", 0.377),
    (TRT_LAT, "llama-2-7b", "h100", 1, "fp8", None, "fp8", 1, 2048, 1, "ttft_s", 0.036),
    (TRT_LAT, "llama-2-70b", "h100", 4, "fp8", None, "fp8", 1, 2048, 1, "ttft_s", 0.109),
)


def compare() -> list[dict]:
    """One dict per published row: its setup, the estimate, the measurement, their ratio."""
    out = []
    for src, model, gpu, n, w, cd, kv, b, p, o, metric, measured in PUBLISHED:
        e = inference.estimate(model, gpu, n, w, kv, batch=[b], prompt=p, output=o,
                               compute_dtype=cd)
        r = e.rows[0]
        est = r[metric]
        out.append({"source": src, "model": model, "gpu": gpu, "n_gpus": n, "weights": w,
                    "batch": b, "prompt": p, "output": o, "metric": metric, "measured": measured,
                    "estimate": est, "ratio": est / measured, "bound": r["bound"],
                    "prefill_bound": r["prefill_bound"], "fits": r["fits"]})
    return out


def main() -> None:
    unit = {"tokens_per_s": "tok/s", "tokens_per_s_per_gpu": "tok/s/GPU", "ttft_s": "TTFT s"}
    print("| source | model | GPUs | weights | batch | prompt / output | metric | measured | "
          "estimate | estimate / measured | bound | fits |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in compare():
        fmt = (lambda x: f"{x:.3g}") if r["metric"] == "ttft_s" else (lambda x: f"{x:,.0f}"
                                                                       if x >= 100 else f"{x:.3g}")
        bound = r["prefill_bound"] + " (prefill)" if r["metric"] == "ttft_s" else r["bound"]
        print(f"| {r['source']} | {r['model']} | {r['n_gpus']} x {r['gpu']} | {r['weights']} | "
              f"{r['batch']:,} | {r['prompt']:,} / {r['output']:,} | {unit[r['metric']]} | "
              f"{fmt(r['measured'])} | {fmt(r['estimate'])} | {r['ratio']:.2f} | {bound} | "
              f"{'yes' if r['fits'] else 'NO'} |")


if __name__ == "__main__":
    main()
