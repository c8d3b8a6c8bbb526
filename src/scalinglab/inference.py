"""The serving roofline: time to first token, time per output token, tokens/s, memory and cost of
serving a transformer on n accelerators of one catalogue row, vectorised over batch and context.

Per GPU, with tensor parallelism over n GPUs (every matrix split n ways, Megatron-style):

  prefill  FLOP  = B x prefill(P) / n       flops.inference_flops_arch: 2 W per token + causal
                                             attention over the prompt (W: matmul weights)
           bytes = weights read once (the experts B P tokens touch) / n + the KV written
  decode   FLOP  = B x decode_per_token(t) / n   (2 W + attention over the t cached tokens)
           bytes = weights touched / n + B x KV cache of t tokens (memory.py's per-GPU cache)
  time     max(bytes / (bandwidth x e_bw), FLOP / (peak x e_flop)) + communication
  comm     2 all-reduces per layer of the activations (B x d_model in decode, B P x d_model in
           prefill, 16-bit), ring all-reduce: latency + 2 (n - 1)/n x size / link bandwidth
           (Patarasuk & Yuan 2009; Megatron-LM's f/g operators, Shoeybi et al. 2019, Sec. 3)

TTFT is the prefill of the batch; TPOT the mean decode step over the output; a static batch of B
requests of P prompt and O output tokens. Memory-bound while the bytes term is larger: for a
dense 16-bit model at short context, decode turns compute-bound near B = peak / bandwidth.
Efficiencies (shares of peak FLOP/s and of bandwidth achieved) are named, with cited defaults.
"""

from dataclasses import dataclass

import numpy as np

from scalinglab import precision, validate
from scalinglab.architecture import count_params, load_spec
from scalinglab.architecture.flops import inference_flops_arch
from scalinglab.architecture.spec import TransformerSpec
from scalinglab.errors import InputError
from scalinglab.hardware import get_accelerator
from scalinglab.memory import (OVERHEAD_FRACTION, MemoryEstimate, Shape, shape_from_spec,
                               weight_bytes)
from scalinglab.memory import estimate as memory_estimate
from scalinglab.results import Result, hidden
from scalinglab.training import DEFAULT_PUE
from scalinglab.units import format_bytes, format_count, format_gib

# Share of the peak FLOP/s a serving stack achieves: 76% MFU "during large-batch-size processing
# of input tokens" (Pope et al. 2022, 'Efficiently Scaling Transformer Inference',
# arXiv:2211.05102, abstract; PaLM 540B on TPU v4).
DEFAULT_COMPUTE_EFFICIENCY = 0.76
# Share of the memory bandwidth achieved: "Empirically, seems like peak bandwidth is about 1700
# GB/s" on an A100-80GB (datasheet 2,039 GB/s), pytorch-labs/gpt-fast README @0f925b5.
DEFAULT_BANDWIDTH_EFFICIENCY = 1700 / 2039
# Latency of one small all-reduce: "approximately 6us" on 2 x H100 over NVLink with CUDA graphs
# (NVIDIA/nccl issue #1259, nccl-tests all_reduce_perf, 128 B - 64 kB messages).
DEFAULT_ALLREDUCE_LATENCY = 6e-6
ACTIVATION_BYTES = 2  # tensor-parallel all-reduces move 16-bit activations
ALLREDUCES_PER_LAYER = 2  # after attention's output projection and the MLP's down projection
# `--weights int4` means what serving stacks load as int4: AWQ/GPTQ with group scales (W4A16)
SERVED_AS = {"int4": "int4-g128"}
DEFAULT_BATCHES = (1, 8, 64, 256)
DEFAULT_PROMPT = 2048
DEFAULT_OUTPUT = 512
DEFAULT_MAX_TPOT = 0.05  # 50 ms per output token: ~20 tokens/s per user, for plan's serving block
MAX_STEPS = 512  # decode steps evaluated per request; longer outputs use that many midpoints
BATCH_LIMIT = 2 ** 20  # the batch searches stop here


