"""memory.py: published sizes, the must-show verdicts, invariants, and live torch tensors."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import assert_one_line_error

from scalinglab.errors import InputError
from scalinglab.activations import Numerics, layer_terms, loss_terms
from scalinglab.memory import (
    Shape, bits_per_value, estimate, kv_cache_bytes, lora_params, model_state_bytes, weight_bytes,
)

# memory as the device reports it (nvidia-smi): A10 23,028 MiB; A100 80GB 81,920 MiB
A10, A100_80 = 23_028 * 2**20, 81_920 * 2**20

# Llama 2 7B config.json (meta-llama/Llama-2-7b-hf): 6,738,415,616 parameters.
LLAMA2_7B = Shape("llama-2-7b", 6_738_415_616, n_layers=32, d_model=4096, n_heads=32,
                  n_kv_heads=32, head_dim=128, vocab=32000, d_ff=11008,
                  embedding_params=2 * 32000 * 4096, model_type="llama", activation="silu")
# Llama 3 70B config.json (meta-llama/Meta-Llama-3-70B): 80 layers, 64 heads, 8 KV heads.
LLAMA3_70B = Shape("llama-3-70b", 70_553_706_496, n_layers=80, d_model=8192, n_heads=64,
                   n_kv_heads=8, head_dim=128, vocab=128256, d_ff=28672,
                   embedding_params=2 * 128256 * 8192, model_type="llama", activation="silu")


def test_llama2_7b_bf16_weights():  # 6,738,415,616 params x 2 bytes
    assert weight_bytes(LLAMA2_7B.n_params, "bf16") == 13_476_831_232
    assert estimate(LLAMA2_7B, "infer").weights_bytes == 13_476_831_232


def test_llama3_70b_kv_cache_gqa_and_mha():  # 2 x 80 x 8 x 128 x 2 B x 8192 tokens
    gqa = kv_cache_bytes(80, 8, 128, tokens=8192, batch=1, dtype="bf16")
    assert gqa == 2_684_354_560
    assert kv_cache_bytes(80, 64, 128, 8192, 1, "bf16") == 8 * gqa  # without GQA: 64 KV heads
    e = estimate(LLAMA3_70B, "infer", context=8192)
    assert e.kv_cache_bytes == 2_684_354_560 and e.breakdown["kv_cache"] == 2_684_354_560


def test_mla_kv_cache_deepseek_v3():
    # DeepSeek-V2 Sec. 2.1: MLA caches (d_c + d_h^R) = 512 + 64 values per token per layer.
    assert kv_cache_bytes(61, 128, 128, 1, 1, "bf16", kv_lora_rank=512, rope_dim=64) == 61 * 576 * 2


def test_qlora_llama2_7b_fits_on_a10():  # QLoRA paper / the lecture: 7B fine-tuning on 24 GB
    e = estimate(LLAMA2_7B, "qlora", batch=1, seq=512, gpu="a10", gpu_memory_bytes=A10)
    assert e.fits and e.min_gpus == 1
    assert e.per_gpu_bytes < 8e9
    nf4 = (4 + 8 / 64 + 32 / (64 * 256)) / 8  # QLoRA Sec. 3: 4.127 bits with double quantisation
    base = (LLAMA2_7B.n_params - LLAMA2_7B.embedding_params) * nf4 + LLAMA2_7B.embedding_params * 2
    assert e.breakdown["weights"] == pytest.approx(base)


def test_full_adamw_llama2_7b_does_not_fit_one_a100_80gb():
    e = estimate(LLAMA2_7B, "train", dtype="bf16", gpu_memory_bytes=A100_80, batch=1, seq=512)
    states = e.breakdown["weights"] + e.breakdown["gradients"] + e.breakdown["optimizer"]
    assert states == 16 * LLAMA2_7B.n_params  # 2 + 2 + 4 + 4 + 4 (ZeRO paper, mixed-precision Adam)
    assert not e.fits and e.min_gpus is None  # ZeRO-0 shards nothing: more GPUs do not help
    assert estimate(LLAMA2_7B, "train", gpu_memory_bytes=A100_80, zero=3, seq=512).min_gpus == 2


def test_zero3_across_8_cuts_model_states_8x():  # Rajbhandari et al. 2020, Fig. 1
    one = model_state_bytes(7e9, "bf16", "adamw", zero=3, dp=1)
    eight = model_state_bytes(7e9, "bf16", "adamw", zero=3, dp=8)
    assert sum(eight.values()) * 8 == pytest.approx(sum(one.values()))
    e = estimate(LLAMA2_7B, "train", n_gpus=8, zero=3)
    assert e.breakdown["weights"] + e.breakdown["gradients"] + e.breakdown["optimizer"] == \
        pytest.approx(16 * LLAMA2_7B.n_params / 8)


def test_zero_stages_psi_numbers():  # ZeRO Fig. 1: 7.5B params, 64 GPUs: 120, 31.4, 16.6, 1.9 GB
    for stage, gb in zip(range(4), (120, 31.4, 16.6, 1.9)):
        got = sum(model_state_bytes(7.5e9, "fp16", "adamw", zero=stage, dp=64).values())
        assert got / 1e9 == pytest.approx(gb, abs=0.05)


def test_korthikanti_table2_is_megatrons_gpt_layer():  # Korthikanti et al. 2022, Table 2
    """The itemisation reproduces the paper's GPT layer (LayerNorm, eager softmax in 16-bit with
    dropout, 4h GELU MLP, dropout on both residuals): s b h (34 + 5 a s / h), plus the fp32 mean
    and rstd of its two LayerNorms (8 bytes per token each) that the paper neglects."""
    s, b, h, a = 2048, 1, 12288, 96  # GPT-3 175B: 5as/h = 80
    gpt = Shape("gpt-3", 175e9, 96, h, a, a, h // a, 51200, 4 * h, gated_mlp=False,
                model_type="gpt2", norm="layernorm", activation="gelu", dropout=0.1,
                attention_dropout=0.1, positions="learned")
    terms = layer_terms(gpt, s, b, Numerics(2, 2, False), attention="eager")
    assert sum(terms.values()) == s * b * h * (34 + 80) + 2 * 8 * s * b
    selective = layer_terms(gpt, s, b, Numerics(2, 2, False), attention="eager",
                            recompute="selective")
    assert sum(selective.values()) == s * b * h * 34 + 4 * a * s * b + 2 * 8 * s * b  # + lse
    assert loss_terms(gpt, s, b)["saved"] == 4 * s * b * 51200  # fp32 log-probs (Sec. 4.3)


def test_lora_params_llama2_7b():  # Hu et al. 2021: r (d_in + d_out) per adapted matrix
    assert lora_params(LLAMA2_7B, 8, ("q", "v")) == 8 * 32 * 2 * (4096 + 4096) == 4_194_304
    # all 7 linear maps at r = 64 (the QLoRA recipe): 159,907,840 adapter parameters
    assert lora_params(LLAMA2_7B, 64) == 64 * 32 * (4 * 8192 + 3 * (4096 + 11008))


def test_gguf_and_quantised_bits():  # llama.cpp ggml-common.h block sizes
    assert bits_per_value("q4_0") == 18 * 8 / 32
    assert bits_per_value("q4_k") == 144 * 8 / 256
    assert bits_per_value("q6_k") == 210 * 8 / 256
    assert bits_per_value("4.85bpw") == 4.85
    assert bits_per_value("bfloat16") == 16
    assert weight_bytes(LLAMA2_7B.n_params, "int4") == LLAMA2_7B.n_params / 2


@pytest.mark.parametrize("bad", ["bf61", "4.5", "-3bpw", "q9_k", ""])
def test_bad_dtype(bad):
    with pytest.raises(InputError):
        bits_per_value(bad)


@given(st.floats(0.01, 64, allow_nan=False))
def test_bpw_round_trip(bits):
    assert bits_per_value(f"{bits!r}bpw") == bits


@given(st.text(max_size=12))
def test_dtype_parser_never_crashes(text):  # any string: a known width or one InputError
    try:
        assert 0 < bits_per_value(text) <= 64
    except InputError:
        pass


def test_bad_inputs():
    for kw in (dict(mode="pretrain"), dict(zero=4), dict(optimizer="adam"), dict(recompute="some"),
               dict(n_gpus=3, tp=2), dict(mode="train", dtype="int4"), dict(batch=0)):
        with pytest.raises(InputError):
            estimate(LLAMA2_7B, **{"mode": "train", **kw})
    with pytest.raises(InputError):
        lora_params(LLAMA2_7B, 8, ("q", "qkv"))


def test_inference_tensor_parallel_splits_and_min_gpus():
    e = estimate(LLAMA3_70B, "infer", gpu_memory_bytes=A100_80, context=8192)
    assert not e.fits and e.min_gpus == 2
    two = estimate(LLAMA3_70B, "infer", n_gpus=2, context=8192)
    assert two.breakdown["weights"] == e.breakdown["weights"] / 2
    assert two.breakdown["kv_cache"] == e.breakdown["kv_cache"] / 2
    # 16 ranks but only 8 KV heads: each rank keeps one whole head (replicated), not half
    assert estimate(LLAMA3_70B, "infer", n_gpus=16, context=8192).breakdown["kv_cache"] == \
        e.breakdown["kv_cache"] / 8


# --- invariants ----------------------------------------------------------------------------------

MODES = st.sampled_from(["train", "finetune", "lora", "qlora", "lora8", "infer"])


@settings(max_examples=40, deadline=None)
@given(MODES, st.integers(1, 64), st.integers(1, 8192), st.integers(0, 3))
def test_memory_grows_with_batch_and_sequence(mode, batch, seq, zero):
    zero = None if mode == "infer" else zero  # ZeRO is a training option (refused for infer)
    base = estimate(LLAMA2_7B, mode, batch=batch, seq=seq, zero=zero).per_gpu_bytes
    assert estimate(LLAMA2_7B, mode, batch=batch + 1, seq=seq, zero=zero).per_gpu_bytes > base
    assert estimate(LLAMA2_7B, mode, batch=batch, seq=seq + 1, zero=zero).per_gpu_bytes > base


@settings(max_examples=40, deadline=None)
@given(MODES, st.floats(1e6, 1e12), st.floats(1.001, 10))
def test_memory_grows_with_parameters(mode, n, factor):
    from dataclasses import replace

    small = estimate(replace(LLAMA2_7B, n_params=n, embedding_params=0), mode).per_gpu_bytes
    big = estimate(replace(LLAMA2_7B, n_params=n * factor, embedding_params=0), mode).per_gpu_bytes
    assert big > small


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["train", "lora", "qlora"]), st.integers(0, 3), st.integers(1, 511))
def test_per_gpu_never_grows_with_more_data_parallel_gpus(mode, zero, dp):
    a = estimate(LLAMA2_7B, mode, zero=zero, n_gpus=dp).per_gpu_bytes
    b = estimate(LLAMA2_7B, mode, zero=zero, n_gpus=dp + 1).per_gpu_bytes
    assert b <= a
    assert (b < a) == (zero > 0)


# --- live torch tensors ------------------------------------------------------------------------

def _tiny_gpt(torch, d=64, layers=2, vocab=97, dtype=None):
    nn = torch.nn
    blocks = [nn.Sequential(nn.LayerNorm(d), nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
              for _ in range(layers)]
    return nn.Sequential(nn.Embedding(vocab, d), *blocks, nn.LayerNorm(d), nn.Linear(d, vocab)).to(
        dtype or torch.float32)


def _bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def _step(torch, model, optimizer, vocab=97):
    x = torch.randint(0, vocab, (2, 16))
    loss = torch.nn.functional.cross_entropy(model(x).float().flatten(0, 1), x.flatten())
    loss.backward()
    return loss


@pytest.mark.parametrize("name,torch_opt,state_keys", [
    ("adamw", "AdamW", ("exp_avg", "exp_avg_sq")),
    ("sgd", "SGD", ("momentum_buffer",)),
])
def test_live_fp32_model_states_equal_estimate(name, torch_opt, state_keys):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = _tiny_gpt(torch)
    params = list(model.parameters())
    kw = {"momentum": 0.9} if name == "sgd" else {}
    opt = getattr(torch.optim, torch_opt)(params, lr=1e-3, **kw)
    _step(torch, model, opt)
    opt.step()
    n = sum(p.numel() for p in params)
    est = model_state_bytes(n, "fp32", name)
    assert _bytes(params) == est["weights"]
    assert _bytes(p.grad for p in params) == est["gradients"]
    assert _bytes(opt.state[p][k] for p in params for k in state_keys) == est["optimizer"]


def test_live_mixed_precision_adamw_is_16_bytes_per_param():
    """bf16 model + fp32 master copy stepped by AdamW: 2 + 2 + (4 + 8) bytes per parameter."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = _tiny_gpt(torch, dtype=torch.bfloat16)
    params = list(model.parameters())
    master = [p.detach().float().requires_grad_() for p in params]
    opt = torch.optim.AdamW(master, lr=1e-3)
    _step(torch, model, opt)
    for m, p in zip(master, params):
        m.grad = p.grad.float()
    opt.step()
    n = sum(p.numel() for p in params)
    est = model_state_bytes(n, "bf16", "adamw")
    state = _bytes(opt.state[m][k] for m in master for k in ("exp_avg", "exp_avg_sq"))
    assert _bytes(params) == est["weights"]
    assert _bytes(p.grad for p in params) == est["gradients"]
    assert _bytes(master) + state == est["optimizer"]
    assert sum(est.values()) == 16 * n


