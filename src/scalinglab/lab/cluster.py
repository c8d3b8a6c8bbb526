"""The Ray engine: every rung of a ladder is one Ray task with its resources; the driver (this
process) stays the one writer of runs/ (the contract in engines.py).

    scalinglab lab run ladder.toml -o runs/ --engine ray [--address auto|HOST:PORT|ray://HOST:10001]
        [--cpus-per-run N] [--gpus-per-run G] [--retries K] [--checkpoints shared|worker]

Cluster. With --address: that cluster, once a TCP connection shows something answers there
within PROBE_SECONDS (ray.init itself retries a dead address for minutes). Without: a local Ray
instance for this run, bound to 127.0.0.1 only (Ray's switch for a single-machine instance,
RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0), usage statistics off, no dashboard, stopped at the end.
Every node needs scalinglab[lab] at the driver's version and the ladder's corpus (stdlib: the
same Python; a path: the same file at the same path; train_rung checks its sha256).

Tasks. `ray.remote(num_cpus=N, num_gpus=G, max_retries=K)` around train_rung; CPU threads = N
(rounded down, at least 1) unless --threads says. Each attempt registers itself (pid, host) with
a ledger actor (0 CPUs) before it trains and sends it its steps: the driver counts attempts and
draws progress from it.
- A worker that dies (killed, its node lost, the OOM killer) is retried by Ray, at most K times;
  then the rung is recorded failed ("worker lost"). The report lists every retry.
- An exception in train_rung (Diverged, CUDA out of memory, ...) is not retried (train_rung is
  deterministic: it would fail again): the rung is recorded failed with its error.
- An InputError in a task (the corpus differs on that node; the checkpoint folder is not shared)
  stops the ladder with that one line.

Checkpoints (--checkpoints):
- shared (default): OUT/work/<rung>, which every worker must reach at the same path (NFS, Lustre,
  a Kubernetes volume). The driver leaves a token in each rung's folder; a task that does not
  find it stops the ladder rather than checkpoint where no retry will look. A retried rung, and
  one cut short by a dead driver, resume from their last checkpoint.
- worker: the worker node's temporary folder (tempfile.gettempdir()/scalinglab-ray/); nothing
  but the result leaves the node, and the task removes its folder as it returns. A rung that
  runs again on the same node resumes; on another node it starts over (the same result, later).
Results travel through Ray's object store in both modes (a RunResult pickles to a few kB). The
report counts the bytes: results through the object store (pickled), and what the tasks wrote
while training (their checkpoints; /proc/self/io wchar, Linux), to the shared folder or kept
on the workers.

Ctrl-C: the running tasks are cancelled (Ray raises KeyboardInterrupt in them; train_rung then
checkpoints between steps) and the interrupt propagates. A driver killed outright takes its tasks
with it (Ray ends a dead driver's job; a local instance stops): rerun the command to resume. An
flock in each rung folder keeps a late attempt of a dead job from training alongside the next.
"""

import contextlib
import json
import logging
import os
import pickle
import shutil
import socket
import tempfile
import time
import uuid
from pathlib import Path

from scalinglab import validate
from scalinglab.errors import InputError, unknown
from scalinglab.lab.store import RunFailure, write_atomic

INSTALL = "--engine ray needs Ray, which is not installed: pip install 'scalinglab[cluster]'"
CHECKPOINTS = ("shared", "worker")
LOCAL_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
PROBE_SECONDS = 5.0
POLL_SECONDS = 0.25
CANCEL_SECONDS = 30.0
TOKEN = "driver.token"    # in each shared rung folder: proves a worker sees the driver's files
WORKER = "worker.json"    # in each rung folder: the attempt training it (pid, host)
LOCK = "lock"             # held by the attempt training the rung (released when its process dies)
LOCK_SECONDS = 120.0
DEFAULT_PORT = 6379


