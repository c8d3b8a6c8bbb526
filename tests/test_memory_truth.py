"""Ground truth: the memory estimate against what PyTorch really keeps, for small Hugging Face models
built on CPU (random weights, transformers' own classes; scalinglab.memcheck).

Each row of memcheck.MATRIX (Llama with GQA, Mistral with a sliding window, Qwen2, Mixtral,
Qwen2-MoE, GPT-2, GPT-NeoX, Gemma; bf16, fp32 and bf16 autocast over fp32; sdpa and eager; with and
without full checkpointing; batch and sequence varied) is estimated with the row's setting and
ONLY the flags that name the implementation (--attention eager, --recompute full, --autocast):
- activations: within 10% of the bytes autograd saved (saved-tensor hooks, each storage once,
  parameters left out), plus the one layer's recomputation with checkpointing;
- weights, gradients and optimizer states after one AdamW step: exact;
- the KV cache after a prefill and one decoding step: exact;
- LoRA trainable parameters: exact against PEFT's rule applied to the model's real modules.
CPU-only effects are corrected for in memcheck (CUDA's fused dropout keeps 1-byte masks, CUDA's
flash SDPA keeps no dropout mask); the rest are below the tolerance (CPU LayerNorm keeps its mean
and rstd in the input dtype, CUDA in fp32; the CPU SDPA kernel copies GPT-2's Q and V out of the
fused c_attn output: ~5% more than the estimate).
"""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from scalinglab import memcheck  # noqa: E402
from scalinglab.architecture.hf import spec_from_config  # noqa: E402
from scalinglab.memory import estimate, shape_from_spec  # noqa: E402

TOLERANCE = 0.10


def _shape(case):
    return shape_from_spec(spec_from_config(case.config))


@pytest.fixture(scope="module")
def quiet():
    import warnings

    from transformers.utils import logging

    logging.set_verbosity_error()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.mark.parametrize("case", memcheck.MATRIX, ids=memcheck.Case.label)
def test_activations_within_10_percent_of_what_pytorch_saved(case, quiet):
    measured = memcheck.saved_bytes(case)
    e = estimate(_shape(case), "train", overhead=0.0, **case.flags)
    saved = e.activations["saved"]
    assert saved == pytest.approx(measured.total, rel=TOLERANCE), (measured, e.activations)
    if case.recompute == "full":  # the layer inputs kept through the forward, on their own
        kept = saved - e.activations["recompute"]
        assert kept == pytest.approx(measured.forward, rel=TOLERANCE)


STATE_CASES = [memcheck.Case(f, p) for f in memcheck.FAMILIES for p in memcheck.PRECISIONS]


@pytest.mark.parametrize("case", STATE_CASES, ids=memcheck.Case.label)
def test_model_states_after_one_adamw_step_are_exact(case, quiet):
    m = memcheck.states_bytes(case)
    shape = _shape(case)
    assert shape.n_params == m.n_params
    e = estimate(shape, "train", overhead=0.0, **case.flags)
    assert (e.breakdown["weights"], e.breakdown["gradients"], e.breakdown["optimizer"]) == (
        m.weights, m.gradients, m.optimizer)


KV_CASES = [memcheck.Case(f, "bf16", batch=b, seq=s) for f in memcheck.FAMILIES
            for b, s in ((2, 16), (1, 40))] + [memcheck.Case("llama", "fp32", batch=3, seq=8)]


@pytest.mark.parametrize("case", KV_CASES, ids=memcheck.Case.label)
def test_kv_cache_after_prefill_and_one_decoding_step_is_exact(case, quiet):
    measured = memcheck.kv_cache_bytes(case, decode=1)
    e = estimate(_shape(case), "infer", case.flags["dtype"], batch=case.batch,
                 context=case.seq + 1, overhead=0.0)
    assert e.kv_cache_bytes == measured
    if case.family == "mistral" and case.seq + 1 > 24:  # past its 24-token window: capped
        assert e.kv_cache_by_kind["sliding"] == e.kv_cache_bytes and e.kv_cache_by_kind["full"] == 0


def _peft_rule(model, rank: int) -> int:
    """PEFT's r (d_in + d_out) on every linear of the real model but the LM head and routers;
    transformers 5 stores routed experts as 3D tensors: one adapter per expert per matrix
    (gate, up, down), as PEFT gives per-expert linears."""
    from transformers.pytorch_utils import Conv1D

    total = 0
    head = model.get_output_embeddings()
    for name, mod in model.named_modules():
        if mod is head or "gate" == name.rsplit(".", 1)[-1] and "mlp" in name and not hasattr(
                mod, "in_features") or name.endswith("shared_expert_gate"):
            continue
        if isinstance(mod, torch.nn.Linear):
            total += mod.in_features + mod.out_features
        elif isinstance(mod, Conv1D):
            total += sum(mod.weight.shape)
        elif hasattr(mod, "gate_up_proj") and hasattr(mod, "down_proj"):
            n_exp, two_f, h = mod.gate_up_proj.shape
            total += n_exp * (2 * (h + two_f // 2) + (two_f // 2 + h))
    return rank * total


@pytest.mark.parametrize("family", list(memcheck.FAMILIES))
def test_lora_trainable_parameters_are_pefts_rule_on_the_real_modules(family, quiet):
    case = memcheck.Case(family, "fp32")
    model = memcheck.build(case)
    e = estimate(_shape(case), "lora", "fp32", rank=8, overhead=0.0)
    assert e.trainable_params == _peft_rule(model, 8)


def test_gpu_check_script_runs_the_same_matrix_on_cpu(capsys, quiet):
    """scripts/gpu_memory_check.py shares memcheck's matrix and builders; without CUDA it prints
    the saved-tensor table (the peak column needs a GPU)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "gpu_memory_check.py"
    spec = importlib.util.spec_from_file_location("gpu_memory_check", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--cpu", "--family", "gemma"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| gemma")]
    assert len(rows) == sum(c.family == "gemma" for c in memcheck.MATRIX)
    assert all(0.9 <= float(r.split("|")[-2]) <= 1.1 for r in rows)