# --- CLI -----------------------------------------------------------------------------------------

KEYS = {"weights_bytes", "kv_cache_bytes", "per_gpu_bytes", "fits", "min_gpus", "breakdown"}


def test_cli_memory_must_show_numbers(cli):
    d = cli("memory", "llama-2-7b", "--mode", "infer", "--json").json
    assert set(d) >= KEYS and d["weights_bytes"] == 13_476_831_232
    assert d["fits"] is None and d["min_gpus"] is None  # no --gpu: no verdict
    d = cli("memory", "llama-3-70b", "--mode", "infer", "--context", "8192", "--json").json
    assert d["kv_cache_bytes"] == 2_684_354_560
    d = cli("memory", "llama-2-7b", "--mode", "qlora", "--gpu", "a10", "--batch", "1", "--seq",
            "512", "--json").json
    assert d["fits"] is True and d["gpu_memory_bytes"] == 23_028 * 2**20  # as nvidia-smi reports it
    d = cli("memory", "llama-2-7b", "--mode", "train", "--gpu", "a100-80gb", "--json").json
    assert d["fits"] is False and d["min_gpus"] is None
    d = cli("memory", "llama-2-7b", "--gpu", "a100-80gb", "--n-gpus", "8", "--zero", "3",
            "--json").json
    assert d["fits"] is True and d["parallel"] == {"dp": 8, "tp": 1, "pp": 1, "zero": 3}


