"""Greedy decoding on this CPU against the serving roofline computed from this CPU's MEASURED
memory bandwidth and fp32 matmul peak (scalinglab.inference, efficiencies 1: the measured numbers
are what the machine achieves). Needs torch (random weights, nothing downloaded).

    python benchmarks/bench_infer_cpu.py [--batch 1,256] [--rounds 5] [--threads 1]

Measured in the same run: bandwidth = bytes / time of matrix-vector products with 40 layer-sized
fp32 matrices (how a decode step reads its weights; a plain torch.sum read stream is printed too:
MKL's single-thread sgemv streams slower than it); peak = 2 n^3 / time of an fp32 n x n matmul
(n = 2048). The compute-bound batch is 256: smaller batches run narrower matmuls, below the peak. The model
is a Llama-style decoder (RMSNorm, SwiGLU MLP, MHA with a preallocated KV cache, untied head; no
rotary embedding, which adds no weights or matmuls) of ~271M parameters in fp32; its count is
checked against scalinglab's exact count of the same TransformerSpec. Each batch decodes --steps
tokens after a --prompt-token prefill and two untimed warm-up steps; printed: measured decode
tokens/s (B / the median step), the roofline's B / TPOT from the bandwidth and peak measured in
the same round, and estimate / measured (the median of the rounds' ratios).
"""

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from scalinglab import inference  # noqa: E402
from scalinglab.architecture import TransformerSpec, count_params  # noqa: E402
from scalinglab.hardware import Accelerator  # noqa: E402


CLOCK = time.perf_counter  # main() switches to this thread's CPU time when single-threaded


def median_seconds(f, repeat=3) -> float:
    f()
    times = []
    for _ in range(repeat):
        t = CLOCK()
        f()
        times.append(CLOCK() - t)
    return statistics.median(times)


def measure_bandwidth(n: int = 40) -> float:
    """Bytes per second that matrix-vector products stream from n layer-sized fp32 matrices
    (1024 x 2816, 11.5 MB each, 461 MB in all: past every cache), one after another: the read
    pattern of a decode step's weights. (torch.sum, one plain read stream, is printed beside it.)"""
    ws = [torch.ones(1024, 2816) for _ in range(n)]
    v = torch.ones(2816)
    return n * ws[0].numel() * 4 / median_seconds(lambda: [torch.mv(w, v) for w in ws])


def measure_sum_bandwidth(gib: float = 0.5) -> float:
    x = torch.ones(int(gib * 2**30 / 4))
    return x.numel() * 4 / median_seconds(lambda: x.sum())


def measure_peak(n: int = 2048) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n**3 / median_seconds(lambda: a @ b)


def attend(q, k, v):
    """Causal attention of t new queries over the cache (torch's CPU SDPA kernel is slow on
    strided cache views at one query: ~6 ms a call here, more than the layer's matmuls)."""
    t, n = q.shape[2], k.shape[2]
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if t > 1:
        scores = scores.masked_fill(torch.ones(t, n, dtype=torch.bool).triu(n - t + 1), -math.inf)
    return scores.softmax(-1) @ v


class Decoder(torch.nn.Module):
    """A Llama-shaped decoder with a KV cache: enough to time what a decode step reads and does."""

    def __init__(self, s: TransformerSpec, batch: int, max_len: int):
        super().__init__()
        d, ff, h = s.d_model, s.d_ff, s.n_heads
        lin = lambda i, o: torch.nn.Linear(i, o, bias=False)  # noqa: E731
        self.h, self.hd = h, d // h
        self.embed = torch.nn.Embedding(s.vocab_size, d)
        self.layers = torch.nn.ModuleList(torch.nn.ModuleDict(dict(
            n1=torch.nn.RMSNorm(d), qkv=lin(d, 3 * d), o=lin(d, d), n2=torch.nn.RMSNorm(d),
            gate_up=lin(d, 2 * ff), down=lin(ff, d))) for _ in range(s.n_layers))
        self.norm, self.head = torch.nn.RMSNorm(d), lin(d, s.vocab_size)
        shape = (s.n_layers, batch, h, max_len, self.hd)
        self.k, self.v = torch.zeros(shape), torch.zeros(shape)

    def forward(self, tokens: torch.Tensor, pos: int) -> torch.Tensor:
        b, t = tokens.shape
        x = self.embed(tokens)
        for i, L in enumerate(self.layers):
            q, k, v = L["qkv"](L["n1"](x)).view(b, t, 3, self.h, self.hd).unbind(2)
            self.k[i, :b, :, pos:pos + t] = k.transpose(1, 2)
            self.v[i, :b, :, pos:pos + t] = v.transpose(1, 2)
            a = attend(q.transpose(1, 2), self.k[i, :b, :, :pos + t], self.v[i, :b, :, :pos + t])
            x = x + L["o"](a.transpose(1, 2).reshape(b, t, -1))
            g, u = L["gate_up"](L["n2"](x)).chunk(2, dim=-1)
            x = x + L["down"](F.silu(g) * u)
        return self.head(self.norm(x[:, -1]))


