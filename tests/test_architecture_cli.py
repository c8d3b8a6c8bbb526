"""CLI: `params`, `flops --arch`, `plan --arch`: JSON keys, tables, one-line errors."""

import json
import sys
from pathlib import Path

import pytest

from conftest import assert_one_line_error, heavy_imports_after

CONFIGS = Path(__file__).parent / "data" / "hf_configs"


def test_params_json_keys(cli):
    r = cli("params", "llama-3-8b", "--json")
    assert r.code == 0
    d = r.json
    assert set(d) >= {"total", "active", "non_embedding", "breakdown", "flops_per_token", "assumptions"}
    assert d["total"] == 8_030_261_248 and d["exact"] is None
    assert d["flops_per_token"]["6N"]["training_per_token"] == 6 * 8_030_261_248


def test_params_config_json_mixtral(cli):
    d = cli("params", CONFIGS / "mixtral-8x7b-v0.1.json", "--json").json
    assert (d["total"], d["active"]) == (46_702_792_704, 12_879_925_248)


def test_params_human(cli):
    r = cli("params", "deepseek-v3")
    assert r.code == 0
    for word in ("671,026,419,200", "active", "experts", "Assumptions", "megatron", "non-embedding"):
        assert word in r.out


def test_params_from_flags(cli):
    # Llama-2-7B from its shape alone
    d = cli("params", "--d-model", "4096", "--layers", "32", "--heads", "32", "--d-ff", "11008",
            "--vocab", "32000", "--json").json
    assert d["total"] == 6_738_415_616


def test_params_preset_with_override(cli):
    d = cli("params", "llama-3-8b", "--layers", "16", "--json").json
    assert d["total"] < 8_030_261_248 and "(modified)" in d["name"]


def test_params_list(cli):
    d = cli("params", "--list", "--json").json
    names = {p["name"] for p in d["presets"]}
    assert {"llama-3-8b", "mixtral-8x7b", "deepseek-v3", "gpt-2", "palm-540b"} <= names


def test_flops_arch(cli):
    d = cli("flops", "15T", "--arch", "llama-3-8b", "--json").json
    assert d["flops"] == pytest.approx(6 * 8_030_261_248 * 15e12)
    assert set(d) >= {"flops", "forward_flops", "backward_flops", "pf_days", "conventions"}
    d2 = cli("flops", "8B", "15T", "--arch", "llama-3-8b", "--convention", "megatron", "--json").json
    assert d2["convention"] == "megatron" and d2["n_params_given"] == 8e9
    assert d2["flops"] == pytest.approx(d["conventions"]["megatron"]["flops"])
    r = cli("flops", "15T", "--arch", "mixtral")
    assert r.code == 0 and "chinchilla" in r.out and "Assumptions" in r.out


def test_plan_arch(cli):
    d = cli("plan", "--arch", "llama-3-70b", "--tokens", "15T", "--json").json
    assert d["n_params"] == 70_553_706_496
    assert d["arch"]["name"] == "llama-3-70b"
    assert any("exact" in a for a in d["assumptions"])
    assert "70,553,706,496" in cli("plan", "--arch", "llama-3-70b", "--tokens", "15T").out


@pytest.mark.parametrize("args", [
    ("params", "llama-9-8b"), ("params",), ("params", "--d-model", "64"),
    ("params", "llama-3-8b", "--seq-len", "0"), ("params", "llama-3-8b", "--seq-len", "1.5"),
    ("params", "llama-3-8b", "--heads", "7"), ("params", "/nonexistent/config.json"),
    ("params", "gpt-3-175b", "--exact"),
    ("flops", "15T", "--arch", "nope"), ("flops", "1T", "2T", "--convention", "palm"),
    ("flops", "15T", "--arch", "gpt2", "--convention", "plam"), ("flops", "--arch", "gpt2"),
    ("flops", "1T"),
    ("plan", "--arch", "llama-3-8b", "--params", "8B"), ("plan", "--arch", "zzz", "--tokens", "1T"),
])
def test_bad_input_is_one_line_exit_2(cli, args):
    assert_one_line_error(cli(*args))


