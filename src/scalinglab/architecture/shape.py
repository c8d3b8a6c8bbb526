"""A shape for a size: d_model, layers, heads, kv-heads and d_ff for a target parameter count.

A family fixes everything but width and depth (vocabulary, head width, gated or GELU MLP and the
rule for its width, when attention goes grouped-query, tied or untied embeddings) from its
papers and reference code. Width and depth come from the family's own published shapes: their
aspect ratio d_model / n_layer, interpolated in log N between the family's models, is the
target. Kaplan et al. 2020 (Sec. 3.1, Fig. 5) found the loss changes only a few percent over a
wide range of aspect ratios (d_model / n_layer from ~20 to ~200 at fixed N), so the search may
trade a little aspect ratio for an exact count: among d_model (whole heads and kv-head groups,
in steps of a power of two near d_model / 8, as the families' widths are) and n_layer, it
minimises (ln(total/N) / 0.005)^2 + (ln(aspect/target) /
ln 1.5)^2, a count 1% off weighing as much as an aspect ratio 1.5x off. The count is exact
(architecture.params.count_params of the spec).
"""

import math
from dataclasses import dataclass

import numpy as np

from scalinglab.architecture.params import count_params
from scalinglab.architecture.spec import TransformerSpec
from scalinglab.errors import InputError, unknown
from scalinglab.results import Result, hidden

COUNT_SCALE = 0.01  # ln(total/N) that weighs as much as ...
ASPECT_SCALE = math.log(1.5)  # ... an aspect ratio 1.5x off its target
MAX_ERROR = 0.05  # no shape within 5% of N: an error (the vocabulary alone may be larger)