def require_ray(local: bool):
    """The ray module, or a one-line InputError naming the extra. For a local instance Ray is
    first told to stay on loopback and send no usage statistics (it reads both on import)."""
    if local:
        for k, v in LOCAL_ENV.items():
            os.environ.setdefault(k, v)
    try:
        import ray
    except ImportError:
        raise InputError(INSTALL) from None
    return ray


def resolve_address(address: str) -> tuple[str, int]:
    """(host, port) that --address names: auto (RAY_ADDRESS, else the cluster `ray start` left
    on this machine), HOST:PORT (a head's GCS) or ray://HOST:PORT (a Ray Client server)."""
    text = address
    if address == "auto":
        text = os.environ.get("RAY_ADDRESS", "")
        if not text or text == "auto":
            current = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"
            try:
                text = current.read_text().strip()
            except OSError:
                raise InputError("--address auto: no Ray cluster is running on this machine (no "
                                 f"RAY_ADDRESS, no {current}): start one with `ray start --head`, "
                                 "or leave out --address for a local instance") from None
    text = text.removeprefix("ray://")
    host, _, port = text.rpartition(":") if ":" in text else (text, "", str(DEFAULT_PORT))
    if not host or not port.isdigit():
        raise InputError(f"--address {address!r} is not auto, HOST:PORT or ray://HOST:PORT")
    return host, int(port)


def _probe(address: str) -> None:
    host, port = resolve_address(address)
    try:
        socket.create_connection((host, port), timeout=PROBE_SECONDS).close()
    except OSError as e:
        raise InputError(f"nothing answers at {host}:{port} (--address {address}: "
                         f"{e.strerror or e}): start a Ray head there (`ray start --head`, see "
                         "docs/cluster.md), or leave out --address for a local instance") from None


def _connect(ray, address) -> tuple[bool, str]:
    """(whether this run opened the connection and must close it, where the tasks run)."""
    quiet = dict(logging_level=logging.ERROR, log_to_driver=False)
    if address is not None:
        _probe(address)
    if ray.is_initialized():  # a notebook or the tests connected already: use it, leave it
        return False, "the Ray instance this process is connected to"
    if address is None:
        ray.init(include_dashboard=False, **quiet)
        return True, "a local Ray instance on 127.0.0.1, for this run"
    try:
        ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as e:
        line = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise InputError(f"cannot connect to the Ray cluster at {address!r}: {line}") from None
    return True, f"the Ray cluster at {address}"


def _cluster(ray, cpus: float, gpus: float) -> dict:
    """The cluster's size; an InputError when no node could ever run one rung."""
    nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
    if not any(r.get("CPU", 0) >= cpus and r.get("GPU", 0) >= gpus for r in nodes):
        best = max(nodes, key=lambda r: (r.get("GPU", 0), r.get("CPU", 0)), default={})
        raise InputError(f"no node of this Ray cluster has {cpus:g} CPU(s) and {gpus:g} GPU(s) "
                         f"free to give one rung (the largest has {best.get('CPU', 0):g} CPUs, "
                         f"{best.get('GPU', 0):g} GPUs): lower --cpus-per-run/--gpus-per-run or "
                         "add a node that size")
    total = ray.cluster_resources()
    return {"nodes": len(nodes), "cluster_cpus": total.get("CPU", 0.0),
            "cluster_gpus": total.get("GPU", 0.0)}


class Ledger:
    """The actor each attempt registers with and reports its steps to (the driver reads it)."""

    def __init__(self):
        self.attempts, self.steps = {}, {}

    def start(self, rung_id: str, info: dict) -> None:
        self.attempts.setdefault(rung_id, []).append(info)

    def step(self, rung_id: str, step: int, steps: int, loss: float) -> None:
        self.steps[rung_id] = (step, steps, loss)

    def read(self) -> tuple[dict, dict]:
        return self.attempts, self.steps


def _written() -> int:
    """Bytes this process has written so far (Linux /proc/self/io wchar; 0 elsewhere)."""
    try:
        with open("/proc/self/io") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("wchar:"))
    except (OSError, StopIteration, ValueError):
        return 0


