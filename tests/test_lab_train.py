"""The lab with torch: the model against architecture/'s counts, memory against what torch saves,
determinism, Ctrl-C and SIGKILL mid-run, the whole chain plan -> run -> fit at ~1e9 FLOP per run."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

torch = pytest.importorskip("torch")

from conftest import SRC, assert_one_line_error  # noqa: E402
from scalinglab.architecture.flops import flops_per_token, matmul_weights  # noqa: E402
from scalinglab.lab import ladder  # noqa: E402
from scalinglab.lab.train import train_rung  # noqa: E402

TINY = dict(head_dim=4, seq_len=32, aspect=8.0, eval_tokens=2048, batch_anchor_tokens=8192.0)
FAST = ("--peak-flops", "1e11", "--threads", "1")  # no peak measurement, one thread: seconds


def tiny(budgets=(5e8, 1e9, 2e9), **kw):
    return ladder.plan(budgets, **{**TINY, **kw})


def test_model_has_the_architecture_counts():
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    from scalinglab.lab.model import GPT, n_params

    spec = ladder.model_spec(32, 2, 4)
    torch.manual_seed(0)
    model = GPT(spec, 64)
    # 256 x 32 tied embedding + 2 x 12 x 32^2 (QKV, out, 4d MLP) + 5 LayerNorms of 2 x 32
    assert n_params(model) == ladder.count_params(spec).total == 8192 + 2 * 12288 + 5 * 64
    x = torch.randint(0, 256, (3, 65))
    # the math kernel runs attention as matmuls, so the counter sees QK^T and softmax @ V too
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as fc:
        model(x[:, :-1], x[:, 1:]).backward()
    per_token = fc.get_total_flops() / (3 * 64)
    assert per_token == flops_per_token(spec, "matmul", 64).training
    assert per_token == 6 * sum(matmul_weights(spec).values()) + 12 * 2 * 32 * 64


def test_memory_is_what_torch_saves_and_states_match_the_estimate(tmp_path):
    r = tiny((2e9,)).rungs[-1]
    res = train_rung(r, tmp_path, peak_flops=1e11, threads=1)
    m, e = res.memory, res.memory_estimate
    n = r.n_params
    assert m["weights"] == e["weights"] == 4 * n and m["gradients"] == e["gradients"] == 4 * n
    n_tensors = len(list(__import__("scalinglab.lab.model", fromlist=["GPT"]).GPT(
        r.spec, r.seq_len).parameters()))
    assert m["optimizer"] == e["optimizer"] + 4 * n_tensors  # + fused AdamW's fp32 step counts
    sb, h, v = r.micro_batch * r.seq_len, r.d_model, 256
    assert m["logits"] == e["logits"] == 4 * sb * v  # fp32 log-probs kept by the cross-entropy
    L, heads = r.n_layers, r.n_heads
    # per layer the 16 s b h values of Korthikanti et al. 2022's itemisation (no dropout, no
    # scores: SDPA), in fp32, and the final norm's input and output; LayerNorm's mean and rstd
    # (2 s b per norm), SDPA's logsumexp (s b per head), the int64 inputs and targets, the
    # rotary cos and sin tables (s x head_dim / 2 each); a few scalars besides
    want = (4 * sb * h * (16 * L + 2) + 4 * 2 * sb * (2 * L + 1) + 4 * sb * heads * L + 16 * sb
            + 4 * r.seq_len * (h // heads))
    assert m["activations"] == pytest.approx(want, abs=1024)
    # and scalinglab's estimate of the same (memory.estimate, fp32, SDPA, no dropout)
    assert e["activations"] == pytest.approx(m["activations"], rel=0.01)
    assert res.memory_ratio == pytest.approx(1, abs=0.01)
    assert e["loss_peak"] == 8 * sb * v  # the backward transient only a peak measurement sees


def test_deterministic_under_a_seed(tmp_path):
    r = tiny((1e9,)).rungs[1]
    a = train_rung(r, tmp_path / "a", peak_flops=1e11, threads=1)
    b = train_rung(r, tmp_path / "b", peak_flops=1e11, threads=1)
    assert (a.train_loss, a.heldout_loss, a.loss_curve) == (b.train_loss, b.heldout_loss,
                                                             b.loss_curve)
    other = ladder.resolve(r.budget, r.d_model, r.n_layers, tiny((1e9,)).rules, 1, r.corpus,
                           r.corpus_sha256)
    c = train_rung(other, tmp_path / "c", peak_flops=1e11, threads=1)
    assert c.heldout_loss != a.heldout_loss  # another seed, another run


def test_ctrl_c_checkpoints_between_steps_and_resumes_exactly(tmp_path):
    from dataclasses import replace

    r = replace(tiny((2e9,)).rungs[0], checkpoint_seconds=1e9)  # only Ctrl-C checkpoints
    whole = train_rung(r, tmp_path / "whole", peak_flops=1e11, threads=1)

    def ctrl_c(step, steps, loss):
        if step >= r.steps // 3:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        train_rung(r, tmp_path / "cut", peak_flops=1e11, threads=1, progress=ctrl_c)
    assert (tmp_path / "cut" / "checkpoint.pt").exists()
    again = train_rung(r, tmp_path / "cut", peak_flops=1e11, threads=1)
    assert 0 < again.resumed_from_step < r.steps
    assert (again.heldout_loss, again.loss_curve) == (whole.heldout_loss, whole.loss_curve)


def _cli(*args, timeout=300):
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run([sys.executable, "-m", "scalinglab", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=timeout)


def test_killed_run_resumes_losing_nothing(tmp_path):
    lad = tiny((2e9,), checkpoint_seconds=0.05, sizes=3)
    toml = tmp_path / "l.toml"
    toml.write_text(ladder.to_toml(lad))
    out = tmp_path / "runs"
    first, second = lad.rungs[0], lad.rungs[1]
    proc = subprocess.Popen([sys.executable, "-m", "scalinglab", "lab", "run", str(toml), "-o",
                             str(out), *FAST], env={**os.environ, "PYTHONPATH": SRC},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ckpt = out / "work" / second.id / "checkpoint.pt"
    deadline = time.time() + 120
    while not ckpt.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    proc.kill()  # SIGKILL: no handler runs
    proc.wait()
    assert ckpt.exists(), proc.stderr.read().decode()[-2000:]
    done = out / f"{first.id}.json"
    before = (done.read_bytes(), done.stat().st_mtime_ns)
    assert not (out / f"{second.id}.json").exists()

    r = _cli("lab", "run", toml, "-o", out, *FAST, "--json")
    assert r.returncode == 0, r.stderr
    run = json.loads(r.stdout)
    assert run["skipped"] == [first.id] and second.id in run["trained"]  # none trained twice
    assert (done.read_bytes(), done.stat().st_mtime_ns) == before
    res = json.loads((out / f"{second.id}.json").read_text())["result"]
    assert res["resumed_from_step"] > 0
    whole = train_rung(second, tmp_path / "whole", peak_flops=1e11, threads=1)
    assert res["heldout_loss"] == whole.heldout_loss  # resumed = uninterrupted, exactly
    assert not (out / "work" / second.id).exists()  # checkpoints go once the result is in


def test_chain_plan_run_fit(tmp_path, cli):
    pytest.importorskip("scipy")
    pytest.importorskip("matplotlib")
    toml, out = tmp_path / "tiny.toml", tmp_path / "runs"
    sets = [x for k, v in TINY.items() for x in ("--set", f"{k}={v}")]
    t = time.perf_counter()
    assert cli("lab", "plan", "--budgets", "5e8,1e9,2e9", *sets, "-o", toml).code == 0
    r = cli("lab", "run", toml, "-o", out, *FAST, "--json")
    assert r.code == 0, r.err
    lad = ladder.load_ladder(toml)
    assert len(r.json["trained"]) == len(lad.rungs) and r.json["ladder_hash"] == lad.hash
    r = cli("lab", "fit", out, "--bootstrap", "50", "--starts", "500", "--json")
    assert r.code == 0, r.err
    fit = r.json
    assert time.perf_counter() - t < 120
    for key in ("csv", "figure", "html"):
        assert os.path.exists(fit[key])
    assert {"approach3", "approach2", "holdout", "budgets", "runs", "assumptions"} <= set(fit)
    assert fit["holdout"]["available"] and fit["holdout"]["flops"] == 2e9
    row = fit["runs"][0]
    assert row["MFU"] == pytest.approx(row["GFLOP/s"] * 1e9 / 1e11)
    html = open(fit["html"]).read()
    assert "<svg" in html and "http" not in html.split("<svg", 1)[0].lower().replace(
        "http-equiv", "")

    # a rerun trains nothing; a corrupt result is found, set aside and trained again
    victim = out / f"{lad.rungs[2].id}.json"
    victim.write_text(victim.read_text()[:100])
    r = cli("lab", "run", toml, "-o", out, *FAST, "--json")
    assert r.code == 0 and r.json["trained"] == [lad.rungs[2].id]
    assert r.json["redone"][0][0] == lad.rungs[2].id and "not valid JSON" in r.json["redone"][0][1]
    assert json.loads(victim.read_text())["result"]["rung"] == lad.rungs[2].id
    assert (out / (victim.name + ".corrupt")).exists()
    assert cli("lab", "run", toml, "-o", out, *FAST, "--json").json["trained"] == []


def test_peak_json(cli):
    r = cli("lab", "peak", "--json")
    assert r.code == 0, r.err
    d = r.json
    assert d["device"] == "cpu" and d["peak_flops"] == max(d["by_size"].values()) > 1e9
    assert_one_line_error(cli("lab", "peak", "--device", "tpu"))
