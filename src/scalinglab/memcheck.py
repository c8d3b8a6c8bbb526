"""Ground truth for memory.py: what PyTorch really keeps, measured on small Hugging Face models.

Builds tiny models (random weights, no download) from transformers' own classes and measures:
- the bytes autograd saves for backward (torch.autograd.graph.saved_tensors_hooks, each storage
  counted once, parameters left out), and with full checkpointing the bytes one layer's
  recomputation saves during backward;
- the KV cache: the storages of the cache `generate`-style decoding returns;
- the model states after one AdamW step (weights, gradients, optimizer states);
- on CUDA, torch.cuda.max_memory_allocated over one training step (scripts/gpu_memory_check.py).
The same MATRIX and builders serve tests/test_memory_truth.py (CPU) and the GPU script.

CPU-only effects corrected for, so that the CPU run saves what a CUDA run saves:
- dropout: CPU's F.dropout keeps a mask in the input's dtype (x * mask / (1 - p)); CUDA runs the
  fused kernel, which keeps a 1-byte bool mask. On CPU, dropout is routed through
  torch.native_dropout, the fused kernel CUDA uses (same saved tensors, bool mask).
- SDPA with dropout: the CPU flash kernel has no dropout, so torch falls back to the math kernel,
  which stores the s x s probabilities; CUDA's flash kernel regenerates its dropout mask from the
  RNG state and stores none. On CPU the SDPA call runs the flash kernel without dropout (the
  same saved tensors as CUDA's flash kernel with it).
Needs torch and transformers (the `hf` extra); imported inside the functions.
"""

import contextlib
import warnings
from dataclasses import dataclass, field, replace

# Tiny configs, one per family of the matrix (config.json fields; transformers' defaults for the
# rest). Widths differ from each other so that a term counted with the wrong width shows.
VOCAB = 256
_COMMON = dict(vocab_size=VOCAB, max_position_embeddings=256, tie_word_embeddings=False)
FAMILIES = {
    "llama": dict(model_type="llama", hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, intermediate_size=160, **_COMMON),
    "mistral": dict(model_type="mistral", hidden_size=64, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, intermediate_size=160,
                    sliding_window=24, **_COMMON),
    "qwen2": dict(model_type="qwen2", hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, intermediate_size=176, **_COMMON),
    "mixtral": dict(model_type="mixtral", hidden_size=64, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, intermediate_size=96,
                    num_local_experts=4, num_experts_per_tok=2, **_COMMON),
    "qwen2_moe": dict(model_type="qwen2_moe", hidden_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, intermediate_size=160,
                      moe_intermediate_size=48, shared_expert_intermediate_size=80,
                      num_experts=6, num_experts_per_tok=2, **_COMMON),
    "gpt2": dict(model_type="gpt2", n_embd=64, n_layer=2, n_head=4, n_positions=256,
                 vocab_size=VOCAB),
    "gpt_neox": dict(model_type="gpt_neox", hidden_size=64, num_hidden_layers=2,
                     num_attention_heads=4, intermediate_size=192, **_COMMON),
    "gemma": dict(model_type="gemma", hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=1, head_dim=16, intermediate_size=160,
                  vocab_size=VOCAB, max_position_embeddings=256),
}
PRECISIONS = ("bf16", "fp32", "autocast")  # autocast: fp32 weights under bf16 autocast (HF Trainer bf16=True)


@dataclass(frozen=True)
class Case:
    """One row of the matrix: a family at a precision, attention kernel, checkpointing and size."""

    family: str
    precision: str = "bf16"
    attention: str = "sdpa"
    recompute: str = "none"
    batch: int = 2
    seq: int = 32

    @property
    def config(self) -> dict:
        return dict(FAMILIES[self.family])

    @property
    def flags(self) -> dict:
        """The keyword arguments of memory.estimate for this row: the setting (dtype, batch, seq)
        and only the flags that name the implementation."""
        kw = dict(dtype="fp32" if self.precision != "bf16" else "bf16", batch=self.batch,
                  seq=self.seq)
        if self.precision == "autocast":
            kw["autocast"] = "bf16"
        if self.attention != "sdpa":
            kw["attention"] = self.attention
        if self.recompute != "none":
            kw["recompute"] = self.recompute
        return kw

    def label(self) -> str:
        return (f"{self.family} {self.precision} {self.attention}"
                f"{' ckpt' if self.recompute == 'full' else ''} b{self.batch} s{self.seq}")