def decode_rounds(model: Decoder, batch: int, prompt: int, rounds: int, steps: int) -> list:
    """(bandwidth, peak, decode step seconds) per round: one prefill and two warm-up steps, then
    rounds of [measure bandwidth, measure peak, time `steps` greedy decode steps], so that a busy
    machine slows both sides of each round's ratio alike."""
    tokens = torch.randint(0, model.embed.num_embeddings, (batch, prompt))
    nxt, pos = model(tokens, 0).argmax(-1, keepdim=True), prompt
    for _ in range(2):  # warm-up steps (allocator, threads)
        nxt, pos = model(nxt, pos).argmax(-1, keepdim=True), pos + 1
    out = []
    for _ in range(rounds):
        bw, peak = measure_bandwidth(), measure_peak()
        times = []
        for _ in range(steps):
            t = CLOCK()
            nxt, pos = model(nxt, pos).argmax(-1, keepdim=True), pos + 1
            times.append(CLOCK() - t)
        out.append((bw, peak, statistics.median(times)))
    return out


def roofline(spec, bw, peak, batch, prompt, steps) -> dict:
    """The estimate's row for this batch on a 'GPU' with this CPU's measured bandwidth and peak."""
    cpu = Accelerator(id="this-cpu", name="this CPU (measured)", vendor="", peaks={"fp32": peak},
                      sparse_2to4=False, memory_bytes=int(os.sysconf("SC_PAGE_SIZE")
                                                          * os.sysconf("SC_PHYS_PAGES")),
                      bandwidth=bw, tdp_w=None, year=0, source="bench_infer_cpu.py")
    e = inference.estimate(spec, cpu, weights="fp32", kv_dtype="fp32", batch=[batch],
                           prompt=prompt + 2, output=steps + 1, compute_efficiency=1,
                           bandwidth_efficiency=1)
    return e.rows[0] | {"knee": e.compute_bound_batch}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--batch", default="1,256")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=3, help="decode steps timed per round")
    ap.add_argument("--prompt", type=int, default=8)
    ap.add_argument("--layers", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (default 1, timed by this thread's CPU time: on a shared "
                         "machine a descheduled thread stalls every parallel op of a decode step "
                         "at its barrier, which a single big read or matmul hardly notices; with "
                         "more threads, wall-clock time)")
    a = ap.parse_args()
    global CLOCK
    torch.set_num_threads(a.threads)
    if a.threads == 1:  # the CPU time of this one thread: time other processes take is not ours
        CLOCK = time.thread_time
    torch.manual_seed(0)
    spec = TransformerSpec(d_model=1024, n_layers=a.layers, n_heads=16, vocab_size=32000,
                           d_ff=2816, name="cpu-decoder")
    batches = [int(b) for b in a.batch.split(",")]
    total = a.rounds * a.steps
    model = Decoder(spec, max(batches), a.prompt + total + 3).eval()
    n = sum(p.numel() for p in model.parameters())
    assert n == count_params(spec).total, (n, count_params(spec).total)
    print(f"this machine: {os.cpu_count()} CPU(s), torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s) timed by {CLOCK.__name__}, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"model: {n / 1e6:.0f}M parameters fp32 ({n * 4 / 1e9:.2f} GB), {a.layers} layers, "
          f"d_model 1024, MHA 16 heads, SwiGLU 2816; prompt {a.prompt}; {a.rounds} rounds of "
          f"[bandwidth, peak, {a.steps} decode steps] per batch; medians")
    print(f"read bandwidth: matrix-vector {measure_bandwidth() / 1e9:.1f} GB/s (used below), "
          f"torch.sum {measure_sum_bandwidth() / 1e9:.1f} GB/s")
    print(f"{'batch':>6} {'GB/s':>7} {'GFLOP/s':>8} {'measured tok/s':>15} {'roofline tok/s':>15} "
          f"{'bound':>8} {'estimate/measured':>18} {'(rounds: min-max)':>18}")
    worst, knee = 0.0, None
    med = statistics.median
    with torch.inference_mode():
        for b in batches:
            rounds = decode_rounds(model, b, a.prompt, a.rounds, a.steps)
            rows = [roofline(spec, bw, peak, b, a.prompt, total) for bw, peak, _ in rounds]
            ratios = [r["decode_tokens_per_s"] * step / b for r, (_, _, step) in zip(rows, rounds)]
            got = b / med([step for _, _, step in rounds])
            want, knee, ratio = med([r["decode_tokens_per_s"] for r in rows]), rows[0]["knee"], med(ratios)
            worst = max(worst, abs(math.log(ratio)))
            print(f"{b:>6} {med([r[0] for r in rounds]) / 1e9:7.1f} "
                  f"{med([r[1] for r in rounds]) / 1e9:8.1f} {got:15.2f} {want:15.2f} "
                  f"{rows[0]['bound']:>8} {ratio:18.3f} {min(ratios):8.2f}-{max(ratios):.2f}")
    print(f"load average now {os.getloadavg()[0]:.1f}; roofline knee: compute-bound from batch "
          f"{knee}; worst ratio {math.exp(worst):.3f} "
          f"({'within' if math.exp(worst) <= 1.3 else 'OUTSIDE'} 30%)")


if __name__ == "__main__":
    main()
