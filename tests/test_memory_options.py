"""Memory options per mode, LoRA over an int8 base, and plan's memory settings (issue 14, items
5 and 13)."""

import pytest
from hypothesis import given, strategies as st

from conftest import assert_one_line_error
from scalinglab import api
from scalinglab.errors import InputError
from scalinglab.memory import MODES, ONLY, estimate_for

# Llama-2-7B (huggingface.co/meta-llama/Llama-2-7b-hf config.json): 6,738,415,616 parameters,
# of them 2 x 32,000 x 4,096 = 262,144,000 in the untied embedding and output head
N, EMB = 6_738_415_616, 262_144_000


@pytest.mark.parametrize("mode, args", [
    ("train", ("--kv-dtype", "fp8")), ("lora", ("--context", "4096")),
    ("infer", ("--zero", "3")), ("infer", ("--optimizer", "sgd")), ("infer", ("--tp", "2")),
    ("infer", ("--recompute", "full")), ("train", ("--rank", "8")),
    ("finetune", ("--targets", "q,v")), ("train", ("--no-lora-experts",)),
    ("infer", ("--lora-dropout", "0.1")), ("infer", ("--attention", "eager")),
])
def test_options_of_another_mode_are_refused(cli, mode, args):
    r = cli("memory", "llama-2-7b", "--mode", mode, *args)
    assert_one_line_error(r)
    assert "does not apply to --mode " + mode in r.err
    allowed = r.err.split(", for --mode ")[1]
    assert mode not in allowed.split(";")[0].replace("|", " ").split()  # never the chosen mode


def test_every_option_is_allowed_somewhere_and_refused_elsewhere():
    for kind, (flags, modes) in ONLY.items():
        assert set(modes) < set(MODES)
        for key in flags:
            other = next(m for m in MODES if m not in modes)
            value = {"targets": ("q",), "lora_experts": False, "attention": "eager",
                     "loss_impl": "fused", "autocast": "bf16", "kv_dtype": "fp8",
                     "optimizer": "sgd", "recompute": "full"}.get(key, 1)
            with pytest.raises(InputError, match="does not apply"):
                estimate_for("llama-2-7b", other, **{key: value})


def test_overhead_is_a_fraction_or_a_percent_by_one_rule(cli):
    # --mfu 40 and --overhead 10 are both refused by units.parse_fraction; 10% and 0.1 agree
    for args in (("time", "--flops", "1e24", "--gpu", "h100", "--mfu", "40"),
                 ("memory", "llama-2-7b", "--overhead", "10")):
        r = cli(*args)
        assert_one_line_error(r)
        assert "(a fraction or a percent: 0.4 or 40%)" in r.err
    a = cli("memory", "llama-2-7b", "--overhead", "10%", "--json").json
    b = cli("memory", "llama-2-7b", "--overhead", "0.1", "--json").json
    assert a["breakdown"]["overhead"] == b["breakdown"]["overhead"] > 0
    zero = cli("memory", "llama-2-7b", "--overhead", "0", "--json").json
    assert zero["breakdown"]["overhead"] == 0
    with pytest.raises(InputError, match="overhead"):
        estimate_for("llama-2-7b", overhead=10)


def test_empty_targets_are_an_error(cli):
    assert_one_line_error(cli("memory", "llama-2-7b", "--mode", "lora", "--targets", ""))
    assert_one_line_error(cli("memory", "llama-2-7b", "--mode", "lora", "--targets", " , "))
    with pytest.raises(InputError, match="none given"):
        estimate_for("llama-2-7b", "lora", targets=())


def test_qlora_labels_and_bytes_follow_the_dtype(cli):
    # --dtype names either QLoRA's base (nf4: embeddings and head then bf16) or the 16-bit dtype
    # of embeddings, head and matmuls (the base then nf4): the label says which was used
    nf4 = N - EMB
    for dtype, label in (("nf4", "nf4 base, bf16 embeddings and head"),
                         ("bf16", "nf4 base, bf16 embeddings and head"),
                         ("fp16", "nf4 base, fp16 embeddings and head")):
        d = cli("memory", "llama-2-7b", "--mode", "qlora", "--dtype", dtype, "--json").json
        assert d["weights_format"] == label
        assert d["weights_bytes"] == pytest.approx(nf4 * 4.127 / 8 + EMB * 2, rel=1e-4)
        assert label in cli("memory", "llama-2-7b", "--mode", "qlora", "--dtype", dtype).out