def local_checkpoints(rung) -> Path:
    """A rung's checkpoint folder on a worker's own disk (--checkpoints worker)."""
    return Path(tempfile.gettempdir()) / "scalinglab-ray" / f"{rung.id}-{rung.key[:16]}"


def run_rung(rung, workdir, token, ledger, device, peak_flops, threads):
    """One attempt at one rung, on a worker: (RunResult, {"written": bytes})."""
    import ray

    from scalinglab.lab.train import train_rung

    where = Path(workdir) if workdir else local_checkpoints(rung)
    host = socket.gethostname()
    if workdir:
        try:
            seen = (where / TOKEN).read_text()
        except OSError:
            seen = None
        if seen != token:
            raise InputError(f"checkpoint folder {str(where.parent)!r} is not shared with worker "
                             f"{host}: put -o on a filesystem every node mounts at the same path, "
                             "or use --checkpoints worker")
    where.mkdir(parents=True, exist_ok=True)
    with _exclusive(where / LOCK, rung):
        me = {"pid": os.getpid(), "host": host, "node": ray.get_runtime_context().get_node_id(),
              "checkpoints": str(where), "started": time.time()}
        write_atomic(where / WORKER, json.dumps(me) + "\n")
        ray.get(ledger.start.remote(rung.id, me))  # registered before it trains: exact counts
        before = _written()
        result = train_rung(rung, where, device=device, peak_flops=peak_flops, threads=threads,
                            progress=lambda s, n, loss: ledger.step.remote(rung.id, s, n, loss))
        written = _written() - before
    if not workdir:
        shutil.rmtree(where, ignore_errors=True)
    return result, {"written": written}


@contextlib.contextmanager
def _exclusive(path: Path, rung):
    """Hold an flock on path while training: an attempt of a dead driver's job that Ray has not
    stopped yet keeps the next one waiting (up to LOCK_SECONDS) instead of training alongside."""
    import fcntl

    with open(path, "a") as f:
        deadline = time.monotonic() + LOCK_SECONDS
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"another attempt at rung {rung.id} has held {path} for "
                                       f"{LOCK_SECONDS:.0f} s") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def ray_engine(rungs, workdir, on_result, *, device: str = "auto", peak_flops=None,
               threads=None, progress=None, address: str | None = None,
               cpus_per_run: float = 1, gpus_per_run: float = 0, retries: int = 2,
               checkpoints: str = "shared") -> dict:
    """Train `rungs` as Ray tasks (see the module docstring); the report of what ran where."""
    cpus = float(validate.positive(cpus_per_run, "--cpus-per-run"))
    gpus = float(validate.nonnegative(gpus_per_run, "--gpus-per-run"))
    retries = validate.whole(retries, "--retries", 0)
    if checkpoints not in CHECKPOINTS:
        raise unknown("--checkpoints mode", checkpoints, CHECKPOINTS)
    report = {"address": address or "local", "cpus_per_run": cpus, "gpus_per_run": gpus,
              "max_retries": retries, "checkpoints": checkpoints,
              "resume": _resume_note(checkpoints, rungs, workdir)}
    if not rungs:
        return report
    ray = require_ray(local=address is None)
    owned, where = _connect(ray, address)
    try:
        report.update(cluster=where, **_cluster(ray, cpus, gpus))
        opts = dict(device=device, peak_flops=peak_flops, threads=threads or max(1, int(cpus)))
        return _drive(ray, rungs, workdir, on_result, progress, report, cpus, gpus, opts)
    finally:
        if owned:
            ray.shutdown()


