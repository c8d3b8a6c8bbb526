"""train_rung: one rung of a ladder, start to finish, resumable, deterministic under its seed.

The unit of work every engine runs (see engines.py). It reads only the rung and its workdir:
- the model is initialised from the rung's seed (on the CPU, then moved, so every device starts
  from the same weights); the batch of step s is a pure function of (seed, s) (data.py);
- every `checkpoint_seconds` of training, and when interrupted (Ctrl-C), it writes
  workdir/checkpoint.pt atomically (temporary file, fsync, os.replace): model, optimizer, the
  next step, the loss history and the seconds spent. A rerun resumes there and gives the same
  result as an uninterrupted run. A checkpoint of another rung or one that cannot be read is
  set aside and the rung starts over. A training loss that is not finite when a checkpoint is
  due raises Diverged (the last good checkpoint stays): the driver records the rung as failed.
- at the end it scores the fixed held-out windows and returns a RunResult; it writes no result
  file itself (the driver does, engines.py).

Measured on the way: training seconds (checkpoint writes excluded), tokens/s, achieved FLOP/s
(the rung's FLOP per token x tokens / seconds) and MFU against the device's peak (device.py);
peak memory of the first step: on CUDA torch.cuda.max_memory_allocated, on CPU the bytes saved
for backward (torch.autograd.graph.saved_tensors_hooks, each storage once, parameters left out)
plus weights, gradients and optimizer states as allocated; next to memory.estimate for the same
shape, batch and dtype.
"""

import contextlib
import math
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scalinglab.errors import InputError
from scalinglab.lab import require_torch
from scalinglab.lab.data import batch_starts, eval_starts, load_corpus
from scalinglab.lab.ladder import Rung
from scalinglab.results import Result

CHECKPOINT = "checkpoint.pt"
CURVE_POINTS = 100
EVAL_BATCH = 64  # held-out windows per forward pass


@dataclass(frozen=True)
class RunResult(Result):
    """What one finished rung measured. Losses in nats per token (= per byte here)."""

    rung: str
    rung_key: str
    budget: float
    n_params: int
    n_tokens: int
    flops: float
    flops_convention: str
    d_model: int
    n_layers: int
    n_heads: int
    seq_len: int
    batch_size: int
    steps: int
    lr: float
    seed: int
    train_loss: float          # mean over the last 5% of steps
    heldout_loss: float        # over the fixed held-out windows
    eval_tokens: int
    wall_seconds: float        # training + evaluation, summed over resumes
    train_seconds: float
    tokens_per_second: float
    achieved_flops: float      # FLOP/s
    peak_flops: float
    peak_source: str
    device: str
    device_name: str
    dtype: str
    threads: int
    threads_source: str
    memory_bytes: float        # measured (see memory_method)
    memory_method: str
    memory: dict               # measured bytes by term
    memory_estimate_bytes: float
    memory_estimate: dict      # memory.estimate by term (no overhead term)
    resumed_from_step: int     # 0: trained in one go
    torch_version: str
    loss_curve: tuple = field(default=())  # (step, train loss) pairs, about CURVE_POINTS

    _derived = ("tokens_per_param", "mfu", "train_bpb", "heldout_bpb", "memory_ratio")

    @property
    def tokens_per_param(self) -> float:
        return self.n_tokens / self.n_params

    @property
    def mfu(self) -> float:
        return self.achieved_flops / self.peak_flops

    @property
    def train_bpb(self) -> float:
        """Bits per byte: one token is one byte, so nats / ln 2."""
        return self.train_loss / math.log(2)

    @property
    def heldout_bpb(self) -> float:
        return self.heldout_loss / math.log(2)

    @property
    def memory_ratio(self) -> float:
        """Measured over estimated bytes."""
        return self.memory_bytes / self.memory_estimate_bytes

    @classmethod
    def from_dict(cls, d: dict) -> "RunResult":
        from dataclasses import fields

        names = {f.name for f in fields(cls)}
        missing = names - set(d) - {"loss_curve"}
        if missing:
            raise ValueError(f"missing {sorted(missing)}")
        kw = {k: d[k] for k in names if k in d}
        kw["loss_curve"] = tuple(tuple(p) for p in d.get("loss_curve", ()))
        return cls(**kw)