def test_cli_memory_human(cli):
    r = cli("memory", "llama-2-7b", "--mode", "qlora", "--gpu", "a10", "--seq", "512")
    assert r.code == 0
    for word in ("FITS on NVIDIA A10", "weights", "optimizer", "Assumptions", "sdpa", "GiB",
                 "NF4"):
        assert word in r.out
    r = cli("memory", "llama-3-70b", "--mode", "infer", "--dtype", "q4_k", "--gpu", "rtx4090")
    assert r.code == 0 and "DOES NOT FIT" in r.out and "fewest GPUs that fit: 2" in r.out


@pytest.mark.parametrize("args", [
    ("llama-2-7x",), ("llama-2-7b", "--mode", "pretrain"), ("llama-2-7b", "--gpu", "a1000"),
    ("llama-2-7b", "--dtype", "bf61"), ("llama-2-7b", "--zero", "5"), ("llama-2-7b", "--batch", "0"),
    ("llama-2-7b", "--seq", "1.5"), ("llama-2-7b", "--n-gpus", "3", "--tp", "2"),
    ("llama-2-7b", "--optimizer", "lion"), ("llama-2-7b", "--mode", "lora", "--targets", "qkv"),
])
def test_cli_memory_bad_input_is_one_line(cli, args):
    assert_one_line_error(cli("memory", *args))


