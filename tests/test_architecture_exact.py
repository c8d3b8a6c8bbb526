"""With torch and transformers: the closed form equals numel of the real model (meta device), and
its matmul FLOPs equal torch's FlopCounterMode on small random models. Skips cleanly without them."""

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from scalinglab.architecture import PRESETS, count_params, load_spec, spec_from_config  # noqa: E402
from scalinglab.architecture.exact import build_model, measure_flops, numel  # noqa: E402
from scalinglab.architecture.flops import flops_per_token  # noqa: E402
from scalinglab.architecture.presets import load_config_dict  # noqa: E402

CONFIGS = sorted((Path(__file__).parent / "data" / "hf_configs").glob("*.json"))
HF_PRESETS = [n for n in PRESETS if "config" in __import__(
    "scalinglab.architecture.presets", fromlist=["_rows"])._rows()[n]]


@pytest.mark.parametrize("name", HF_PRESETS)
def test_preset_closed_form_equals_numel(name):
    assert numel(build_model(load_config_dict(name))) == count_params(PRESETS[name]).total


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_closed_form_equals_numel(path):
    assert numel(build_model(json.loads(path.read_text()))) == count_params(load_spec(path)).total


# Shrink a real config to a tiny random model of the same family (same code paths).
_TINY = {"hidden_size": 64, "n_embd": 64, "num_hidden_layers": 2, "n_layer": 2, "num_attention_heads": 4,
         "n_head": 4, "head_dim": 16, "intermediate_size": 96, "n_inner": 96, "vocab_size": 256,
         "moe_intermediate_size": 32, "shared_expert_intermediate_size": 48, "num_experts": 6,
         "num_local_experts": 6, "n_routed_experts": 6, "num_experts_per_tok": 2, "n_group": 1,
         "topk_group": 1, "q_lora_rank": 24, "kv_lora_rank": 16, "qk_nope_head_dim": 16,
         "qk_rope_head_dim": 8, "v_head_dim": 16, "first_k_dense_replace": 1, "sliding_window": 4096,
         "max_position_embeddings": 512, "n_positions": 512}


def tiny(cfg: dict) -> dict:
    out = {k: (_TINY[k] if k in _TINY and v is not None else v) for k, v in cfg.items()}
    out["pad_token_id"] = 0  # defaults like Phi-3's 32000 lie outside the tiny vocabulary
    if "num_key_value_heads" in cfg:
        out["num_key_value_heads"] = 4 if cfg["num_key_value_heads"] == cfg["num_attention_heads"] else 2
    if "text_config" in cfg:
        out["text_config"] = {**tiny(cfg["text_config"]), "num_attention_heads": 4,
                              "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 256}
    return out


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_closed_form_flops_match_flop_counter(path):
    """FlopCounterMode on a small random model (real weights, CPU): within 1% of the closed form."""
    cfg = tiny(json.loads(path.read_text()))
    torch.manual_seed(0)
    model = build_model(cfg, device="cpu")
    assert numel(model) == count_params(spec_from_config(cfg)).total
    seq = 32
    spec = spec_from_config(cfg)
    closed = flops_per_token(spec, "matmul", seq).training
    if spec.encoder_only:  # BERT's pooler runs on one token per sequence
        closed += 6 * spec.d_model ** 2 / seq
    assert closed == pytest.approx(measure_flops(model, seq, batch=2), rel=1e-2)


def test_flop_counter_attention_quadratic():
    """Measured FLOPs per sequence: a T + b T^2 with b = the closed form's attention coefficient."""
    cfg = tiny(json.loads((Path(__file__).parent / "data" / "hf_configs" / "llama-3-8b.json").read_text()))
    model = build_model(cfg, device="meta")
    t = [64, 128, 192]
    per_seq = [measure_flops(model, s) * s for s in t]
    second_diff = per_seq[2] - 2 * per_seq[1] + per_seq[0]  # equal steps: the linear part cancels
    spec = spec_from_config(cfg)
    b = 3 * 2 * spec.n_layers * spec.n_heads * (spec.qk_head_dim + spec.v_dim)
    assert second_diff == pytest.approx(b * (192 ** 2 - 2 * 128 ** 2 + 64 ** 2), rel=1e-9)


def test_cli_exact_json(cli):
    d = cli("params", "mixtral", "--exact", "--seq-len", "128", "--json").json
    assert d["exact"]["numel"] == d["total"] == 46_702_792_704 and d["exact"]["match"]
    assert d["exact"]["closed_form_over_counter"] == pytest.approx(1.0, rel=1e-2)
