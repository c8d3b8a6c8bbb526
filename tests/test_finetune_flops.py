"""Fine-tuning compute (issue 14, item 12): LoRA's FLOP per token, measured and closed form."""

import pytest

from conftest import assert_one_line_error
from scalinglab.architecture import get_preset
from scalinglab.architecture.flops import (adapter_params_per_token, finetune_flops_per_token,
                                           flops_per_token)


def test_lora_is_4n_plus_6_adapters_under_6n():
    # Llama-2-7B, r = 8 on q_proj and v_proj: 4,194,304 adapter parameters (PEFT's
    # print_trainable_parameters: "trainable params: 4,194,304 || all params: 6,742,609,920")
    spec = get_preset("llama-2-7b")
    assert adapter_params_per_token(spec, 8, ("q", "v")) == 4_194_304
    n = 6_738_415_616
    f = finetune_flops_per_token(spec, "lora", "6N", rank=8, targets=("q", "v"))
    assert f.training == 4 * n + 6 * 4_194_304  # forward 2N + 2N_a, backward 2N + 4N_a
    assert f.forward == 2 * n + 2 * 4_194_304 and f.adapter_params == 4_194_304
    full = finetune_flops_per_token(spec, "full", "6N")
    assert full.training == 6 * n == flops_per_token(spec, "6N").training
    assert f.training / full.training == pytest.approx(0.6673, abs=1e-4)
    # gradient checkpointing (the default for LoRA) costs one more forward, in hardware FLOP only
    assert f.recompute == "full" and f.hardware == f.training + 2 * n + 2 * 4_194_304
    q = finetune_flops_per_token(spec, "qlora", "6N", rank=8, targets=("q", "v"))
    assert q.training == f.training  # NF4 is dequantised to bf16 for the same matmuls


def test_moe_adapters_only_of_the_routed_experts_a_token_visits():
    spec = get_preset("mixtral-8x7b")  # top 2 of 8 experts per MoE layer
    every = adapter_params_per_token(spec, 16, experts=False)
    with_experts = adapter_params_per_token(spec, 16)
    per_expert_layer = 16 * (3 * (4096 + 14336))  # w1, w3, w2 of one expert: r (d_in + d_out)
    assert with_experts - every == 32 * 2 * per_expert_layer


def test_lora_flops_equal_what_torch_counts():
    # A tiny Llama with every linear adapted (r = 4) by hand, base frozen: torch's
    # FlopCounterMode over one forward + backward equals the closed form under the matmul
    # convention, less layer 0's q/k/v input gradients (the frozen embedding needs none)
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from torch import nn

    from scalinglab.architecture import spec_from_config
    from scalinglab.architecture.exact import build_model, measure_flops

    cfg = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 96,
           "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2,
           "head_dim": 16, "vocab_size": 256, "max_position_embeddings": 512, "pad_token_id": 0}

    class LoRA(nn.Module):
        def __init__(self, base, r):
            super().__init__()
            self.base = base
            self.A = nn.Linear(base.in_features, r, bias=False)
            self.B = nn.Linear(r, base.out_features, bias=False)

        def forward(self, x):
            return self.base(x) + self.B(self.A(x))

    torch.manual_seed(0)
    model = build_model(cfg, device="cpu")
    for p in model.parameters():
        p.requires_grad_(False)
    r, seq = 4, 32
    for layer in model.model.layers:
        for parent, names in ((layer.self_attn, ("q_proj", "k_proj", "v_proj", "o_proj")),
                              (layer.mlp, ("gate_proj", "up_proj", "down_proj"))):
            for name in names:
                setattr(parent, name, LoRA(getattr(parent, name), r))
    measured = measure_flops(model, seq, batch=2)
    spec = spec_from_config(cfg)
    closed = finetune_flops_per_token(spec, "lora", "matmul", seq, rank=r, recompute="none")
    layer0 = 2 * 64 * (64 + 2 * 32) + 3 * 2 * r * 64  # q, k, v (and their A) input gradients
    assert closed.training - layer0 == pytest.approx(measured, rel=1e-9)
    full = measure_flops(build_model(cfg, device="cpu"), seq, batch=2)  # all trainable
    assert full == pytest.approx(flops_per_token(spec, "matmul", seq).training, rel=1e-9)
    assert measured < full


def test_time_mode_lora(cli):
    d = cli("time", "--mode", "lora", "--arch", "llama-2-7b", "--tokens", "1B", "--gpu", "a100",
            "--rank", "8", "--targets", "q,v", "--json").json
    assert d["flops"] == 1e9 * (4 * 6_738_415_616 + 6 * 4_194_304)
    full = cli("time", "--mode", "full", "--arch", "llama-2-7b", "--tokens", "1B", "--gpu",
               "a100", "--json").json
    assert full["flops"] == 1e9 * 6 * 6_738_415_616
    assert d["gpu_hours"] / full["gpu_hours"] == pytest.approx(d["flops"] / full["flops"])
    out = cli("time", "--mode", "qlora", "--arch", "llama-2-7b", "--tokens", "1B", "--gpu", "a100").out
    assert "Fine-tuning" in out and "no weight gradients" in out and "Hu et al. 2021" in out


@pytest.mark.parametrize("args", [
    ("--mode", "lora", "--params", "7B", "--tokens", "1B"),  # adapters need an architecture
    ("--mode", "nope", "--arch", "llama-2-7b", "--tokens", "1B"),
    ("--rank", "8", "--params", "7B", "--tokens", "1B"),  # --rank without a LoRA mode
    ("--mode", "full", "--targets", "q", "--arch", "llama-2-7b", "--tokens", "1B"),
    ("--mode", "lora", "--targets", "", "--arch", "llama-2-7b", "--tokens", "1B"),
    ("--mode", "lora", "--targets", "nope", "--arch", "llama-2-7b", "--tokens", "1B"),
])
def test_bad_fine_tuning_options(cli, args):
    assert_one_line_error(cli("time", "--gpu", "a100", *args))
