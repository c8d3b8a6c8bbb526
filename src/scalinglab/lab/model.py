"""A small decoder-only transformer (in the spirit of nanoGPT's model.py), built from a
TransformerSpec so that architecture/ counts its parameters and FLOPs exactly.

Pre-LayerNorm blocks; one fused QKV matrix and no biases; scaled_dot_product_attention with a
causal mask (flash kernels on CPU and GPU, no T x T scores kept); a GELU MLP of 4 d; the output
head tied to the token embedding; rotary positions or none (no position table, so N has no
sequence-length term). Initialisation as GPT-2: N(0, 0.02), residual projections scaled by
1/sqrt(2 n_layers).
"""

import math

from scalinglab.lab import require_torch

torch = require_torch()
nn, F = torch.nn, torch.nn.functional


def rotary(seq_len: int, head_dim: int, base: float = 10000.0):
    """cos, sin of shape (seq_len, 1, head_dim // 2) (Su et al. 2021, RoFormer)."""
    inv = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    ang = torch.outer(torch.arange(seq_len, dtype=torch.float32), inv)[:, None, :]
    return ang.cos(), ang.sin()


def rotate(x, cos, sin):
    """Rotary embedding on (B, T, h, hd): the two halves of each head rotated pairwise."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)


class Block(nn.Module):
    def __init__(self, d: int, n_heads: int, d_ff: int):
        super().__init__()
        self.n_heads = n_heads
        self.ln_1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.proj = nn.Linear(d, d, bias=False)
        self.ln_2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, d_ff, bias=False)
        self.fc_proj = nn.Linear(d_ff, d, bias=False)

    def forward(self, x, rope=None):
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln_1(x)).view(B, T, 3, self.n_heads, C // self.n_heads).unbind(2)
        if rope is not None:
            q, k, v = rotate(q, *rope), rotate(k, *rope), v.contiguous()
        y = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2),
                                           v.transpose(1, 2), is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))  # a view: SDPA writes (B, T, h, hd)
        return x + self.fc_proj(F.gelu(self.fc(self.ln_2(x))))


class GPT(nn.Module):
    """Token ids (B, T) -> mean cross-entropy in nats per token (with targets) or logits."""

    def __init__(self, spec, seq_len: int):
        super().__init__()
        self.wte = nn.Embedding(spec.vocab_size, spec.d_model)
        self.blocks = nn.ModuleList(Block(spec.d_model, spec.n_heads, spec.d_ff)
                                    for _ in range(spec.n_layers))
        self.ln_f = nn.LayerNorm(spec.d_model)
        self.rope = spec.positions == "rotary"
        if self.rope:
            cos, sin = rotary(seq_len, spec.head_dim)
            self.register_buffer("cos", cos, persistent=False)
            self.register_buffer("sin", sin, persistent=False)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * spec.n_layers) if name.endswith("proj.weight") else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, idx, targets=None, reduction: str = "mean"):
        T = idx.shape[1]
        rope = (self.cos[:T], self.sin[:T]) if self.rope else None
        x = self.wte(idx)
        for block in self.blocks:
            x = block(x, rope)
        logits = F.linear(self.ln_f(x), self.wte.weight)
        if targets is None:
            return logits
        return F.cross_entropy(logits.view(-1, logits.size(-1)).float(), targets.reshape(-1),
                               reduction=reduction)


def n_params(model) -> int:
    """Parameters, the tied embedding/head once."""
    return sum(p.numel() for p in model.parameters())