def experts_touched(n_experts, top_k, tokens):
    """Expected distinct experts that `tokens` tokens route to in one MoE layer: E (1 - (1 - k/E)^T).

    Each token picks k of the E experts. If every k-subset is equally likely, one token misses a
    given expert with probability C(E-1, k) / C(E, k) = 1 - k/E, and T independent tokens all miss
    it with (1 - k/E)^T; by linearity of expectation the expected number of experts hit is
    E (1 - (1 - k/E)^T), the occupancy problem generalised from one cell per ball to k (Feller,
    'An Introduction to Probability Theory', Vol. I, Ch. IV). Since 1 - (1 - p)^T is concave in
    the expert's share p, uniform routing maximises it (Jensen): an unbalanced router touches
    fewer experts, so this bounds the bytes read from above. T = 1 gives k; T -> inf gives E.
    """
    e, k = float(n_experts), float(top_k)
    t = np.asarray(tokens, dtype=float)
    if e <= 0:
        return np.zeros_like(t)
    return e * -np.expm1(t * np.log1p(-k / e)) if k < e else np.full_like(t, e)


@dataclass(frozen=True)
class Setup(Result):
    """A model on n GPUs: the machine numbers and the model constants the roofline uses."""

    model: str
    gpu: str
    n_gpus: int
    weights: str                  # canonical precision of the stored weights
    weight_bits: float            # per weight, group scales included
    kv_dtype: str
    compute_dtype: str            # the peak the matmuls run at
    peak_flops: float             # per GPU, dense
    bandwidth: float              # per GPU, bytes/s
    link_bandwidth: float | None  # per GPU and direction, bytes/s (tensor parallel only)
    compute_efficiency: float
    bandwidth_efficiency: float
    allreduce_latency_s: float
    weights_bytes: float          # every parameter (all experts), whole model
    weights_per_gpu_bytes: float  # memory.py's per-GPU weights
    memory_capacity_bytes: float  # per GPU, as the device reports it
    usable_bytes: float           # less memory.py's reserve for the CUDA context
    overhead: float               # memory.py's overhead fraction
    tdp_w: float | None
    spec: TransformerSpec = hidden()
    shape: Shape = hidden()
    dense_read_params: float = hidden(default=0.0)  # read once per forward pass (no experts)
    expert_params: float = hidden(default=0.0)      # one routed expert of one layer
    notes: tuple = hidden(default=())

    @property
    def is_moe(self) -> bool:
        return self.spec.is_moe

    def weights_read_bytes(self, tokens):
        """Bytes of weights one forward pass over `tokens` tokens reads, whole model: every dense
        matrix once, the routed experts those tokens touch (experts_touched) and, of the lookup
        tables, only the rows looked up (counted as nothing)."""
        s = self.spec
        t = np.asarray(tokens, dtype=float)
        touched = experts_touched(s.n_experts, s.top_k, t) if s.is_moe else np.zeros_like(t)
        return ((self.dense_read_params + s.n_moe_layers * touched * self.expert_params)
                * self.weight_bits / 8)

    def allreduce_seconds(self, tokens):
        """Tensor-parallel communication of one forward pass over `tokens` tokens: 2 all-reduces
        per layer, each latency + 2 (n - 1)/n x tokens x d_model x 2 bytes / link bandwidth."""
        t = np.asarray(tokens, dtype=float)
        if self.n_gpus == 1:
            return np.zeros_like(t)
        n = self.n_gpus
        size = t * self.spec.d_model * ACTIVATION_BYTES
        per = self.allreduce_latency_s + 2 * (n - 1) / n * size / self.link_bandwidth
        return ALLREDUCES_PER_LAYER * self.spec.n_layers * per

    def memory_at(self, batch, tokens) -> MemoryEstimate:
        """memory.py's inference estimate on this GPU: weights + KV cache of batch sequences of
        `tokens` tokens per GPU (batch an array: per_gpu_bytes and fits are arrays)."""
        return memory_estimate(self.shape, "infer", self.weights, gpu=self.gpu,
                               gpu_memory_bytes=self.memory_capacity_bytes, n_gpus=self.n_gpus,
                               batch=batch, context=tokens, kv_dtype=self.kv_dtype)

    def kv_bytes(self, batch, context):
        """The KV cache one GPU holds for batch sequences of `context` tokens (memory.py: kv heads
        split over tensor ranks, sliding-window layers capped, MLA latents)."""
        one = memory_estimate(self.shape, "infer", self.weights, n_gpus=self.n_gpus, batch=1,
                              context=context, kv_dtype=self.kv_dtype, overhead=0.0)
        return np.asarray(batch, dtype=float) * one.breakdown["kv_cache"]

    def largest_fitting_batch(self, tokens) -> int:
        """The most sequences of `tokens` tokens whose KV cache fits beside the weights."""
        room = self.usable_bytes / (1 + self.overhead) - self.weights_per_gpu_bytes
        return max(int(room // float(self.kv_bytes(1, tokens))), 0)


@dataclass(frozen=True)
class Step(Result):
    """One forward pass per GPU (arrays broadcast over batch and context): its FLOP, the bytes it
    reads and the three times of the roofline."""

    flops: np.ndarray             # per GPU
    weight_bytes: np.ndarray      # per GPU
    kv_bytes: np.ndarray          # per GPU
    memory_s: np.ndarray          # bytes / (bandwidth x efficiency)
    compute_s: np.ndarray         # FLOP / (peak x efficiency)
    communication_s: np.ndarray   # all-reduces

    _derived = ("seconds",)

    @property
    def seconds(self) -> np.ndarray:
        return np.maximum(self.memory_s, self.compute_s) + self.communication_s

    @property
    def compute_bound(self) -> np.ndarray:
        return self.compute_s > self.memory_s


def _step(s: Setup, flops, weight_bytes, kv_bytes, tokens) -> Step:
    n = s.n_gpus
    flops, weight_bytes = np.asarray(flops) / n, np.asarray(weight_bytes) / n
    kv_bytes = np.asarray(kv_bytes, dtype=float)
    memory_s = (weight_bytes + kv_bytes) / (s.bandwidth * s.bandwidth_efficiency)
    compute_s = flops / (s.peak_flops * s.compute_efficiency)
    comm = s.allreduce_seconds(tokens)
    shape = np.broadcast_shapes(memory_s.shape, compute_s.shape, np.shape(comm))
    b = lambda x: np.broadcast_to(x, shape).astype(float)  # noqa: E731
    return Step(b(flops), b(weight_bytes), b(kv_bytes), b(memory_s), b(compute_s), b(comm))


def decode_step(s: Setup, batch, context) -> Step:
    """One decode step of `batch` sequences each attending to `context` cached tokens."""
    b = np.asarray(batch, dtype=float)
    t = np.asarray(context, dtype=float)
    per_token = inference_flops_arch(s.spec, t).decode_per_token
    return _step(s, b * per_token, s.weights_read_bytes(b), s.kv_bytes(b, t), b)


def prefill(s: Setup, batch, prompt) -> Step:
    """The prefill of `batch` prompts of `prompt` tokens: weights once, the KV cache written."""
    b = np.asarray(batch, dtype=float)
    p = np.asarray(prompt, dtype=float)
    return _step(s, b * inference_flops_arch(s.spec, p).prefill, s.weights_read_bytes(b * p),
                 s.kv_bytes(b, p), b * p)


# --- the setup ---------------------------------------------------------------------------------

def _peak(acc, compute_dtype, weights_name) -> float:
    try:
        return acc.peak_flops(compute_dtype)
    except InputError as e:
        raise InputError(f"{e}; weights {weights_name} need matmuls in {compute_dtype}: give "
                         "--compute-dtype bf16 (weight-only: dequantised to 16-bit) or another "
                         "--weights") from None


def _link(acc, n_gpus, interconnect) -> tuple[float | None, str]:
    """Per-direction link bandwidth per GPU and where it came from (tensor parallel only)."""
    if n_gpus == 1:
        return None, ""
    if interconnect is not None:
        return float(validate.positive(interconnect, "interconnect bandwidth")), "given"
    both = getattr(acc, "interconnect_bw", None)  # catalogue: per chip, both directions added
    if not both:
        raise InputError(f"the catalogue has no interconnect bandwidth for {acc.name}: give "
                         "--interconnect GB/s per direction (e.g. 450 for H100 SXM NVLink 4)")
    return both / 2, f"catalogue {getattr(acc, 'interconnect', '') or 'interconnect'}, " \
                     f"{both / 1e9:g} GB/s both directions"


def setup(arch, gpu, n_gpus=1, weights="bf16", kv_dtype=None, compute_dtype=None,
          compute_efficiency=DEFAULT_COMPUTE_EFFICIENCY,
          bandwidth_efficiency=DEFAULT_BANDWIDTH_EFFICIENCY, interconnect=None,
          allreduce_latency=DEFAULT_ALLREDUCE_LATENCY) -> Setup:
    """The model (preset, config.json or spec) on n_gpus x gpu (catalogue name or Accelerator).

    weights: a precision (bf16, fp8, int8, int4 = int4-g128, q4_k, '4.85bpw'); kv_dtype: default
    the weights' own 16/32-bit float, else bf16; compute_dtype: default the peak the weights'
    format runs at (int4-g128 and GGUF: fp16, fp8: fp8). interconnect: bytes/s per direction
    (default: the catalogue's). Efficiencies in (0, 1]."""
    spec = load_spec(arch)
    if spec.encoder_only:
        raise InputError(f"{spec.name} is encoder-only: it has no decoding to serve")
    acc = get_accelerator(gpu)
    n = validate.whole(n_gpus, "--n-gpus")
    ce = float(validate.fraction(compute_efficiency, "--compute-efficiency"))
    be = float(validate.fraction(bandwidth_efficiency, "--bandwidth-efficiency"))
    lat = float(validate.nonnegative(allreduce_latency, "--allreduce-latency"))
    w = precision.get_precision(weights)
    w = precision.get_precision(SERVED_AS.get(w.name, w.name))
    kv = precision.get_precision(kv_dtype if kv_dtype is not None else
                                 w.name if w.trains and w.bits >= 16 else "bf16")
    cd = precision.canonical(compute_dtype) if compute_dtype is not None else (w.peak or "bf16")
    peak = _peak(acc, cd, w.name)
    link, link_src = _link(acc, n, interconnect)
    shape = shape_from_spec(spec)
    one = memory_estimate(shape, "infer", w.name, gpu=acc.name,
                          gpu_memory_bytes=acc.memory_bytes, n_gpus=n, batch=1, context=1,
                          kv_dtype=kv.name)
    c = count_params(spec)
    lookup = c.breakdown["embeddings"] - (spec.vocab_size * spec.d_model
                                          if spec.tied_embeddings else 0)
    experts = c.breakdown["experts"]
    per_expert = experts / (spec.n_moe_layers * spec.n_experts) if spec.is_moe else 0.0
    notes = _notes(spec, acc, n, w, kv, cd, peak, ce, be, link, link_src, lat, weights)
    return Setup(model=spec.name or "custom", gpu=acc.id, n_gpus=n, weights=w.name,
                 weight_bits=w.bits, kv_dtype=kv.name, compute_dtype=cd, peak_flops=peak,
                 bandwidth=acc.bandwidth, link_bandwidth=link, compute_efficiency=ce,
                 bandwidth_efficiency=be, allreduce_latency_s=lat,
                 weights_bytes=float(weight_bytes(c.total, w.name)),
                 weights_per_gpu_bytes=float(one.breakdown["weights"]),
                 memory_capacity_bytes=float(acc.memory_bytes),
                 usable_bytes=float(one.usable_bytes), overhead=OVERHEAD_FRACTION,
                 tdp_w=acc.tdp_w, spec=spec, shape=shape,
                 dense_read_params=float(c.total - experts - lookup),
                 expert_params=float(per_expert), notes=notes)


def _notes(spec, acc, n, w, kv, cd, peak, ce, be, link, link_src, lat, asked) -> tuple:
    served = (f" (--weights {asked} is served as {w.name}: AWQ/GPTQ group-128 scales; give "
              "--weights 4bpw for bare 4-bit)" if str(asked).lower() in SERVED_AS else "")
    notes = [
        "roofline: step = max(bytes / (bandwidth x e_bw), FLOP / (peak x e_flop)) + all-reduces; "
        "FLOP from architecture/flops.py inference counts (prefill: 2 W per token + causal "
        "attention, the head on every prompt token; decode: 2 W + attention over the context)",
        f"{acc.name}: {cd} peak {peak / 1e12:,.1f} TFLOP/s dense, {acc.bandwidth / 1e12:.3g} TB/s "
        f"memory bandwidth, {format_gib(acc.memory_bytes)} per GPU (catalogue: {acc.source})",
        f"efficiency: {ce:.3g} of peak FLOP/s (default {DEFAULT_COMPUTE_EFFICIENCY}: prefill MFU, "
        f"Pope et al. 2022) and {be:.3g} of bandwidth (default {DEFAULT_BANDWIDTH_EFFICIENCY:.3f}"
        " = 1700 / 2039 GB/s achieved on A100, gpt-fast README); change with "
        "--compute-efficiency / --bandwidth-efficiency",
        f"weights: {w.name}, {w.bits:.4g} bits/weight on every parameter ({w.source}){served}; "
        f"matmuls in {cd}",
        f"KV cache: {kv.name}, memory.py's per-GPU cache ("
        + ("MLA latent + rope key" if spec.mla else "K and V of every kv head")
        + " per token per layer); every decode step reads all of it",
        "weights read per step: every matrix once; lookup tables (token/position embeddings) "
        "only by row (not counted)" + ("; tied embeddings: the head reads the table" if
                                       spec.tied_embeddings else ""),
        "static batch: B requests of P prompt and O output tokens start together; TTFT = the "
        "batch's prefill, TPOT = mean decode step (each step one token per sequence); "
        "tokens/s = B O / (TTFT + (O - 1) TPOT)",
    ]
    if spec.is_moe:
        notes.append(f"MoE: memory holds all {spec.n_experts} experts of {spec.n_moe_layers} "
                     f"layers; a pass over T tokens reads E (1 - (1 - k/E)^T) of them per layer "
                     f"(k = {spec.top_k}; uniform independent routing, an upper bound: "
                     "experts_touched)" + (f" plus {spec.n_shared_experts} shared expert(s), "
                                            "always read" if spec.n_shared_experts else ""))
    if n > 1:
        notes.append(f"tensor parallel over {n} GPUs: weights, FLOP and kv heads split {n} ways; "
                     f"{ALLREDUCES_PER_LAYER} all-reduces per layer of 16-bit activations, ring "
                     f"2 (n-1)/n x size over {link / 1e9:g} GB/s per direction ({link_src}) + "
                     f"{lat * 1e6:g} us latency each (default {DEFAULT_ALLREDUCE_LATENCY * 1e6:g}"
                     " us: NVIDIA/nccl#1259, 2 x H100 NVLink)")
    notes.append(f"memory: memory.py weights + KV cache for batch x (P + O) tokens + "
                 f"{OVERHEAD_FRACTION:.0%} overhead, against the {format_gib(acc.memory_bytes)} "
                 "the device reports less memory.py's reserve for the CUDA context")
    return tuple(notes)


# --- the estimate ------------------------------------------------------------------------------

def _contexts(prompt: int, output: int) -> np.ndarray:
    """Contexts of the decode steps after the first token (at least one): P + 1 ... P + O - 1, or
    MAX_STEPS midpoints of that range."""
    steps = max(output - 1, 1)
    if steps <= MAX_STEPS:
        return prompt + np.arange(1, steps + 1, dtype=float)
    return prompt + 0.5 + (np.arange(MAX_STEPS) + 0.5) * steps / MAX_STEPS


def _tpot(s: Setup, batch, contexts) -> tuple[np.ndarray, Step]:
    step = decode_step(s, np.asarray(batch, dtype=float)[..., None], contexts)
    return step.seconds.mean(axis=-1), step


def _largest(ok, hi: int) -> int:
    """The largest integer b in [1, hi] with ok(b), for ok true up to some b and false after
    (bisection: TPOT grows with the batch); 0 when ok(1) is false."""
    if not ok(1):
        return 0
    lo = 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid - 1)
    return lo


def _smallest(ok, hi: int) -> int | None:
    """The smallest integer b in [1, hi] with ok(b), for ok false up to some b and true after;
    None when ok(hi) is false."""
    if not ok(hi):
        return None
    lo = 1
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid + 1, hi)
    return lo


