"""Check memory.py against a real training step: torch.cuda.max_memory_allocated vs the estimate.

    python scripts/gpu_memory_check.py                 # a few GPT shapes, no/full recomputation
    python scripts/gpu_memory_check.py --d-model 2048 --layers 8 --seq 2048 --batch 2

The model is a GPT layer exactly as Korthikanti et al. 2022 count it (LayerNorm, QKV, explicit
softmax + dropout, output projection + dropout, 4h GELU MLP + dropout), in bf16, with fp32 master
weights stepped by AdamW: the 16 bytes/parameter of memory.model_state_bytes. The estimate is
weights + gradients + optimizer + activations + logits, WITHOUT the overhead term
(max_memory_allocated counts live tensors, not the CUDA context or allocator fragmentation).
Without CUDA it runs the exact live-tensor check of the model states on CPU and says so.
Needs torch (pip install torch). Prints one row per shape and the measured/estimated ratio.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.utils.checkpoint import checkpoint  # noqa: E402

from scalinglab.memory import Shape, estimate, model_state_bytes  # noqa: E402


class Block(nn.Module):
    def __init__(self, d, heads, p=0.1):
        super().__init__()
        self.heads, self.p = heads, p
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        b, s, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, s, 3, self.heads, d // self.heads).transpose(1, 3) \
            .unbind(2)
        att = (q @ k.transpose(-1, -2)) / (d // self.heads) ** 0.5
        att = att.masked_fill(torch.ones(s, s, dtype=torch.bool, device=x.device).triu(1),
                              float("-inf"))
        att = F.dropout(att.softmax(-1), self.p, self.training)
        y = (att @ v).transpose(1, 2).reshape(b, s, d)
        x = x + F.dropout(self.proj(y), self.p, self.training)
        return x + F.dropout(self.out(F.gelu(self.fc(self.ln2(x)))), self.p, self.training)


class GPT(nn.Module):
    def __init__(self, d, layers, heads, vocab, full_recompute=False):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln, self.head = nn.LayerNorm(d), nn.Linear(d, vocab, bias=False)
        self.full = full_recompute

    def forward(self, idx):
        x = self.emb(idx)
        for blk in self.blocks:
            x = checkpoint(blk, x, use_reentrant=False) if self.full else blk(x)
        return self.head(self.ln(x))


def _bytes(ts) -> int:
    return sum(t.numel() * t.element_size() for t in ts)


def run(d, layers, heads, vocab, seq, batch, recompute, device):
    torch.manual_seed(0)
    model = GPT(d, layers, heads, vocab, recompute == "full").to(device, torch.bfloat16)
    params = list(model.parameters())
    master = [p.detach().float().requires_grad_() for p in params]
    opt = torch.optim.AdamW(master, lr=1e-4)
    idx = torch.randint(0, vocab, (batch, seq), device=device)

    def step():
        loss = F.cross_entropy(model(idx).float().flatten(0, 1), idx.flatten())
        loss.backward()
        for m, p in zip(master, params):
            m.grad, p.grad = p.grad.float(), None
        opt.step()
        opt.zero_grad(set_to_none=True)
        with torch.no_grad():
            for m, p in zip(master, params):
                p.copy_(m)

    step()  # allocates the optimizer states
    n = sum(p.numel() for p in params)
    states = model_state_bytes(n, "bf16", "adamw")
    live = _bytes(params) + _bytes(master) + _bytes(opt.state[m][k] for m in master
                                                    for k in ("exp_avg", "exp_avg_sq"))
    assert live == states["weights"] + states["optimizer"], (live, states)
    shape = Shape("gpt", n, layers, d, heads, heads, d // heads, vocab, 4 * d, gated_mlp=False)
    e = estimate(shape, "train", batch=batch, seq=seq, recompute=recompute, overhead=0.0)
    if device == "cpu":
        return n, e.per_gpu_bytes, None
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    step()
    torch.cuda.synchronize()
    return n, e.per_gpu_bytes, torch.cuda.max_memory_allocated()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--d-model", type=int, nargs="*", default=[512, 1024, 2048])
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--seq", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--recompute", nargs="*", default=["none", "full"])
    a = ap.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        print("no CUDA: checking model states on live CPU tensors only (no peak to compare)")
    print(f"{'d_model':>8} {'recompute':>9} {'params':>12} {'estimate GB':>12} {'measured GB':>12}"
          f" {'measured/estimate':>18}")
    for d in a.d_model:
        for rc in a.recompute:
            n, est, peak = run(d, a.layers, a.heads, a.vocab, a.seq, a.batch, rc, device)
            meas = f"{peak / 1e9:12.3f} {peak / est:18.3f}" if peak else f"{'-':>12} {'-':>18}"
            print(f"{d:8d} {rc:>9} {n:12,d} {est / 1e9:12.3f} {meas}")
    print("model states (weights + fp32 master + AdamW m, v) equal the estimate byte for byte")


if __name__ == "__main__":
    main()