def test_bad_config_files(cli, tmp_path):
    # a missing field takes transformers' default now (issue 13); a zero one is an error naming it
    (tmp_path / "a.json").write_text(json.dumps({"model_type": "llama", "hidden_size": 64,
                                                 "num_attention_heads": 0}))
    r = cli("params", tmp_path / "a.json")
    assert_one_line_error(r)
    assert "num_attention_heads" in r.err and r.err.count(str(tmp_path / "a.json")) == 1
    (tmp_path / "b.json").write_text(json.dumps({"model_type": "no_such_model"}))
    r = cli("params", tmp_path / "b.json")
    assert_one_line_error(r)
    assert "no_such_model" in r.err
    (tmp_path / "c.json").write_text("{not json")
    assert_one_line_error(cli("params", tmp_path / "c.json"))
    (tmp_path / "d.json").write_text(json.dumps({"model_type": "llama", "hidden_size": 64,
                                                 "num_attention_heads": 4, "num_hidden_layers": 2,
                                                 "intermediate_size": -5, "vocab_size": 10}))
    assert_one_line_error(cli("params", tmp_path / "d.json"))


def test_exact_without_torch_is_one_line(cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    r = cli("params", "gpt2", "--exact")
    assert_one_line_error(r)
    assert "torch" in r.err


def test_params_imports_nothing_heavy():
    assert heavy_imports_after("params", "deepseek-v3") == []


def test_make_plan_arch_library():
    from scalinglab.plan import make_plan

    p = make_plan(n_tokens=15e12, arch="mixtral")
    assert p.n_params == 12_879_925_248 and p.arch.total == 46_702_792_704
    assert p.derivation.startswith("N = mixtral-8x7b (exact)")
    assert any("MoE" in a for a in p.assumptions)


def test_time_arch_deepseek_v3_implied_mfu(cli):
    # DeepSeek-V3 technical report (arXiv:2412.19437), Table 1 / Sec. 1: 2,664K H800 GPU-hours of
    # pre-training on 14.8T tokens, FP8 mixed precision. 6N on the exact active count (37.55B with
    # embeddings): 6 x 37,552,297,472 x 14.8e12 = 3.335e24 FLOP; / (2.664e6 h x 3600 x 1978.9e12)
    d = cli("time", "--arch", "deepseek-v3", "--tokens", "14.8T", "--gpu", "h800", "--n-gpus", "2048",
            "--gpu-hours", "2.664M", "--dtype", "fp8", "--json").json
    assert d["flops"] == pytest.approx(6 * 37_552_297_472 * 14.8e12, rel=1e-12)
    assert d["mfu"] == pytest.approx(6 * 37_552_297_472 * 14.8e12 / (2.664e6 * 3600 * 1978.9e12))
    assert d["mfu"] == pytest.approx(0.1757, abs=1e-4)
    assert d["days"] == pytest.approx(2.664e6 / 2048 / 24)
    assert "6N convention" in d["assumptions"][0]
    r = cli("time", "--arch", "deepseek-v3", "--tokens", "14.8T", "--gpu", "h800", "--n-gpus", "2048",
            "--gpu-hours", "2.664M", "--dtype", "fp8", "--convention", "palm")
    assert "palm convention" in r.out and "MFU" in r.out


def test_time_arch_bad_combinations(cli):
    assert_one_line_error(cli("time", "--arch", "gpt2", "--gpu", "a100"))
    assert_one_line_error(cli("time", "--arch", "gpt2", "--params", "7B", "--tokens", "1T", "--gpu", "a100"))
    assert_one_line_error(cli("time", "--arch", "gpt2", "--tokens", "1T", "--gpu", "a100",
                              "--convention", "7N"))


def test_unknown_type_without_transformers_names_the_extra(cli, tmp_path, monkeypatch):
    from scalinglab.architecture import exact

    monkeypatch.setattr(exact, "hf_available", lambda: False)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "mamba", "hidden_size": 8}))
    r = cli("params", tmp_path / "config.json")
    assert_one_line_error(r)
    assert "mamba" in r.err and "scalinglab[hf]" in r.err and "llama" in r.err