def curves(s: Setup, batch, prompt: int, output: int, price=None) -> dict:
    """Every per-batch number of the estimate as arrays over `batch`."""
    b = np.asarray(batch, dtype=float)
    ctx = _contexts(prompt, output)
    tpot, step = _tpot(s, b, ctx)
    pre = prefill(s, b, prompt)
    ttft = pre.seconds
    request = ttft + (output - 1) * tpot
    n = s.n_gpus
    tps = b * output / request
    hours_per_token = n * tpot / b / 3600  # GPU-hours per output token in decode
    in_hours = n * ttft / (b * prompt) / 3600
    m = s.memory_at(b, prompt + output)
    mem = np.asarray(m.per_gpu_bytes, dtype=float) * np.ones_like(b)
    power = None if s.tdp_w is None else s.tdp_w * DEFAULT_PUE / 1000  # kW per GPU
    mean = lambda x: x.mean(axis=-1)  # noqa: E731
    return {
        "batch": b, "ttft_s": ttft, "tpot_s": tpot, "tokens_per_s": tps,
        "tokens_per_s_per_gpu": tps / n, "tokens_per_s_per_sequence": 1 / tpot,
        "decode_tokens_per_s": b / tpot,
        "bound": np.where(mean(step.compute_s) > mean(step.memory_s), "compute", "memory"),
        "prefill_bound": np.where(pre.compute_bound, "compute", "memory"),
        "usd_per_million_output_tokens": None if price is None else price * hours_per_token * 1e6,
        "usd_per_million_input_tokens": None if price is None else price * in_hours * 1e6,
        "kwh_per_million_output_tokens": None if power is None else power * hours_per_token * 1e6,
        "fits": np.asarray(m.fits) & np.ones_like(b, dtype=bool), "memory_per_gpu_bytes": mem,
        "weights_read_bytes": s.weights_read_bytes(b),
        "experts_touched": (experts_touched(s.spec.n_experts, s.spec.top_k, b) if s.is_moe
                            else None),
        "kv_read_bytes_per_gpu": mean(step.kv_bytes), "flops_per_step": mean(step.flops) * n,
        "decode_memory_s": mean(step.memory_s), "decode_compute_s": mean(step.compute_s),
        "decode_communication_s": mean(step.communication_s),
    }