def test_lora8_keeps_an_int8_base():
    # LoRA over an LLM.int8() base (Dettmers et al. 2022; bitsandbytes load_in_8bit): 1 byte per
    # base weight, embeddings and head 16-bit: 6,476,271,616 + 2 x 262,144,000 bytes
    e = api.memory("llama-2-7b", "lora8", gpu="a10")
    assert e.weights_bytes == (N - EMB) + 2 * EMB == 7_000_559_616
    assert e.weights_format == "int8 base, bf16 embeddings and head"
    lora = api.memory("llama-2-7b", "lora", gpu="a10")
    qlora = api.memory("llama-2-7b", "qlora", gpu="a10")
    assert e.trainable_params == lora.trainable_params == qlora.trainable_params == 39_976_960
    assert qlora.per_gpu_bytes < e.per_gpu_bytes < lora.per_gpu_bytes
    assert e.breakdown["weights"] == e.weights_bytes and e.fits  # 24 GB A10
    assert api.memory("llama-2-7b", "lora8", "int8").weights_bytes == e.weights_bytes


@pytest.mark.parametrize("mode, dtype", [("train", "nf4"), ("lora", "int4"), ("qlora", "int8"),
                                         ("lora8", "nf4"), ("finetune", "int8"), ("qlora", "fp8")])
def test_errors_never_suggest_the_mode_already_chosen(cli, mode, dtype):
    r = cli("memory", "llama-2-7b", "--mode", mode, "--dtype", dtype)
    assert_one_line_error(r)
    assert f"--mode {mode} (" not in r.err and f"is --mode {mode}" not in r.err
    assert r.err.count("--mode ") >= 1


@given(st.sampled_from(MODES), st.sampled_from(["bf16", "fp16", "fp32", "nf4", "int8", "int4",
                                                "fp8", "q4_k"]))
def test_any_mode_and_dtype_is_an_estimate_or_one_clear_error(mode, dtype):
    try:
        e = estimate_for("gpt-2", mode, dtype)
    except InputError as err:
        assert "\n" not in str(err) and f"--mode {mode} (" not in str(err)
    else:
        assert e.per_gpu_bytes > 0 and e.weights_format


def test_plan_memory_takes_sequence_micro_batch_and_recomputation(cli):
    # plan's memory check is `memory ARCH --zero 3` with the plan's settings (issue 14, item 13)
    plan = cli("plan", "--arch", "llama-3-8b", "--tokens", "1T", "--gpu", "h100", "--n-gpus", "8",
               "--seq-len", "8192", "--micro-batch", "4", "--recompute", "full", "--json").json
    mem = cli("memory", "llama-3-8b", "--gpu", "h100", "--n-gpus", "8", "--zero", "3", "--seq",
              "8192", "--batch", "4", "--recompute", "full", "--json").json
    assert plan["memory"]["per_gpu_bytes"] == mem["per_gpu_bytes"]
    default = cli("plan", "--arch", "llama-3-8b", "--tokens", "1T", "--gpu", "h100", "--n-gpus",
                  "8", "--json").json
    longer = cli("plan", "--arch", "llama-3-8b", "--tokens", "1T", "--gpu", "h100", "--n-gpus",
                 "8", "--seq-len", "8192", "--json").json
    assert longer["memory"]["breakdown"]["activations"] > 3.9 * default["memory"]["breakdown"]["activations"]
    same = cli("memory", "llama-3-8b", "--gpu", "h100", "--n-gpus", "8", "--zero", "3",
               "--recompute", "selective", "--json").json
    assert default["memory"]["per_gpu_bytes"] == same["per_gpu_bytes"]  # 2048, 1, selective
    for bad in (("--seq-len", "4096"), ("--micro-batch", "2"), ("--recompute", "nope")):
        r = cli("plan", "--arch", "llama-3-8b", "--tokens", "1T", *bad)  # no --gpu: no check
        assert_one_line_error(r)
    assert_one_line_error(cli("plan", "--arch", "llama-3-8b", "--tokens", "1T", "--gpu", "h100",
                              "--recompute", "nope"))