def _matrix() -> tuple:
    rows = []
    for fam in FAMILIES:
        for prec in ("bf16", "fp32"):
            for attn in ("sdpa", "eager"):
                rows.append(Case(fam, prec, attn))
        rows.append(Case(fam, "bf16", "sdpa", "full"))
        rows.append(Case(fam, "autocast"))
    # batch and sequence varied (Mistral past its sliding window, eager at a longer sequence)
    rows += [Case("llama", "bf16", "sdpa", batch=1, seq=64), Case("llama", "bf16", "eager", batch=3, seq=48),
             Case("mistral", "bf16", "sdpa", batch=1, seq=64), Case("mistral", "bf16", "eager", seq=48),
             Case("gpt2", "fp32", "eager", "full", batch=3, seq=16),
             Case("mixtral", "fp32", "sdpa", "full", batch=1, seq=64),
             Case("qwen2_moe", "bf16", "eager", batch=4, seq=24)]
    return tuple(rows)


MATRIX = _matrix()


# --- building --------------------------------------------------------------------------------

def hf_config(config: dict, attention: str = "sdpa"):
    """A transformers config object from a config.json dict."""
    from transformers import AutoConfig

    cfg = dict(config)
    cfg = AutoConfig.for_model(cfg.pop("model_type"), **cfg)
    cfg._attn_implementation = attention
    return cfg


def build(case: Case, device: str = "cpu", seed: int = 0):
    """The model of a case, random weights, in training mode, in the case's storage dtype."""
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(hf_config(case.config, case.attention),
                                             attn_implementation=case.attention)
    dtype = torch.bfloat16 if case.precision == "bf16" else torch.float32
    model = model.to(device=device, dtype=dtype).train()
    if case.recompute == "full":
        # reentrant checkpointing saves each layer's inputs with save_for_backward, where the
        # saved-tensor hooks see them (the non-reentrant default keeps the same tensors alive
        # through a closure, out of the hooks' sight); the memory is the same
        with warnings.catch_warnings():  # transformers 5 renames it; the old name keeps the kwargs
            warnings.simplefilter("ignore", FutureWarning)
            model.gradient_checkpointing_enable(
                gradient_checkpointing_kwargs={"use_reentrant": True})
    return model


def _autocast(case: Case, device: str):
    import torch

    if case.precision != "autocast":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device, dtype=torch.bfloat16)


@contextlib.contextmanager
def cuda_like_kernels(device: str):
    """On CPU, run dropout and SDPA as CUDA runs them (see the module docstring); on CUDA, as is."""
    if device != "cpu":
        yield
        return
    import torch
    import torch.nn.functional as F

    dropout, sdpa = F.dropout, F.scaled_dot_product_attention

    def fused_dropout(input, p=0.5, training=True, inplace=False):
        if training and 0 < p < 1 and input.numel():
            return torch.native_dropout(input, p, True)[0]
        return dropout(input, p, training, inplace)

    def flash_sdpa(*args, dropout_p=0.0, **kw):
        return sdpa(*args, dropout_p=0.0, **kw)

    F.dropout, F.scaled_dot_product_attention = fused_dropout, flash_sdpa
    try:
        yield
    finally:
        F.dropout, F.scaled_dot_product_attention = dropout, sdpa


def _inputs(case: Case, device: str, seed: int = 1):
    import torch

    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, VOCAB, (case.batch, case.seq), generator=g).to(device)
    return ids


# --- measuring -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Saved:
    """Bytes autograd kept for backward: `forward` at the end of the forward pass (with the loss),
    `recompute` the most that one checkpointed layer's recomputation saved during backward."""

    forward: int
    recompute: int = 0
    by_op: dict = field(default_factory=dict, repr=False)  # grad_fn name -> bytes (for reading)

    @property
    def total(self) -> int:
        return self.forward + self.recompute


def _layers(model):
    """The decoder layers (Llama-style `layers`, GPT-2-style `h`)."""
    base = model.base_model
    return base.layers if hasattr(base, "layers") else base.h


def _attribute(loss) -> dict:
    """storage pointer -> the grad_fn.attribute names that saved it (to read the measurement)."""
    import torch

    names, seen, stack = {}, set(), [loss.grad_fn]
    while stack:
        n = stack.pop()
        if n is None or n in seen:
            continue
        seen.add(n)
        for a in dir(n):
            if a.startswith("_saved_"):
                try:
                    v = getattr(n, a)
                except Exception:  # noqa: BLE001 - some saved attributes cannot be read back
                    continue
                if isinstance(v, torch.Tensor):
                    names.setdefault(v.untyped_storage().data_ptr(), type(n).__name__)
        stack.extend(f for f, _ in n.next_functions)
    return names