def _row(c: dict, i: int) -> dict:
    return {k: (None if v is None else v[i].item()) for k, v in c.items()} | {
        "batch": int(c["batch"][i])}


@dataclass(frozen=True)
class InferenceEstimate(Result):
    """Serving one model on n GPUs over several batch sizes: a row per batch, the compute-bound
    knee, the largest batch that fits and the largest that meets a latency target."""

    setup: Setup
    prompt: int
    output: int
    price_per_gpu_hour: float | None
    max_tpot_s: float | None
    rows: tuple                  # one dict per batch size (curves' keys)
    compute_bound_batch: int | None   # decode turns compute-bound from this batch
    max_fit_batch: int                # memory: the most sequences of P + O tokens that fit
    max_tpot_batch: int | None        # latency alone: the most meeting max_tpot (0: none)
    best: dict | None                 # the row at best_batch
    tpot_at_batch_1_s: float          # the fastest a token comes
    assumptions: tuple = ()

    _derived = ("best_batch", "verdict", "compute_roof")
    _rows = "rows"

    @property
    def compute_roof(self) -> float:
        """The most decode tokens/s per GPU any batch reaches: peak x e_flop / FLOP per token
        (at the request's middle context)."""
        s = self.setup
        f = inference_flops_arch(s.spec, self.prompt + (self.output + 1) / 2).decode_per_token
        return s.peak_flops * s.compute_efficiency / f

    @property
    def best_batch(self) -> int | None:
        """The largest batch that meets max_tpot and fits in memory (None: none does)."""
        if self.max_tpot_batch is None:
            return None
        b = min(self.max_tpot_batch, self.max_fit_batch)
        return b if b >= 1 else None

    @property
    def verdict(self) -> str | None:
        """The --max-tpot answer in one sentence."""
        if self.max_tpot_s is None:
            return None
        target = f"{self.max_tpot_s * 1e3:g} ms"
        if self.max_fit_batch < 1:
            return (f"no batch fits: one sequence of {self.prompt + self.output:,} tokens needs "
                    f"more than the {format_bytes(self.setup.usable_bytes)} usable per GPU")
        if not self.max_tpot_batch:
            return (f"no batch meets {target}: batch 1 already takes "
                    f"{self.tpot_at_batch_1_s * 1e3:.3g} ms per output token")
        b, r = self.best_batch, self.best
        limit = ("memory: the most that fit" if self.max_fit_batch < self.max_tpot_batch
                 else f"the latency target ({target})")
        return (f"largest batch meeting {target} that fits: {b:,} (TPOT {r['tpot_s'] * 1e3:.3g} "
                f"ms, {r['tokens_per_s']:,.0f} tokens/s, {format_bytes(r['memory_per_gpu_bytes'])}"
                f" per GPU); limited by {limit}")