def _resume_note(checkpoints: str, rungs, workdir) -> str:
    if checkpoints == "shared":
        where = Path(workdir(rungs[0])).resolve().parent if rungs else "OUT/work"
        return (f"checkpoints in {where} (shared: every worker must reach it): a retried or "
                "cut-short rung resumes from its last checkpoint")
    return ("checkpoints on each worker's own disk (not shared), results through Ray's object "
            "store: a retried or cut-short rung resumes only if it runs again on the same node; "
            "elsewhere it starts over from scratch")


def _drive(ray, rungs, workdir, on_result, progress, report, cpus, gpus, opts) -> dict:
    token = uuid.uuid4().hex
    ledger = ray.remote(num_cpus=0)(Ledger).remote()
    task = ray.remote(num_cpus=cpus, num_gpus=gpus, max_retries=report["max_retries"],
                      retry_exceptions=False)(run_rung)
    pending = {}
    for rung in rungs:
        folder = None
        if report["checkpoints"] == "shared":
            folder = Path(workdir(rung)).resolve()
            folder.mkdir(parents=True, exist_ok=True)
            write_atomic(folder / TOKEN, token)
        ref = task.options(name=f"scalinglab {rung.id}").remote(
            rung, str(folder) if folder else None, token, ledger, **opts)
        pending[ref] = rung
    shown, moved = {}, {"results": 0, "checkpoints": 0}
    attempts = {}
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=len(pending), timeout=POLL_SECONDS)
            attempts, steps = ray.get(ledger.read.remote())
            _show(progress, {r.id: r for r in pending.values()}, attempts, steps, shown)
            for ref in done:
                rung = pending.pop(ref)
                on_result(_collect(ray, ref, rung, attempts, report["max_retries"], moved))
        attempts, _ = ray.get(ledger.read.remote())
    except BaseException:  # Ctrl-C, or an InputError from one task: stop the others first
        for ref in pending:
            ray.cancel(ref)
        ray.wait(list(pending), num_returns=len(pending), timeout=CANCEL_SECONDS)
        raise
    shared = report["checkpoints"] == "shared"
    report["bytes"] = {"results_through_object_store": moved["results"],
                       "checkpoints_to_shared_folder": moved["checkpoints"] if shared else 0,
                       "checkpoints_kept_on_workers": 0 if shared else moved["checkpoints"]}
    report["attempts"] = {k: [{"pid": a["pid"], "host": a["host"]} for a in v]
                          for k, v in attempts.items()}
    report["retried"] = {k: len(v) - 1 for k, v in attempts.items() if len(v) > 1}
    return report


def _show(progress, running: dict, attempts: dict, steps: dict, shown: dict) -> None:
    """Tell the progress bars what the ledger knows about the rungs still running."""
    if progress is None:
        return
    for rid, tries in attempts.items():
        rung = running.get(rid)
        if rung is None:
            continue
        if shown.get(rid) != len(tries):  # a new attempt: its bar starts again
            shown[rid] = len(tries)
            progress.start(rung)
        if rid in steps:
            progress.step(rung, *steps[rid])


def _collect(ray, ref, rung, attempts: dict, retries: int, moved: dict):
    """The RunResult of a finished task, or the RunFailure it amounts to."""
    from ray.exceptions import RayError, RayTaskError

    tries = attempts.get(rung.id, [])
    n, host = max(1, len(tries)), (tries[-1]["host"] if tries else "")
    try:
        result, stats = ray.get(ref)
    except RayTaskError as e:  # train_rung raised: the rung's own failure (not retried)
        cause = getattr(e, "cause", None) or e
        if isinstance(cause, InputError):
            raise InputError(str(cause)) from None
        return RunFailure.of(rung, cause, "error", n, host)
    except RayError as e:  # the worker (or its node) died more often than the retries allow
        line = (str(e).strip().splitlines() or [""])[0]
        return RunFailure(rung.id, rung.key, f"its worker died {n} time(s), {retries} retries "
                          f"allowed: {type(e).__name__}: {line}"[:500], "worker lost", n, host)
    moved["results"] += len(pickle.dumps(result))
    moved["checkpoints"] += stats["written"]
    return result
