"""make_plan is the whole plan: the CLI's JSON is make_plan(...).to_dict() for the same options."""

import json

import pytest

from scalinglab.errors import InputError
from scalinglab.plan import make_plan

# Every option at once: N from llama-2-7b (6,738,415,616 exact), C from 64 H100 x 10 days at
# fp8 2:4-sparse peak and MFU 0.3, a price, inference demand and a unique-token cap.
ALL = dict(arch="llama-2-7b", gpu="h100", n_gpus=64, days=10, dtype="fp8", mfu=0.3, sparse=True,
           price=2.0, inference_tokens=1e12, unique_tokens=500e9)
ALL_ARGS = ("--arch", "llama-2-7b", "--gpu", "h100", "--n-gpus", "64", "--days", "10", "--dtype",
            "fp8", "--mfu", "0.3", "--sparse", "--price", "$2", "--inference-tokens", "1T",
            "--unique-tokens", "500B")


def test_library_plan_equals_cli_json(cli):
    d = cli("plan", *ALL_ARGS, "--json").json
    assert d == json.loads(json.dumps(make_plan(**ALL).to_dict()))
    assert {"arch", "hardware", "memory", "inference", "data_constrained"} <= set(d)
    assert d["n_params"] == 6_738_415_616  # count_params(llama-2-7b): Touvron et al. 2023 "7B"
    # REFERENCES.md §5: C = n_gpus x days x 86400 x peak x MFU, H100 SXM fp8 sparse 3957.8 TFLOP/s
    assert d["flops"] == pytest.approx(64 * 10 * 86400 * 2 * 1978.9e12 * 0.3)
    assert d["derivation"].startswith("N = llama-2-7b (exact); 64 x h100-sxm for 10 days = ")


def test_plain_plan_has_only_the_law_sections():
    d = make_plan(compute=1e24).to_dict()
    assert d["memory"] is None and not {"arch", "hardware", "inference", "data_constrained"} & set(d)


@pytest.mark.parametrize("kw", [dict(days=3), dict(n_gpus=8), dict(dtype="fp8"), dict(mfu=0.5),
                                dict(sparse=True), dict(price=2.0)])
def test_hardware_options_need_a_gpu(kw):
    with pytest.raises(InputError, match="needs --gpu"):
        make_plan(n_params=7e9, **kw)