def estimate(arch, gpu, n_gpus=1, weights="bf16", kv_dtype=None, batch=DEFAULT_BATCHES,
             prompt=DEFAULT_PROMPT, output=DEFAULT_OUTPUT, price=None, max_tpot=None,
             **options) -> InferenceEstimate:
    """Serving `arch` on n_gpus x gpu at each batch size: TTFT, TPOT, tokens/s (per sequence, per
    GPU), the bound, memory and fit, cost per million tokens at `price` USD per GPU-hour; with
    max_tpot (seconds), the largest batch meeting it that fits. options: see `setup`."""
    s = arch if isinstance(arch, Setup) else setup(arch, gpu, n_gpus, weights, kv_dtype,
                                                   **options)
    batches = np.atleast_1d(validate.whole(np.asarray(batch, dtype=float), "--batch"))
    p = validate.whole(prompt, "--prompt")
    o = validate.whole(output, "--output")
    price = validate.optional(validate.positive, price, "--price")
    price = None if price is None else float(price)
    max_tpot = None if max_tpot is None else float(validate.positive(max_tpot, "--max-tpot"))
    c = curves(s, batches, p, o, price)
    rows = tuple(_row(c, i) for i in range(len(batches)))
    ctx = _contexts(p, o)

    def compute_bound(b):  # as the rows' "bound": over the request's decode steps
        step = _tpot(s, [b], ctx)[1]
        return bool(step.compute_s.mean() > step.memory_s.mean())

    knee = _smallest(compute_bound, BATCH_LIMIT)
    fit = min(s.largest_fitting_batch(p + o), BATCH_LIMIT)
    one = float(_tpot(s, [1], ctx)[0][0])
    best = meets = None
    if max_tpot is not None:
        meets = _largest(lambda b: _tpot(s, [b], ctx)[0][0] <= max_tpot, BATCH_LIMIT)
        if min(meets, fit) >= 1:
            best = _row(curves(s, [min(meets, fit)], p, o, price), 0)
    notes = s.notes + (
        f"lengths: prompt {p:,} tokens, output {o:,} tokens"
        + (f"; TPOT averaged over {min(max(o - 1, 1), MAX_STEPS)} decode steps" if o > 1 else
           "; one output token: TPOT is the next step's"),
        "cost: " + (f"${price:g} per GPU-hour x {s.n_gpus} GPU(s); output tokens pay the decode "
                    "steps (TPOT / B), input tokens the prefill (TTFT / (B P))" if price else
                    "give --price USD per GPU-hour") + "; energy: TDP x PUE "
        f"{DEFAULT_PUE:g} (an upper bound: memory-bound decode draws less)",
    )
    return InferenceEstimate(s, p, o, price, max_tpot, rows, knee, fit, meets, best, one, notes)