def memory_estimate(rung: Rung, dtype: str, autocast: str | None = None) -> dict:
    """memory.estimate for the rung's shape: AdamW, its micro-batch and seq, no dropout, SDPA,
    no overhead term (we count live tensors). By term: weights, gradients, optimizer;
    activations (layers, outside them, autocast's weight copies) and logits (the loss's saved
    fp32 log-probs): what saved_tensors_hooks see; loss_peak: the loss's transient during
    backward, which only a peak measurement (CUDA's max allocated) sees."""
    from scalinglab.memory import estimate, shape_from_spec

    est = estimate(shape_from_spec(rung.spec), "train", dtype, autocast=autocast,
                   batch=rung.micro_batch, seq=rung.seq_len, optimizer="adamw", dropout=0.0,
                   overhead=0.0)
    a, b = est.activations, est.breakdown
    return {"weights": float(b["weights"]), "gradients": float(b["gradients"]),
            "optimizer": float(b["optimizer"]),
            "activations": float(a["layers"] + a["recompute"] + a["outside"] + a["weight_copies"]),
            "logits": float(a["loss_saved"]), "loss_peak": float(a["loss_peak"])}


def comparable(estimate: dict, cuda: bool) -> float:
    """The estimate's bytes for what the device's measurement counts: on CUDA the peak (all
    terms), on CPU the saved tensors and states (without the loss's backward transient)."""
    return float(sum(v for k, v in estimate.items() if cuda or k != "loss_peak"))


class _Saved:
    """saved_tensors_hooks that record each saved storage once (bytes), parameters aside."""

    def __init__(self, params, logits_numel: int):
        self.logits_numel = logits_numel
        self.skip = {p.untyped_storage().data_ptr() for p in params}
        self.seen: dict = {}

    def pack(self, t):
        s = t.untyped_storage()
        ptr = s.data_ptr()
        if ptr not in self.skip and ptr not in self.seen:
            self.seen[ptr] = ("logits" if t.numel() == self.logits_numel else "activations",
                              s.nbytes())
        return t

    def bytes(self) -> dict:
        out = {"activations": 0.0, "logits": 0.0}
        for kind, n in self.seen.values():
            out[kind] += n
        return out


def _nbytes(tensors) -> float:
    return float(sum(t.numel() * t.element_size() for t in tensors))