@dataclass(frozen=True)
class Family:
    """What a family of models fixes, and its published shapes (N, d_model, n_layers)."""

    name: str
    vocab_size: int
    head_dim: int
    anchors: tuple  # (parameters, d_model, n_layers) of the family's published models
    source: str
    gated_mlp: bool = True
    tied_embeddings: bool = False
    norm: str = "rmsnorm"
    positions: str = "rotary"
    max_positions: int = 0
    attn_bias: str = "none"
    mlp_bias: bool = False
    # (from N, n_kv_heads (0: one per query head), ffn_dim_multiplier, multiple_of), last that applies
    rules: tuple = ((0, 0, 1.0, 256),)
    rules_source: str = ""

    def rule(self, n: float) -> tuple:
        """(n_kv_heads, ffn multiplier, multiple_of) for a model of n parameters."""
        return next(r for r in reversed(self.rules) if n >= r[0])[1:]

    def d_ff(self, d_model: int, n: float) -> int:
        """The MLP width: Llama's FeedForward (meta-llama/llama model.py): int(2 x 4d / 3), times
        ffn_dim_multiplier, rounded up to multiple_of; GELU families: 4 d_model."""
        if not self.gated_mlp:
            return 4 * d_model
        _, mult, multiple_of = self.rule(n)
        hidden_dim = int(mult * int(2 * 4 * d_model / 3))
        return multiple_of * ((hidden_dim + multiple_of - 1) // multiple_of)

    def aspect(self, n: float) -> float:
        """Target d_model / n_layer: the family's own, interpolated in ln N, clamped at its ends."""
        a = np.array(self.anchors, dtype=float)
        return float(np.exp(np.interp(np.log(n), np.log(a[:, 0]), np.log(a[:, 1] / a[:, 2]))))

    def spec(self, d_model: int, n_layers: int, n: float, name: str = "") -> TransformerSpec:
        kv, _, _ = self.rule(n)
        heads = d_model // self.head_dim
        return TransformerSpec(
            d_model=d_model, n_layers=n_layers, n_heads=heads, n_kv_heads=kv or heads,
            head_dim=self.head_dim, vocab_size=self.vocab_size, d_ff=self.d_ff(d_model, n),
            gated_mlp=self.gated_mlp, tied_embeddings=self.tied_embeddings, norm=self.norm,
            positions=self.positions, max_positions=self.max_positions, attn_bias=self.attn_bias,
            mlp_bias=self.mlp_bias, name=name, source=self.source)


FAMILIES = {f.name: f for f in (
    Family("llama", 32000, 128,
           ((6.74e9, 4096, 32), (13.0e9, 5120, 40), (32.5e9, 6656, 60), (65.2e9, 8192, 80)),
           "Llama 2 (Touvron et al. 2023b) blocks: SwiGLU, RMSNorm, rotary, untied 32,000-token "
           "embeddings, heads of 128; widths and depths of LLaMA Table 2 (Touvron et al. 2023a: "
           "6.7B 4096 x 32, 13B 5120 x 40, 32.5B 6656 x 60, 65.2B 8192 x 80)",
           rules=((0, 0, 1.0, 256), (30e9, 8, 1.0, 256), (60e9, 8, 1.3, 4096)),
           rules_source="grouped-query attention with 8 kv heads from 34B (Llama 2 paper Sec. "
                        "2.2: the 34B and 70B models); ffn_dim_multiplier 1.3 and multiple_of "
                        "4096 at 70B (Llama-2-70b params.json), else 8d/3 rounded up to 256"),
    Family("llama3", 128256, 128,
           ((8.03e9, 4096, 32), (70.6e9, 8192, 80), (405.9e9, 16384, 126)),
           "Llama 3 (Dubey et al. 2024, Table 3): SwiGLU, RMSNorm, rotary, untied 128,256-token "
           "embeddings, heads of 128, 8 kv heads; 8B 4096 x 32, 70B 8192 x 80, 405B 16384 x 126",
           rules=((0, 8, 1.3, 1024), (30e9, 8, 1.3, 4096), (200e9, 8, 1.2, 4096)),
           rules_source="ffn_dim_multiplier 1.3 with multiple_of 1024 (8B) or 4096 (70B), 1.2 "
                        "at 405B (the models' params.json)"),
    Family("gpt3", 50257, 128,
           ((125e6, 768, 12), (350e6, 1024, 24), (760e6, 1536, 24), (1.3e9, 2048, 24),
            (2.7e9, 2560, 32), (6.7e9, 4096, 32), (13e9, 5140, 40), (175e9, 12288, 96)),
           "GPT-3 (Brown et al. 2020, Table 2.1): GELU MLP of 4 d_model, LayerNorm, biases, "
           "learned positions (2,048), tied 50,257-token embeddings, heads of 128; widths and "
           "depths of Table 2.1 (125M 768 x 12 ... 175B 12288 x 96)",
           gated_mlp=False, tied_embeddings=True, norm="layernorm", positions="learned",
           max_positions=2048, attn_bias="all", mlp_bias=True,
           rules_source="multi-head attention (one kv head per query head) at every size"),
)}
DEFAULT_FAMILY = "llama"


@dataclass(frozen=True)
class ShapeSuggestion(Result):
    """A transformer shape for a target parameter count, with its exact count."""

    target: float
    family: str
    d_model: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    d_ff: int
    vocab_size: int
    total: int  # exact: count_params of the spec
    non_embedding: int
    aspect_ratio: float  # d_model / n_layers
    target_aspect_ratio: float
    spec: TransformerSpec = hidden()
    assumptions: tuple = ()

    _derived = ("error",)

    @property
    def error(self) -> float:
        """total / target - 1."""
        return self.total / self.target - 1


def width_step(d_model: float, unit: int) -> int:
    """The granularity of d_model: whole heads and kv groups (`unit`), and a power of two near
    d_model / 8 (512 at 4096, 1024 at 8192: the families' own widths are such multiples)."""
    g = 2 ** max(0, math.floor(math.log2(d_model / 8)))
    return unit * max(1, g // unit) if g >= unit else unit


def get_family(name) -> Family:
    f = FAMILIES.get(str(name).lower())
    if f is None:
        raise unknown("model family", name, FAMILIES)
    return f


def suggest_shape(n_params, family=DEFAULT_FAMILY) -> ShapeSuggestion:
    """The family's shape closest to n_params parameters (module docstring: the rule)."""
    from scalinglab.units import format_count, parse_number

    n = parse_number(n_params, "parameters N")
    fam = get_family(family)
    r = fam.aspect(n)
    kv, _, _ = fam.rule(n)
    d0 = (n * r / 12) ** (1 / 3)  # N ~ 12 L d^2 with L = d / r (Kaplan 2020, Sec. 2.1)
    step = width_step(d0, fam.head_dim * (kv or 1))
    widths = np.arange(max(1, int(d0 / 3 // step)), int(3 * d0 // step) + 2) * step
    widths = widths[widths > 0]
    one = np.array([count_params(fam.spec(int(d), 1, n)).total for d in widths], dtype=float)
    two = np.array([count_params(fam.spec(int(d), 2, n)).total for d in widths], dtype=float)
    per_layer, fixed = two - one, 2 * one - two
    ideal = (n - fixed) / per_layer
    layers = np.maximum(1, np.stack([np.floor(ideal), np.ceil(ideal)]))  # (2, widths)
    total = fixed + layers * per_layer
    score = ((np.log(total / n) / COUNT_SCALE) ** 2
             + (np.log(widths / layers / r) / ASPECT_SCALE) ** 2)
    i, j = np.unravel_index(np.argmin(score), score.shape)
    d, L = int(widths[j]), int(layers[i, j])
    spec = fam.spec(d, L, n, name=f"{fam.name}-shape-{format_count(n)}").with_(
        source=f"the {fam.name}-family shape for {format_count(n)} parameters (`scalinglab shape "
               f"{format_count(n)} --family {fam.name}`)",
        notes=(f"shape suggested for {format_count(n)} parameters: {d} x {L} layers, "
               f"{spec_heads(d, fam)} heads; {fam.source}",))
    c = count_params(spec)
    err = c.total / n - 1
    if abs(err) > MAX_ERROR:
        raise InputError(f"no {fam.name}-family shape within {MAX_ERROR:.0%} of "
                         f"{format_count(n)} parameters: the closest, {d} x {L}, has "
                         f"{c.total:,} (its {fam.vocab_size:,}-token embeddings alone are "
                         f"{c.breakdown['embeddings']:,})")
    lines = (
        f"family: {fam.source}",
        f"rules: {fam.rules_source}",
        f"width and depth: d_model / n_layer near {r:.0f}, the family's own ratio at this size "
        "(interpolated in ln N); Kaplan et al. 2020 (Sec. 3.1, Fig. 5): the loss changes only "
        "a few percent over a wide range of aspect ratios, so the count is matched first "
        f"(score: (ln(total/N)/{COUNT_SCALE})^2 + (ln(aspect/target)/ln 1.5)^2)",
        "count: exact (count_params of the spec, as transformers allocates it)",
    )
    return ShapeSuggestion(n, fam.name, d, L, spec.n_heads, spec.n_kv_heads, spec.head_dim,
                           spec.d_ff, spec.vocab_size, c.total, c.non_embedding, d / L, r, spec,
                           lines)


def spec_heads(d_model: int, fam: Family) -> int:
    return d_model // fam.head_dim


def is_size(text) -> bool:
    """Whether `text` reads as a parameter count ('13B', '4.5e9') rather than a name or path."""
    from scalinglab.units import parse_number

    try:
        parse_number(text)
    except InputError:
        return False
    return True