SWEEP = np.unique(np.round(np.geomspace(1, 2048, 45)))  # batch sizes of a sweep (plot infer)


def sweep(arch, gpu, n_gpus=1, weights="bf16", kv_dtype=None, prompt=DEFAULT_PROMPT,
          output=DEFAULT_OUTPUT, max_tpot=None, **options) -> InferenceEstimate:
    """`estimate` over SWEEP batch sizes and the compute-bound knee: a throughput-latency curve."""
    s = setup(arch, gpu, n_gpus, weights, kv_dtype, **options)
    knee = estimate(s, gpu, batch=[1], prompt=prompt, output=output).compute_bound_batch
    batches = SWEEP if knee is None or knee > SWEEP[-1] else np.union1d(SWEEP, [knee])
    return estimate(s, gpu, batch=batches, prompt=prompt, output=output, max_tpot=max_tpot)


# --- plan: the GPU-hours to serve T tokens ------------------------------------------------------

@dataclass(frozen=True)
class ServingCost(Result):
    """GPU-hours and cost to serve `tokens` tokens (prompt:output as P:O) on the fewest GPUs that
    hold the model, at the largest batch meeting DEFAULT_MAX_TPOT (batch 1 when none does)."""

    tokens: float
    gpu: str
    n_gpus: int
    weights: str
    prompt: int
    output: int
    batch: int
    tpot_s: float
    ttft_s: float
    tokens_per_s_per_gpu: float   # prompt and output tokens served per GPU-second
    gpu_hours: float
    cost_usd: float | None
    meets_max_tpot: bool
    assumptions: tuple = ()


