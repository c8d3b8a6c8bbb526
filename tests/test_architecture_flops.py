"""FLOP conventions from an architecture: 6N, Kaplan, PaLM, Chinchilla App. F, Megatron; inference."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from scalinglab.architecture import TransformerSpec, count_params, load_spec
from scalinglab.architecture.flops import (CONVENTIONS, flops_per_token, forward_terms,
                                           inference_flops_arch, training_flops_arch)
from scalinglab.errors import InputError


def test_6n_is_six_times_active_params():
    s = load_spec("mixtral-8x7b")
    f = flops_per_token(s, "6N")
    assert f.training == 6 * 12_879_925_248 and f.forward == 2 * 12_879_925_248


def test_palm_formula_nanogpt_gpt2():
    # nanoGPT estimate_mfu: 6N + 12 L H Q T with N = params without position table (Karpathy)
    s = load_spec("gpt2")
    n = 124_439_808 - 1024 * 768
    assert flops_per_token(s, "palm", 1024).training == 6 * n + 12 * 12 * 12 * 64 * 1024


def test_kaplan_table1():
    # Kaplan et al. 2020, Table 1: C_forward = 2N + 2 n_layer n_ctx d_attn, N non-embedding; C = 3 C_fwd
    s = load_spec("gpt2")
    f = flops_per_token(s, "kaplan", 1024)
    assert f.forward == 2 * 85_056_000 + 2 * 12 * 1024 * 768
    assert f.training == 3 * f.forward


def test_chinchilla_appendix_f_verbatim():
    # Hoffmann et al. 2022, App. F, written out for an MHA model with d_ff = 4d (Chinchilla 70B shape:
    # d 8192, 64 heads of 128, 80 layers, ffw 32768, vocab 32000), per sequence of 2048
    d, h, kq, L, ffw, V, T = 8192, 64, 128, 80, 32768, 32000, 2048
    spec = TransformerSpec(d_model=d, n_layers=L, n_heads=h, vocab_size=V, d_ff=ffw, gated_mlp=False,
                           norm="rmsnorm", positions="relative")
    emb = 2 * T * V * d
    attn = (2 * 3 * T * d * (kq * h) + 2 * T * T * (kq * h) + 3 * h * T * T
            + 2 * T * T * (kq * h) + 2 * T * (kq * h) * d)
    dense = 2 * T * (d * ffw + d * ffw)
    logits = 2 * T * d * V
    forward = emb + L * (attn + dense) + logits
    f = flops_per_token(spec, "chinchilla", T)
    assert f.forward * T == pytest.approx(forward, rel=1e-12)
    assert f.training * T == pytest.approx(3 * forward, rel=1e-12)


def test_megatron_halves_attention():
    s = load_spec("llama-3-8b")
    m, full = flops_per_token(s, "megatron", 8192), flops_per_token(s, "matmul", 8192)
    attn = 3 * 2 * 32 * 8192 * 32 * (128 + 128)
    assert full.training - m.training == pytest.approx(attn / 2)


def test_attention_flops_quadratic_in_sequence_length():
    s = load_spec("llama-3-8b")
    t = np.array([1024.0, 2048.0, 4096.0, 8192.0])
    per_seq = forward_terms(s, t)["attention"] * t
    assert np.allclose(per_seq[1:] / per_seq[:-1], 4.0)
    total = flops_per_token(s, "matmul", t).training * t  # a T + b T^2: second differences constant
    a_b = np.polyfit(t, total, 2)
    assert a_b[0] == pytest.approx(3 * 2 * 32 * 32 * 256, rel=1e-9)


def test_recompute_hardware_flops():
    s = load_spec("llama-3-70b")
    none = flops_per_token(s, "megatron", 4096)
    full = flops_per_token(s, "megatron", 4096, recompute="full")
    sel = flops_per_token(s, "megatron", 4096, recompute="selective")
    assert full.hardware == pytest.approx(4 / 3 * none.training)  # one more forward: 8N/6N
    assert none.training < sel.hardware < full.hardware
    assert full.training == none.training  # model FLOPs do not count recomputation


def test_inference_prefill_and_decode():
    s = load_spec("llama-3-8b")
    inf = inference_flops_arch(s, 4096)
    w = count_params(s).total - 128256 * 4096  # matmul weights: all but the input embedding table
    w -= 32 * 2 * 4096 + 4096  # norms are not matmuls
    attn = 2 * 32 * 32 * (128 + 128)
    assert inf.decode_per_token == pytest.approx(2 * w + attn * 4096)
    assert inf.prefill == pytest.approx(4096 * 2 * w + attn * 4096 * 4096 / 2)


def test_training_run_uses_tokens():
    run = training_flops_arch(load_spec("llama-3-8b"), 15e12, "6N")
    assert run.flops == pytest.approx(6 * 8_030_261_248 * 15e12)
    assert run.convention == "6N"


@pytest.mark.parametrize("conv", CONVENTIONS)
def test_conventions_near_6n_for_big_models(conv):
    # at T = 2048 all conventions land within ~10% of 6N for a 70B dense model
    f = flops_per_token(load_spec("llama-3-70b"), conv, 2048)
    assert 5.5 < f.per_param < 6.6


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 1 << 16), st.integers(1, 1 << 16))
def test_training_flops_monotone_in_seq_len(t1, t2):
    s = load_spec("gpt2")
    lo, hi = sorted((t1, t2))
    for conv in CONVENTIONS:
        assert flops_per_token(s, conv, lo).training <= flops_per_token(s, conv, hi).training


def test_unknown_convention_and_bad_seq():
    with pytest.raises(InputError, match="palm"):
        flops_per_token(load_spec("gpt2"), "plam")
    with pytest.raises(InputError):
        flops_per_token(load_spec("gpt2"), "6N", 0)