def test_plan_memory_section_flags_a_plan_that_cannot_fit(cli):
    d = cli("plan", "--tokens", "2T", "--arch", "llama-2-7b", "--gpu", "a10",
            "--n-gpus", "8", "--json").json["memory"]
    assert d["fits"] is False and d["min_gpus"] > 8 and d["parallel"]["zero"] == 3
    more = cli("plan", "--tokens", "2T", "--arch", "llama-2-7b", "--gpu", "a10",
               "--n-gpus", str(d["min_gpus"]), "--json").json["memory"]
    assert more["fits"] is True
    r = cli("plan", "--tokens", "2T", "--arch", "llama-2-7b", "--gpu", "a10",
            "--n-gpus", "8")
    assert r.code == 0 and "THIS PLAN CANNOT FIT" in r.out
    d = cli("plan", "--tokens", "2T", "--arch", "llama-2-7b", "--gpu", "h100",
            "--n-gpus", "8", "--json").json["memory"]
    assert d["fits"] is True
    assert cli("plan", "--params", "7B", "--tokens", "2T", "--json").json["memory"] is None
    assert_one_line_error(cli("plan", "--tokens", "2T", "--arch", "llama-2-7b", "--gpu", "z100"))


def test_cli_dropout_override(cli):  # GPT-2's config has 0.1 dropout; --dropout 0 removes the masks
    base = cli("memory", "gpt-2", "--seq", "1024", "--json").json["activations"]
    none = cli("memory", "gpt-2", "--seq", "1024", "--dropout", "0", "--json").json["activations"]
    s, h, layers = 1024, 768, 12
    assert base["layers"] - none["layers"] == layers * 2 * s * h  # 1-byte masks, 2 per layer
    assert base["outside"] - none["outside"] == s * h  # and one on the embeddings