def serving_cost(arch, gpu, tokens, price=None, weights="bf16", prompt=DEFAULT_PROMPT,
                 output=DEFAULT_OUTPUT, max_tpot=DEFAULT_MAX_TPOT) -> ServingCost | None:
    """For `plan --inference-tokens T`: None when no tensor-parallel degree holds one sequence."""
    spec = load_spec(arch)
    acc = get_accelerator(gpu)
    need = memory_estimate(shape_from_spec(spec), "infer", weights, n_gpus=1, batch=1,
                           context=prompt + output, gpu_memory_bytes=acc.memory_bytes).min_gpus
    if need is None:
        return None
    e = estimate(spec, acc, need, weights, prompt=prompt, output=output, price=price,
                 max_tpot=max_tpot)
    r = e.best or _row(curves(e.setup, [1], prompt, output, price), 0)
    per_request = need * (r["ttft_s"] + (output - 1) * r["tpot_s"]) / r["batch"]  # GPU-seconds
    hours = float(tokens) / (prompt + output) * per_request / 3600
    notes = e.assumptions + (
        f"serving: {format_count(tokens)} tokens as requests of {prompt:,} prompt + {output:,} "
        f"output tokens on the fewest {acc.id} that hold the model ({need}) at batch "
        f"{r['batch']:,}: {e.verdict}",)
    return ServingCost(float(tokens), acc.id, need, e.setup.weights, prompt, output,
                       int(r["batch"]), r["tpot_s"], r["ttft_s"],
                       (prompt + output) / per_request, hours,
                       None if price is None else hours * price, e.best is not None, notes)
