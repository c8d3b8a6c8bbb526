"""The lab on Ray (lab/cluster.py) and failed rungs (engines.py, store.py).

One REAL local Ray instance for the module (2 CPUs, no dashboard, an 80 MiB object store, bound
to 127.0.0.1: checked on its sockets), shared by every test that needs it; rungs of ~1e9 FLOP
(seconds). Measured here: the same runs.csv as the local engine, a worker SIGKILLed by its pid
mid-run (retried, resumed from its shared checkpoint, nothing lost or doubled), a driver
SIGKILLed and rerun (resumes), a diverged rung recorded failed while the ladder goes on.
"""

import csv
import ipaddress
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace

import pytest

from conftest import SRC, assert_one_line_error, heavy_imports_after
from scalinglab.lab import ladder
from scalinglab.lab.cluster import LOCAL_ENV, local_checkpoints
from scalinglab.lab.engines import run_ladder
from scalinglab.lab.store import RunFailure, open_store, write_csv

TINY = dict(head_dim=4, seq_len=32, aspect=8.0, eval_tokens=2048)
FAST = ("--peak-flops", "1e11", "--threads", "1")  # no peak measurement, one thread per rung
TIMING = {"train_seconds", "tokens_per_second", "achieved_flops", "mfu"}  # measured, not results


def read_csv_rows(path) -> list:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def tiny(budgets=(1e9,), **kw):
    return ladder.plan(budgets, **{**TINY, "sizes": 3, **kw})


def _toml(tmp_path, lad, name="l.toml"):
    p = tmp_path / name
    p.write_text(ladder.to_toml(lad))
    return p


def _dead_port() -> int:
    with socket.socket() as s:  # bound, never listening: connections are refused
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- no Ray needed ---------------------------------------------------------------------------