def test_presets_give_the_published_shapes():  # architecture presets vs the config.json above
    from scalinglab.memory import load_shape

    assert load_shape("llama-2-7b") == LLAMA2_7B
    assert load_shape("llama-3-70b") == LLAMA3_70B
    v3 = load_shape("deepseek-v3")  # MLA: kv_lora_rank 512, qk_rope_head_dim 64 (config.json)
    assert (v3.kv_lora_rank, v3.rope_dim) == (512, 64)


def test_qlora_65b_on_one_48gb_gpu(cli):
    """QLoRA abstract: "finetune a 65B parameter model on a single 48GB GPU", at the paper's
    setting: r = 64 on every linear layer, NF4 + double quantisation, paged AdamW, gradient
    checkpointing, batch 1, 512 target tokens (guanaco 65B). An RTX A6000 reports 49,140 MiB."""
    d = cli("memory", "llama-65b", "--mode", "qlora", "--rank", "64", "--seq", "512",
            "--gpu", "rtx-a6000", "--json").json
    assert d["fits"] is True and d["gpu_memory_bytes"] == 49_140 * 2**20
    assert d["trainable_params"] == 64 * 80 * (4 * 2 * 8192 + 3 * (8192 + 22016))
    # in decimal GB the same card would hold 48e9 bytes, and the verdict would flip
    assert d["per_gpu_bytes"] > 48e9 - d["reserve_bytes"]


def test_lora_gpt2_one_adapter_per_fused_matrix(cli):  # GPT-2: c_attn (fused QKV), c_proj, c_fc, c_proj
    d = cli("memory", "gpt-2", "--mode", "lora", "--json").json
    per_layer = (768 + 3 * 768) + (768 + 768) + (768 + 3072) + (3072 + 768)
    assert d["trainable_params"] == 16 * 12 * per_layer
    assert d["breakdown"]["adapters"] == 4 * 16 * 12 * per_layer  # fp32
    by_name = cli("memory", "gpt-2", "--mode", "lora", "--targets", "c_attn", "--json").json
    assert by_name["trainable_params"] == 16 * 12 * (768 + 3 * 768)


def test_config_json_path(cli):  # meta-llama/Meta-Llama-3-8B config.json: 8,030,261,248 params
    from pathlib import Path

    cfg = Path(__file__).parent / "data" / "hf_configs" / "llama-3-8b.json"
    d = cli("memory", str(cfg), "--mode", "infer", "--context", "8192", "--json").json
    assert d["weights_bytes"] == 2 * 8_030_261_248
    assert d["kv_cache_bytes"] == 2 * 32 * 8 * 128 * 2 * 8192  # 1 GiB: GQA, 8 KV heads


def test_tensor_parallel_must_split_the_heads(cli):
    # Megatron-LM splits attention heads across tensor-parallel ranks (Shoeybi et al. 2019, Sec. 3)
    from conftest import assert_one_line_error

    assert_one_line_error(cli("memory", "gpt-2", "--tp", "5", "--n-gpus", "5"))
    assert_one_line_error(cli("memory", "llama-2-7b", "--mode", "infer", "--n-gpus", "3"))
    # the fewest-GPUs search for inference only counts degrees that divide the 64 heads
    d = cli("memory", "llama-3-70b", "--mode", "infer", "--gpu", "a10", "--json").json
    assert 64 % d["min_gpus"] == 0 and d["min_gpus"] == 8


# --- issue 12: must show ---------------------------------------------------------------------

