"""Run a ladder: the driver, and the engines that turn rungs into results.

The contract every engine keeps (local here, ray in cluster.py):

    engine(rungs, workdir, on_result, *, device="auto", peak_flops=None, threads=None,
           progress=None, **options) -> dict | None

- rungs: the Rungs still to train (frozen dataclasses; `Rung.to_dict()` / `Rung.from_dict` to
  ship one to another process or machine).
- workdir(rung) -> Path: where that rung checkpoints. The engine calls
  `train.train_rung(rung, workdir(rung), device=device, peak_flops=peak_flops, threads=threads)`
  for each rung,
  in any order, any number at once, anywhere that can read the rung's corpus and its workdir
  (a shared filesystem lets a restarted rung resume from its checkpoint; elsewhere it starts over,
  which changes nothing in its result: train_rung is deterministic under the rung's seed).
- on_result(result): the engine hands each finished RunResult to the driver, in the driver's
  process, as soon as it has it. The driver is the one writer of runs/ (store.Store.write: an
  atomic rename); an engine never writes runs/<rung>.json itself. A rung that fails for its
  own reason (any exception in train_rung but an InputError: a diverged loss, out of memory)
  is handed over the same way as a store.RunFailure; the driver records it
  (runs/<rung>.failed.json) and the ladder goes on.
- options: the engine's own settings (the Ray engine's address, resources per run, retries);
  what it returns (a dict: where it ran, retries, bytes moved) is the run's engine_report.
- progress (optional): an object with `start(rung)` and `step(rung, step, steps, loss)`; an
  engine calls what it can observe (a remote engine may only know when a rung ends).
- Ctrl-C: the engine lets KeyboardInterrupt propagate. Finished results are already written;
  a rung in training checkpoints between steps (train.py), so a rerun loses nothing.
- An InputError (the corpus changed since planning) stops the ladder: it is the ladder's
  fault, not one rung's; results written before it stay.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

from scalinglab.errors import InputError, unknown
from scalinglab.lab.cluster import ray_engine
from scalinglab.lab.ladder import Ladder
from scalinglab.lab.store import RunFailure, open_store
from scalinglab.results import Result


def local(rungs, workdir, on_result, *, device: str = "auto", peak_flops=None, threads=None,
          progress=None):
    """One rung after another in this process, on this machine's device."""
    from scalinglab.lab.train import train_rung

    for rung in rungs:
        if progress is not None:
            progress.start(rung)
        step = (lambda s, n, loss, r=rung: progress.step(r, s, n, loss)) if progress else None
        try:
            result = train_rung(rung, workdir(rung), device=device, peak_flops=peak_flops,
                                threads=threads, progress=step)
        except InputError:
            raise
        except Exception as e:  # noqa: BLE001  (the rung's own failure: recorded, ladder goes on)
            result = RunFailure.of(rung, e)
        on_result(result)


ENGINES = {"local": local, "ray": ray_engine}


@dataclass(frozen=True)
class LadderRun(Result):
    """What `lab run` did: which rungs it trained, found finished, or found corrupt and redid."""

    out: str
    ladder: str
    ladder_hash: str
    engine: str
    n_rungs: int
    trained: tuple
    skipped: tuple      # finished before this run
    redone: tuple       # (rung, why) for results found corrupt and trained again
    seconds: float
    failed: tuple = ()          # (rung, error) for rungs that failed in this run
    failed_earlier: tuple = ()  # (rung, error) recorded failed before, not retried
    engine_report: dict = field(default_factory=dict)  # what the engine says it did


def run_ladder(ladder: Ladder, out, engine: str = "local", device: str = "auto",
               peak_flops=None, threads=None, progress=None, only=None,
               engine_options: dict | None = None, retry_failed: bool = False) -> LadderRun:
    """Train every rung of `ladder` not yet finished in `out` with `engine`; write each result.

    only: rung ids to restrict this run to (the rest are left for later). Rungs recorded as
    failed are listed and left alone unless retry_failed."""
    if engine not in ENGINES:
        raise unknown("engine", engine, ENGINES)
    t = time.perf_counter()
    store = open_store(out, ladder)
    todo, skipped, redone, earlier = [], [], [], []
    for rung in ladder.rungs:
        if only is not None and rung.id not in only:
            continue
        result, status = store.read(rung)
        if result is not None:
            skipped.append(rung.id)
            continue
        if status.startswith("corrupt"):
            redone.append((rung.id, status))
        failure = store.failure(rung)
        if failure is not None and not retry_failed:
            earlier.append((rung.id, failure.error))
        else:
            todo.append(rung)
    trained, failed = [], []

    def on_result(result):
        if isinstance(result, RunFailure):
            store.write_failure(result)
            failed.append((result.rung, result.error))
        else:
            store.write(result)
            trained.append(result.rung)
        if progress is not None and hasattr(progress, "done"):
            progress.done(result)

    if progress is not None and hasattr(progress, "ladder"):
        progress.ladder(len(ladder.rungs), len(skipped), todo)
    report = ENGINES[engine](todo, store.workdir, on_result, device=device,
                             peak_flops=peak_flops, threads=threads, progress=progress,
                             **(engine_options or {}))
    return LadderRun(str(Path(out)), ladder.name, ladder.hash, engine, len(ladder.rungs),
                     tuple(trained), tuple(skipped), tuple(redone), time.perf_counter() - t,
                     tuple(failed), tuple(earlier), report or {})