def test_engine_ray_without_ray_names_the_extra(cli, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    r = cli("lab", "run", _toml(tmp_path, tiny()), "-o", tmp_path / "runs", "--engine", "ray")
    assert_one_line_error(r)
    assert "pip install 'scalinglab[cluster]'" in r.err


def test_cluster_flags_need_the_ray_engine(cli, tmp_path):
    toml = _toml(tmp_path, tiny())
    assert_one_line_error(r := cli("lab", "run", toml, "-o", tmp_path / "r", "--gpus-per-run", "1"))
    assert "--gpus-per-run" in r.err and "--engine ray" in r.err
    assert_one_line_error(r := cli("lab", "run", toml, "-o", tmp_path / "r", "--engine", "ray",
                                   "--checkpoints", "nfs"))
    assert "shared" in r.err and "worker" in r.err
    assert_one_line_error(cli("lab", "run", toml, "-o", tmp_path / "r", "--engine", "ray",
                              "--cpus-per-run", "0"))


def test_lab_run_imports_ray_only_for_the_ray_engine(tmp_path):
    pytest.importorskip("torch")
    lad = tiny()
    toml, short = _toml(tmp_path, lad), min(lad.rungs, key=lambda r: r.steps).id
    assert "ray" not in heavy_imports_after("lab", "run", toml, "-o", tmp_path / "a", "--only",
                                            short, *FAST)


def test_local_engine_records_a_failed_rung_and_goes_on(tmp_path, monkeypatch, cli):
    pytest.importorskip("torch")
    from scalinglab.lab import train

    lad = tiny()
    victim = lad.rungs[1]
    real = train.train_rung

    def flaky(rung, *a, **kw):
        if rung.id == victim.id:
            raise MemoryError("CPU out of memory (simulated)\nsecond line")
        return real(rung, *a, **kw)

    monkeypatch.setattr(train, "train_rung", flaky)
    out = tmp_path / "runs"
    run = run_ladder(lad, out, peak_flops=1e11, threads=1)
    assert run.failed == ((victim.id, "MemoryError: CPU out of memory (simulated)"),)
    assert set(run.trained) == {r.id for r in lad.rungs} - {victim.id}
    store = open_store(out, lad)
    assert store.failures() == {victim.id: RunFailure(victim.id, victim.key, run.failed[0][1],
                                                      "error")}
    again = run_ladder(lad, out, peak_flops=1e11, threads=1)  # listed, not trained again
    assert again.trained == () and again.failed_earlier == run.failed
    monkeypatch.setattr(train, "train_rung", real)
    r = cli("lab", "run", _toml(tmp_path, lad), "-o", out, *FAST, "--retry-failed", "--json")
    assert r.code == 0 and r.json["trained"] == [victim.id] and r.json["failed"] == []
    assert store.failures() == {} and store.read(victim)[1] == "done"


def test_lab_fit_lists_failed_rungs_and_fits_the_rest(tmp_path):
    pytest.importorskip("scipy")
    from scalinglab.lab.report import fit_runs
    from test_lab import _law_ladder

    lad, _, results = _law_ladder()
    store = open_store(tmp_path / "runs", lad)
    failed = lad.rungs[3]
    for r in results:
        if r.rung != failed.id:
            store.write(r)
    store.write_failure(RunFailure(failed.id, failed.key, "Diverged: training loss is nan",
                                   "error"))
    res = fit_runs(tmp_path / "runs", n_boot=0, figures=False)
    assert res.n_runs == len(results) - 1 and failed.id not in res.missing
    assert {"rung": failed.id, "why": "failed: Diverged: training loss is nan"} in res.excluded
    assert any(f"{failed.id} (failed)" in a for a in res.assumptions)
    assert len(read_csv_rows(tmp_path / "runs" / "runs.csv")) == len(results) - 1


def test_failure_files_are_checked_like_results(tmp_path):
    lad = tiny()
    store = open_store(tmp_path / "runs", lad)
    r0 = lad.rungs[0]
    p = store.write_failure(RunFailure(r0.id, r0.key, "ValueError: x", "error"))
    assert store.failure(r0).error == "ValueError: x"
    p.write_text(p.read_text()[:40])  # torn: set aside, the rung is simply not failed any more
    assert store.failure(r0) is None and (p.parent / (p.name + ".corrupt")).exists()


# --- a real local Ray instance -----------------------------------------------------------------

def _descendants(root: int) -> set:
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    parent[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    out, grew = {root}, True
    while grew:
        new = {p for p, pp in parent.items() if pp in out} - out
        out |= new
        grew = bool(new)
    return out - {root}


def _listening(pids) -> list:
    """The addresses the given processes listen on (TCP, from /proc)."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except OSError:
            pass
    out = []
    for name in ("tcp", "tcp6"):
        with open(f"/proc/net/{name}") as f:
            for line in f.read().splitlines()[1:]:
                col = line.split()
                if col[3] == "0A" and col[9] in inodes:  # 0A: LISTEN
                    raw = bytes.fromhex(col[1].split(":")[0])
                    raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                    out.append(ipaddress.ip_address(raw))
    return out


def _loopback(ip) -> bool:
    return ip.is_loopback or (ip.version == 6 and ip.ipv4_mapped is not None
                              and ip.ipv4_mapped.is_loopback)


@pytest.fixture(scope="module")
def cluster():
    """A local Ray instance for this module: its GCS address (127.0.0.1:PORT)."""
    pytest.importorskip("torch")
    saved = {k: os.environ.get(k) for k in (*LOCAL_ENV, "PYTHONPATH")}
    os.environ.update(LOCAL_ENV)  # read when ray is imported: loopback only, no usage stats
    os.environ["PYTHONPATH"] = SRC + os.pathsep + os.environ.get("PYTHONPATH", "")  # workers
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=80 * 2 ** 20,
             logging_level=logging.ERROR, log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_ray_binds_loopback_only(cluster):
    assert cluster.startswith("127.0.0.1:")
    addrs = _listening(_descendants(os.getpid()))
    assert len(addrs) >= 3, addrs  # at least the GCS, the raylet and a worker
    assert all(_loopback(a) for a in addrs), addrs


def test_ray_gives_the_local_engines_runs_csv(cluster, cli, tmp_path):
    lad = tiny()
    toml = _toml(tmp_path, lad)
    local = run_ladder(lad, tmp_path / "local", peak_flops=1e11, threads=1)
    assert len(local.trained) == 3
    rows = {}
    for mode in ("shared", "worker"):
        r = cli("lab", "run", toml, "-o", tmp_path / mode, "--engine", "ray", "--checkpoints",
                mode, *FAST, "--json")
        assert r.code == 0, r.err
        run = r.json
        assert sorted(run["trained"]) == sorted(local.trained) and run["failed"] == []
        rep = run["engine_report"]
        assert rep["retried"] == {} and all(len(a) == 1 for a in rep["attempts"].values())
        assert rep["checkpoints"] == mode and rep["max_retries"] == 2
        b = rep["bytes"]
        assert 3_000 < b["results_through_object_store"] < 100_000  # three small pickles
        moved, kept = b["checkpoints_to_shared_folder"], b["checkpoints_kept_on_workers"]
        assert (moved > 0, kept > 0) == ((True, False) if mode == "shared" else (False, True))
        assert not any(local_checkpoints(rung).exists() for rung in lad.rungs)
        assert not (tmp_path / mode / "work").exists() or not any((tmp_path / mode / "work")
                                                                   .iterdir())
        rows[mode] = _csv(tmp_path / mode, lad)
    want = _csv(tmp_path / "local", lad)
    for mode, got in rows.items():
        assert [g["rung"] for g in got] == [w["rung"] for w in want]
        for g, w in zip(got, want):
            for k in w:
                if k in TIMING:
                    continue
                try:
                    assert float(g[k]) == pytest.approx(float(w[k]), rel=1e-6), (mode, k)
                except ValueError:
                    assert g[k] == w[k], (mode, k)


def _csv(out, lad):
    store = open_store(out, lad)
    found = store.results()
    write_csv([found[r.id] for r in lad.rungs], out / "runs.csv")
    return read_csv_rows(out / "runs.csv")


def _wait_for(cond, seconds=120.0, every=0.01):
    deadline = time.time() + seconds
    while time.time() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(every)
    raise AssertionError("timed out waiting")


def test_worker_killed_mid_run_is_retried_losing_nothing(cluster, tmp_path):
    from scalinglab.lab.train import train_rung

    lad = tiny(checkpoint_seconds=0.05)
    victim = max(lad.rungs, key=lambda r: r.steps)
    out = tmp_path / "runs"
    box = {}

    def drive():
        try:
            box["run"] = run_ladder(lad, out, "ray", peak_flops=1e11, threads=1)
        except BaseException as e:  # noqa: BLE001  (shown by the assert below)
            box["error"] = e

    driver = threading.Thread(target=drive)
    driver.start()
    work = out / "work" / victim.id

    def training():  # the victim has checkpointed: its worker's pid
        try:
            if (work / "checkpoint.pt").exists():
                return json.loads((work / "worker.json").read_text())["pid"]
        except (OSError, ValueError):
            return None

    pid = _wait_for(training)
    os.kill(pid, signal.SIGKILL)  # the worker process, mid-run
    driver.join(timeout=180)
    assert "error" not in box, box.get("error")
    run = box["run"]
    assert sorted(run.trained) == sorted(r.id for r in lad.rungs)  # none lost, none twice
    rep = run.engine_report
    assert rep["retried"] == {victim.id: 1}
    assert [a["pid"] for a in rep["attempts"][victim.id]][0] == pid
    assert rep["attempts"][victim.id][1]["pid"] != pid
    res = open_store(out, lad).read(victim)[0]
    assert res.resumed_from_step > 0  # from the shared checkpoint, not from scratch
    whole = train_rung(victim, tmp_path / "whole", peak_flops=1e11, threads=1)
    assert (res.heldout_loss, res.loss_curve) == (whole.heldout_loss, whole.loss_curve)


def test_driver_killed_and_rerun_resumes(cluster, cli, tmp_path):
    lad = tiny(checkpoint_seconds=0.05)
    longest = max(lad.rungs, key=lambda r: r.steps)
    short = min(lad.rungs, key=lambda r: r.steps)
    toml, out = _toml(tmp_path, lad), tmp_path / "runs"
    run_ladder(lad, out, "ray", peak_flops=1e11, threads=1, only={short.id})  # one finished
    args = ("lab", "run", str(toml), "-o", str(out), "--engine", "ray", "--address", cluster,
            *FAST)
    proc = subprocess.Popen([sys.executable, "-m", "scalinglab", *args],
                            env={**os.environ, "PYTHONPATH": SRC}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    work = out / "work" / longest.id

    def training():  # the longest rung has checkpointed, under this driver
        if proc.poll() is not None:
            return "exited"
        try:
            if (work / "checkpoint.pt").exists():
                return json.loads((work / "worker.json").read_text())["pid"]
        except (OSError, ValueError):  # not written yet, or its result just came in
            return None

    worker = _wait_for(training)
    proc.kill()  # SIGKILL: no handler runs
    proc.wait()
    assert worker != "exited", proc.stderr.read().decode()[-2000:]
    _wait_for(lambda: not os.path.exists(f"/proc/{worker}"), 30)  # Ray ends the dead job's tasks
    done = [p for p in out.glob("*.json") if p.name != "manifest.json"]
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in done}
    assert f"{short.id}.json" in before and f"{longest.id}.json" not in before
    r = cli(*args, "--json")
    assert r.code == 0, r.err
    run = r.json
    assert sorted(run["skipped"]) == sorted(p.removesuffix(".json") for p in before)
    assert longest.id in run["trained"]
    assert sorted(run["skipped"] + run["trained"]) == sorted(x.id for x in lad.rungs)
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in done} == before
    res = open_store(out, lad).read(longest)[0]
    assert res.resumed_from_step > 0  # shared checkpoint: resumed, said in the report
    assert "resumes from its last checkpoint" in run["engine_report"]["resume"]


def test_a_diverged_rung_is_recorded_failed_and_the_ladder_goes_on(cluster, cli, tmp_path):
    lad = tiny()
    short = min(lad.rungs, key=lambda r: r.steps)
    text = ladder.to_toml(lad)
    head, rest = text.split(f"# {short.id}:", 1)
    toml = tmp_path / "l.toml"
    toml.write_text(head + "lr = 1e30\n# " + short.id + ":" + rest)  # an absurd lr: NaN
    lad = ladder.load_ladder(toml)
    r = cli("lab", "run", toml, "-o", tmp_path / "runs", "--engine", "ray", *FAST, "--json")
    assert r.code == 0, r.err
    (rid, error), = r.json["failed"]
    assert rid == short.id and error.startswith("Diverged: training loss is nan")
    assert sorted(r.json["trained"]) == sorted(x.id for x in lad.rungs if x.id != short.id)
    assert r.json["engine_report"]["retried"] == {}  # an exception is not retried
    doc = json.loads((tmp_path / "runs" / f"{short.id}.failed.json").read_text())
    assert doc["failure"]["error"] == error and doc["failure"]["kind"] == "error"
    r = cli("lab", "run", toml, "-o", tmp_path / "runs", "--engine", "ray", *FAST)
    assert r.code == 0 and f"{short.id}: failed earlier (Diverged" in r.out


def test_unreachable_addresses_are_one_line(cluster, cli, tmp_path, monkeypatch):
    toml = _toml(tmp_path, tiny())
    port = _dead_port()
    for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}"):
        r = cli("lab", "run", toml, "-o", tmp_path / "r", "--engine", "ray", "--address", address)
        assert_one_line_error(r)  # at once: the address is probed before ray.init waits on it
        assert f"nothing answers at 127.0.0.1:{port}" in r.err and "ray start --head" in r.err
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    assert_one_line_error(r := cli("lab", "run", toml, "-o", tmp_path / "r", "--engine", "ray",
                                   "--address", "auto"))
    assert "nothing answers" in r.err
    assert_one_line_error(r := cli("lab", "run", toml, "-o", tmp_path / "r", "--engine", "ray",
                                   "--gpus-per-run", "1"))
    assert "no node of this Ray cluster has 1 CPU(s) and 1 GPU(s)" in r.err


def test_a_checkpoint_folder_the_worker_cannot_see_stops_the_ladder(cluster, tmp_path):
    from scalinglab.errors import InputError
    from scalinglab.lab.cluster import run_rung

    rung = tiny().rungs[0]  # no driver token in the folder: not the driver's folder
    with pytest.raises(InputError, match="is not shared with worker .*--checkpoints worker"):
        run_rung(rung, str(tmp_path / "work" / rung.id), "token", None, "cpu", 1e11, 1)