def _optimizer(torch, model, rung: Rung, cuda: bool):
    """AdamW, decay on matrices only (nanoGPT); fused where this torch has it."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": rung.weight_decay},
              {"params": rest, "weight_decay": 0.0}]
    kw = dict(lr=rung.lr, betas=(rung.beta1, rung.beta2), eps=rung.eps)
    try:
        return torch.optim.AdamW(groups, fused=True, **kw)
    except (RuntimeError, TypeError, ValueError):  # torch without fused AdamW on this device
        return torch.optim.AdamW(groups, foreach=True, **kw)


def _save(torch, path: Path, state: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _load(torch, path: Path, key: str) -> dict | None:
    """The checkpoint if it belongs to this rung; an unreadable or foreign one is set aside."""
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
        if state.get("key") == key:
            return state
    except Exception:  # noqa: BLE001  (a torn or foreign file: start over, keep it for a look)
        pass
    os.replace(path, path.with_name(path.name + ".bad"))
    return None


def train_rung(rung: Rung, workdir, device: str = "auto", peak_flops: float | None = None,
               threads: int | None = None, progress=None) -> RunResult:
    """Train `rung` in `workdir` (resuming from its checkpoint) and return what it measured.

    threads (CPU): as given, else as the checkpoint recorded (a resumed rung keeps its count,
    so its result is bit-identical: the count changes the last bits of a float), else the
    faster of 1 and all cores for one of this rung's micro-steps (device.choose_threads).
    progress(step, steps, loss) is called about every 0.2 s (from this process).
    """
    torch = require_torch()
    from scalinglab.lab.device import setup
    from scalinglab.lab.model import GPT

    corpus = load_corpus(rung.corpus)
    if corpus.sha256 != rung.corpus_sha256:
        raise InputError(f"rung {rung.id}: corpus {rung.corpus!r} has changed since the ladder "
                         f"was planned (sha256 {corpus.sha256[:12]}..., the ladder has "
                         f"{rung.corpus_sha256[:12]}...)")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    ckpt = workdir / CHECKPOINT
    key = rung.key
    state = _load(torch, ckpt, key)

    torch.manual_seed(rung.seed)
    model = GPT(rung.spec, rung.seq_len)  # on the CPU: the same initial weights everywhere
    params = list(model.parameters())

    def probe():  # one micro-step's forward and backward on the CPU, gradients dropped
        w = torch.from_numpy(batch_starts(corpus.n_train, rung.seq_len, rung.micro_batch,
                                          rung.seed, 0))
        w = torch.from_numpy(corpus.train)[w[:, None] + torch.arange(rung.seq_len + 1)].long()
        model(w[:, :-1], w[:, 1:]).backward()
        model.zero_grad(set_to_none=True)

    dev = setup(device, peak_flops, threads or (state or {}).get("threads"), probe)
    cuda = dev.kind == "cuda"
    model.to(dev.kind)
    opt = _optimizer(torch, model, rung, cuda)
    losses = torch.full((rung.steps,), float("nan"), device=dev.kind)
    start, spent, wall, memory = 0, 0.0, 0.0, None
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start, spent, wall, memory = (state["step"], state["train_seconds"],
                                      state["wall_seconds"], state["memory"])
        losses[:start] = state["losses"][:start].to(dev.kind)

    data = torch.from_numpy(corpus.train).to(dev.kind)
    window = torch.arange(rung.seq_len + 1, device=dev.kind)
    amp = (torch.autocast("cuda", dtype=torch.bfloat16) if cuda
           else torch.autocast("cpu", enabled=False))

    def batch(step):
        s = torch.from_numpy(batch_starts(corpus.n_train, rung.seq_len, rung.batch_size,
                                          rung.seed, step)).to(dev.kind)
        w = data[s[:, None] + window].long()
        return w[:, :-1], w[:, 1:]

    def checkpoint(step):
        _save(torch, ckpt, {"key": key, "model": model.state_dict(), "optimizer": opt.state_dict(),
                            "step": step, "losses": losses.cpu(), "train_seconds": spent,
                            "wall_seconds": wall + (time.perf_counter() - t_wall),
                            "memory": memory, "threads": dev.threads})

    t_wall = last_save = last_report = time.perf_counter()
    step = start
    model.train()
    with _deferred_interrupts() as interrupted:
        while step < rung.steps:
            if interrupted():  # between steps, so the checkpoint is a whole step
                checkpoint(step)
                raise KeyboardInterrupt
            t = time.perf_counter()
            for g in opt.param_groups:
                g["lr"] = rung.lr_at(step)
            x, y = batch(step)
            if memory is None:
                memory, loss = _measured_step(torch, model, opt, params, x, y, amp, rung, cuda)
            else:
                loss = _step(torch, model, opt, params, x, y, amp, rung)
            losses[step] = loss
            step += 1
            if cuda and (step == rung.steps or t - last_report > 0.2):
                torch.cuda.synchronize()
            now = time.perf_counter()
            spent += now - t
            if progress is not None and (now - last_report > 0.2 or step == rung.steps):
                progress(step, rung.steps, float(losses[step - 1]))
                last_report = now
            if now - last_save >= rung.checkpoint_seconds or step == rung.steps:
                _check_finite(losses[step - 1], step, rung)  # never checkpoint a diverged run
                checkpoint(step)
                last_save = time.perf_counter()

    hist = losses.float().cpu().numpy()
    heldout, eval_tokens = evaluate(torch, model, corpus.heldout, rung, dev, amp)
    wall += time.perf_counter() - t_wall
    tail = max(1, rung.steps // 20)
    est = memory_estimate(rung, "fp32", "bf16" if cuda else None)
    measured = {k: v for k, v in memory.items() if k not in ("method", "peak")}
    total = memory["peak"] if cuda else float(sum(measured.values()))
    curve = np.unique(np.linspace(0, rung.steps - 1, CURVE_POINTS).round().astype(int))
    return RunResult(
        rung.id, key, rung.budget, rung.n_params, rung.n_tokens, rung.flops,
        rung.flops_convention, rung.d_model, rung.n_layers, rung.n_heads, rung.seq_len,
        rung.batch_size, rung.steps, rung.lr, rung.seed, float(np.mean(hist[-tail:])), heldout,
        eval_tokens, wall, spent, rung.n_tokens / spent, rung.flops / spent, dev.peak_flops,
        dev.peak_source, dev.kind, dev.name, dev.dtype, dev.threads, dev.threads_source, total,
        memory["method"],
        measured, comparable(est, cuda), est, start, torch.__version__,
        tuple((int(s), float(hist[s])) for s in curve))


class Diverged(FloatingPointError):
    """The training loss is no longer a number: the rung fails (recorded; the ladder goes on)."""


def _check_finite(loss, step: int, rung: Rung) -> None:
    x = float(loss)
    if not math.isfinite(x):
        raise Diverged(f"training loss is {x} at step {step} of {rung.steps} (lr {rung.lr:.3g}): "
                       "the run diverged")


@contextlib.contextmanager
def _deferred_interrupts():
    """SIGINT and SIGTERM set a flag (in the main thread) that the loop checks between steps;
    elsewhere (a worker thread) they are left alone."""
    flag = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in old:
        signal.signal(s, lambda *_: flag.append(1))
    try:
        yield lambda: bool(flag)
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _forward_backward(model, x, y, amp, micro: int, first=contextlib.nullcontext):
    """Mean loss over the batch, gradients accumulated over micro-batches of `micro` rows
    (`first()`: a context for the first micro-batch's forward pass)."""
    total = 0.0
    for i in range(0, len(x), micro):
        with amp, (first() if i == 0 else contextlib.nullcontext()):
            loss = model(x[i:i + micro], y[i:i + micro])
        part = loss * (min(micro, len(x) - i) / len(x))
        part.backward()
        total = total + part.detach()
    return total


def _step(torch, model, opt, params, x, y, amp, rung):
    """Forward, backward, clip, AdamW step; the loss (a 0-d tensor, not synchronised)."""
    loss = _forward_backward(model, x, y, amp, rung.micro_batch)
    if rung.grad_clip:
        torch.nn.utils.clip_grad_norm_(params, rung.grad_clip, foreach=True)
    opt.step()
    opt.zero_grad(set_to_none=True)
    return loss


def _measured_step(torch, model, opt, params, x, y, amp, rung, cuda) -> tuple[dict, object]:
    """The first step, with its memory measured (see the module docstring): the saved tensors
    of one micro-batch (they are freed by its backward before the next one)."""
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    saved = _Saved(params, x[:rung.micro_batch].numel() * rung.spec.vocab_size)
    hooks = lambda: torch.autograd.graph.saved_tensors_hooks(saved.pack, lambda t: t)  # noqa: E731
    loss = _forward_backward(model, x, y, amp, rung.micro_batch, hooks)
    grads = _nbytes(p.grad for p in params if p.grad is not None)
    if rung.grad_clip:
        torch.nn.utils.clip_grad_norm_(params, rung.grad_clip, foreach=True)
    opt.step()
    states = _nbytes(v for s in opt.state.values() for v in s.values() if torch.is_tensor(v))
    opt.zero_grad(set_to_none=True)
    out = {"weights": _nbytes(params), "gradients": grads, "optimizer": states, **saved.bytes()}
    if cuda:
        torch.cuda.synchronize()
        out["peak"] = float(torch.cuda.max_memory_allocated())
        out["method"] = "torch.cuda.max_memory_allocated over the first step"
    else:
        out["method"] = ("saved for backward (saved_tensors_hooks, each storage once) + weights, "
                         "gradients and AdamW states as allocated, first step")
    return out, loss


def evaluate(torch, model, heldout: np.ndarray, rung: Rung, dev, amp) -> tuple[float, int]:
    """Mean next-byte loss (nats) over the fixed held-out windows, and the tokens scored."""
    starts = eval_starts(heldout.size, rung.seq_len, max(1, rung.eval_tokens // rung.seq_len))
    data = torch.from_numpy(heldout).to(dev.kind)
    window = torch.arange(rung.seq_len + 1, device=dev.kind)
    total = torch.zeros((), dtype=torch.float64, device=dev.kind)
    model.eval()
    with torch.no_grad(), amp:
        for i in range(0, len(starts), EVAL_BATCH):
            s = torch.from_numpy(starts[i:i + EVAL_BATCH]).to(dev.kind)
            w = data[s[:, None] + window].long()
            total += model(w[:, :-1], w[:, 1:], reduction="sum").double()
    model.train()
    n = len(starts) * rung.seq_len
    return float(total) / n, n
