"""The optional `--exact` path: build the model with transformers on the meta device (no weights,
no network), count numel, and measure one forward + backward with torch's FlopCounterMode.

Needs the `hf` extra (torch + transformers). Attention runs as plain matmuls ("eager") and MoE
experts as batched matmuls over each token's top-k, so the counter sees every matmul.
"""

import importlib.util
import os
import time
from dataclasses import dataclass, field

from scalinglab.architecture.flops import flops_per_token
from scalinglab.architecture.hf import spec_from_config
from scalinglab.architecture.params import count_params
from scalinglab.errors import InputError
from scalinglab.results import Result, hidden

INSTALL = ("--exact needs torch and transformers: install a CPU torch first "
           "(pip install torch==2.13.0 or --index-url https://download.pytorch.org/whl/cpu), "
           "then pip install 'scalinglab[hf]'")


def _import():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import torch
        import transformers
    except ImportError:
        raise InputError(INSTALL) from None
    transformers.logging.set_verbosity_error()
    return torch, transformers


def build_model(cfg: dict, device: str = "meta"):
    """A transformers model from a config dict, on `device` (meta: no memory, no weights)."""
    torch, transformers = _import()
    from scalinglab.architecture.hf import WRAPPERS, _unwrap

    if cfg.get("model_type") in WRAPPERS:  # the language model of a multimodal wrapper
        cfg = _unwrap(cfg, "config")[1]
    cfg = dict(cfg)
    model_type = cfg.pop("model_type")
    conf = transformers.AutoConfig.for_model(model_type, attn_implementation="eager",
                                             experts_implementation="batched_mm", **cfg)
    auto = transformers.AutoModel if model_type == "bert" else transformers.AutoModelForCausalLM
    with torch.device(device):
        return auto.from_config(conf)


def numel(model) -> int:
    """Parameters (shared ones once) plus persistent floating-point buffers (saved in checkpoints,
    e.g. DeepSeek-V3's router score-correction bias)."""
    saved = set(model.state_dict())
    return (sum(p.numel() for p in model.parameters())
            + sum(b.numel() for k, b in model.named_buffers() if k in saved and b.is_floating_point()))


def measure_flops(model, seq_len: int, batch: int = 1) -> float:
    """FLOP of one forward + backward over batch x seq_len tokens, per token (FlopCounterMode)."""
    torch, _ = _import()
    from torch.utils.flop_counter import FlopCounterMode

    device = next(model.parameters()).device
    ids = torch.zeros((batch, seq_len), dtype=torch.long, device=device)
    if device.type != "meta":
        ids = torch.randint(0, model.config.vocab_size, (batch, seq_len), device=device)
    with FlopCounterMode(display=False) as counter:
        out = model(input_ids=ids)
        if hasattr(out, "logits"):
            loss = out.logits.float().sum()
        else:  # encoder: the pooler's output joins the loss so its backward runs too
            loss = out.last_hidden_state.float().sum() + out.pooler_output.float().sum()
        loss.backward()
    return counter.get_total_flops() / (batch * seq_len)


@dataclass(frozen=True)
class ExactCount(Result):
    """transformers' numel and FlopCounterMode, next to the closed form."""

    name: str
    numel: int
    closed_form: int
    flop_counter_per_token: float | None = hidden()
    closed_form_per_token: float | None = hidden()
    seq_len: int
    seconds: float
    versions: dict
    flop_error: str | None = None

    _derived = ("match", ("flop_counter_training_per_token", "flop_counter_per_token"),
                ("closed_form_training_per_token", "closed_form_per_token"),
                "closed_form_over_counter")

    @property
    def match(self) -> bool:
        return self.numel == self.closed_form

    @property
    def closed_form_over_counter(self) -> float | None:
        if not self.flop_counter_per_token:
            return None
        return self.closed_form_per_token / self.flop_counter_per_token


def exact_count(cfg: dict, name: str = "", seq_len: int = 256, flops: bool = True) -> ExactCount:
    """Build `cfg` on the meta device; count numel and (optionally) measure training FLOP/token."""
    torch, transformers = _import()
    t = time.perf_counter()
    spec = spec_from_config(cfg, name=name)
    model = build_model(cfg)
    n = numel(model)
    measured, closed, error = None, None, None
    if flops:
        closed = flops_per_token(spec, "matmul", seq_len).training
        if spec.encoder_only:  # BERT: the pooler runs on one token per sequence
            closed += 6.0 * spec.d_model * spec.d_model / seq_len
        try:  # older transformers route MoE tokens with data-dependent ops the meta device lacks
            measured = measure_flops(model, seq_len)
        except Exception as e:  # noqa: BLE001  (report it next to the count, do not fail the count)
            error = f"{type(e).__name__}: {' '.join(str(e).split())[:160]}"
    return ExactCount(spec.name, n, count_params(spec).total, measured, closed, seq_len,
                      time.perf_counter() - t,
                      {"torch": torch.__version__, "transformers": transformers.__version__}, error)


def hf_available() -> bool:
    """Whether torch and transformers can be imported (without importing them)."""
    return all(importlib.util.find_spec(m) is not None for m in ("torch", "transformers"))


@dataclass(frozen=True)
class MetaCount(Result):
    """Parameters of a model type with no closed form, counted by building it on the meta device."""

    name: str
    model_type: str
    total: int
    non_embedding: int
    breakdown: dict = field(default_factory=dict)  # embeddings, head, the rest
    seconds: float = 0.0
    versions: dict = field(default_factory=dict)
    method: str = "transformers on the meta device (numel; slower than a closed form, no FLOPs)"

    @property
    def active(self) -> int:
        """Every parameter: the meta count cannot tell routed experts apart."""
        return self.total

    _derived = ("active",)


def meta_count(cfg: dict, name: str = "") -> MetaCount:
    """Count any transformers model_type exactly: build it on the meta device, sum numel."""
    from scalinglab.architecture.hf import unsupported

    if not hf_available():
        raise unsupported(cfg.get("model_type"))
    torch, transformers = _import()
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    if cfg.get("model_type") not in CONFIG_MAPPING:  # transformers does not know it either
        raise unsupported(cfg.get("model_type"))
    t = time.perf_counter()
    try:
        model = build_model(cfg)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise InputError(f"transformers cannot build model_type {cfg.get('model_type')!r} from this "
                         f"config ({' '.join(str(e).split())[:200]})") from None
    n = numel(model)
    emb = model.get_input_embeddings()
    out = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    e = emb.weight.numel() if emb is not None else 0
    h = 0 if out is None or out.weight is getattr(emb, "weight", None) else out.weight.numel()
    return MetaCount(name or cfg.get("model_type", ""), cfg.get("model_type", ""), n, n - e - h,
                     {"embeddings": e, "head": h, "rest": n - e - h}, time.perf_counter() - t,
                     {"torch": torch.__version__, "transformers": transformers.__version__})