def saved_bytes(case: Case, model=None, device: str = "cpu") -> Saved:
    """Bytes saved for backward by one forward (with HF's loss) and, when checkpointed, by the
    largest layer recomputation during backward; storages counted once, parameters excluded."""
    import torch

    model = model or build(case, device)
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    params |= {b.untyped_storage().data_ptr() for b in model.buffers()}
    phase = {"now": "forward"}
    packed: dict = {}

    def pack(t):
        st = t.untyped_storage()
        ptr = st.data_ptr()
        if ptr not in params:
            packed.setdefault(phase["now"], {})[ptr] = st.nbytes()
        return t

    def mark(i):
        def hook(module, args):
            if phase["now"] != "forward":
                phase["now"] = f"recompute {i}"
        return hook

    # HF checkpoints a layer's forward (its own hooks stay outside), so mark the recomputation of
    # layer i when any of its children runs during backward
    handles = [child.register_forward_pre_hook(mark(i)) for i, layer in enumerate(_layers(model))
               for child in layer.children()]
    ids = _inputs(case, device)
    try:
        with cuda_like_kernels(device), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            with _autocast(case, device):
                loss = model(input_ids=ids, labels=ids).loss
            forward = dict(packed.get("forward", {}))
            by_ptr = _attribute(loss)
            phase["now"] = "backward"
            loss.backward()
    finally:
        for h in handles:
            h.remove()
    by_op: dict = {}
    for ptr, nb in forward.items():
        op = by_ptr.get(ptr, "?")
        by_op[op] = by_op.get(op, 0) + nb
    recompute = max((sum(v.values()) for k, v in packed.items() if k.startswith("recompute")),
                    default=0)
    return Saved(sum(forward.values()), recompute, by_op)


def kv_cache_bytes(case: Case, decode: int = 1, device: str = "cpu") -> int:
    """Bytes of the KV cache after a prefill of case.seq tokens and `decode` decoding steps
    (storages counted once: a sliding-window layer keeps a view of the last window)."""
    import torch

    model = build(replace(case, recompute="none"), device).eval()
    ids = _inputs(case, device)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # past_key_values -> cache (transformers 5)
        out = model(input_ids=ids, use_cache=True)
        cache = out.past_key_values
        for _ in range(decode):
            nxt = out.logits[:, -1:].argmax(-1)
            out = model(input_ids=nxt, past_key_values=cache, use_cache=True)
            cache = out.past_key_values
    storages = {}
    for layer in cache.layers:
        for t in (layer.keys, layer.values):
            st = t.untyped_storage()
            storages[st.data_ptr()] = st.nbytes()
    return sum(storages.values())


@dataclass(frozen=True)
class States:
    """Bytes of the model states after one optimizer step (each storage once)."""

    n_params: int
    weights: int
    gradients: int
    optimizer: int


def _nbytes(tensors) -> int:
    seen = {}
    for t in tensors:
        st = t.untyped_storage()
        seen[st.data_ptr()] = st.nbytes()
    return sum(seen.values())


def trainer(case: Case, device: str = "cpu"):
    """(model, optimizer, master, step): step() runs one AdamW step as the case's recipe does.
    bf16: bf16 weights and gradients, fp32 master weights stepped by AdamW (mixed precision,
    Micikevicius et al. 2018); fp32 and autocast: AdamW on the fp32 weights."""
    import torch

    model = build(case, device)
    params = [p for p in model.parameters() if p.requires_grad]
    master = [p.detach().float().requires_grad_() for p in params] if case.precision == "bf16" else None
    opt = torch.optim.AdamW(master or params, lr=1e-4, fused=False, foreach=False)
    ids = _inputs(case, device)

    def step():
        opt.zero_grad(set_to_none=True)
        with cuda_like_kernels(device), _autocast(case, device):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        del loss
        if master:
            for m, p in zip(master, params):
                m.grad = p.grad.float()
        opt.step()
        if master:
            with torch.no_grad():
                for m, p in zip(master, params):
                    p.copy_(m)
                    m.grad = None

    return model, opt, master, step


def states_bytes(case: Case, device: str = "cpu") -> States:
    """Weights, gradients and AdamW states (m, v; the master copy for bf16) after one step.
    AdamW's per-tensor `step` counters (one 4-byte scalar per parameter tensor) are left out."""
    model, opt, master, step = trainer(case, device)
    step()
    params = list(model.parameters())
    n = sum(t.numel() for t in {p.untyped_storage().data_ptr(): p for p in params}.values())
    states = [s[k] for s in opt.state.values() for k in ("exp_avg", "exp_avg_sq")]
    return States(n, _nbytes(params), _nbytes(p.grad for p in params if p.grad is not None),
                  _nbytes(states) + (_nbytes(master) if master else 0))


def cuda_peak_bytes(case: Case) -> tuple[int, int]:
    """(peak, before) of torch.cuda.max_memory_allocated over one training step, after a warm-up
    step has allocated the optimizer states; `before`: what is allocated as the step starts."""
    import torch

    model, opt, master, step = trainer(case, "cuda")
    step()
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    step()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated(), before