def test_mixtral_lora_r16_has_pefts_240_million_trainable(cli):
    """PEFT's r (d_in + d_out) on every attention matrix and every expert's w1, w2, w3 of Mixtral
    8x7B (config.json: 32 layers, d 4096, 8 KV heads, 8 experts of 14336): 240,123,904."""
    d = cli("memory", "mixtral-8x7b", "--mode", "lora", "--rank", "16", "--json").json
    assert d["trainable_params"] == 240_123_904
    attention_only = cli("memory", "mixtral-8x7b", "--mode", "lora", "--rank", "16",
                         "--no-lora-experts", "--json").json
    assert attention_only["trainable_params"] == 16 * 32 * (2 * 8192 + 2 * 5120)
    by_name = cli("memory", "mixtral-8x7b", "--mode", "lora", "--targets", "q_proj,w1",
                  "--json").json  # transformers' module names
    assert by_name["trainable_params"] == 16 * 32 * (8192 + 8 * (4096 + 14336))


def test_default_assumes_no_dropout_when_the_config_has_none():
    """Llama's config.json has no hidden dropout and attention_dropout 0.0: no masks counted; a
    config with dropout (GPT-2's 0.1) gets them; --dropout overrides either."""
    from scalinglab.activations import layer_terms
    from scalinglab.memory import load_shape

    llama = load_shape("llama-2-7b")
    assert (llama.dropout, llama.attention_dropout, llama.embedding_dropout) == (0, 0, 0)
    assert layer_terms(llama, 2048, 1)["dropout"] == 0
    e = estimate(llama, "train", attention="eager")
    assert e.activations["per_layer"]["dropout"] == 0
    gpt2 = load_shape("gpt-2")
    assert gpt2.dropout == 0.1 and layer_terms(gpt2, 1024, 1)["dropout"] == 2 * 1024 * 768
    assert estimate(llama, "train", dropout=0.1).activations["per_layer"]["dropout"] > 0


@pytest.mark.parametrize("args,names", [
    (("--reserve", "-1GiB"), "zero or a positive size"),
    (("--reserve", "2 parsecs"), "MiB"),
    (("--attention", "flash"), "sdpa, eager"),
    (("--loss-impl", "chunky"), "hf, fused"),
    (("--mode", "lora", "--targets", "c_attn"), "q_proj"),
    (("--dropout", "1.5"), "[0, 1)"),
    (("--autocast", "bf16"), "--dtype fp32"),
])
def test_bad_memory_inputs_name_the_valid_choices(cli, args, names):
    r = cli("memory", "llama-2-7b", *args)
    assert_one_line_error(r)
    assert names in r.err


def test_gemma2_local_layers_cap_the_kv_cache_at_the_window():
    """Gemma 2 27B (config.json): 46 layers alternating local (sliding window 4096) and global,
    16 KV heads of 128; at 32k tokens the 23 local layers keep 4,096 tokens, the 23 global all."""
    from scalinglab.memory import load_shape

    e = estimate(load_shape("gemma-2-27b"), "infer", context=32768)
    per_token = 2 * 16 * 128 * 2
    assert e.kv_cache_by_kind == {"full": 23 * per_token * 32768, "sliding": 23 * per_token * 4096,
                                  "latent": 0.0}
    assert e.kv_cache_bytes == 23 * per_token * (32768 + 4096)
    v3 = estimate(load_shape("deepseek-v3"), "infer", context=4096)  # MLA: 576 values per token
    assert v3.kv_cache_by_kind["latent"] == 61 * 576 * 2 * 4096 == v3.kv_cache_bytes


def test_kv_cache_bytes_is_vectorised():  # issue 15 calls it over arrays of batch and context
    import numpy as np

    got = kv_cache_bytes(32, 8, 128, np.array([1024, 8192]), np.array([[1], [4]]), "bf16",
                         sliding_window=4096, sliding_layers=32)
    assert got.shape == (2, 2) and got[1, 1] == 32 * 2 * 8 * 128 * 2 * 4096 * 4


def test_sizes_print_in_gb_and_gib(cli):
    r = cli("memory", "llama-2-7b", "--mode", "infer", "--gpu", "a100-80gb")
    assert "GiB" in r.out and "GB" in r.out and "as the device reports it" in r.out
    d = cli("memory", "llama-2-7b", "--gpu", "a100-80gb", "--reserve", "2GiB", "--json").json
    assert d["reserve_bytes"] == 2 * 2**30 and d["usable_bytes"] == 81_920 * 2**20 - 2 * 2**30
