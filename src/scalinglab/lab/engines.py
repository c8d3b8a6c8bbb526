"""Run a ladder: the driver, and the engines that turn rungs into results.

The contract every engine keeps (a Ray engine is one more function of this shape in ENGINES):

    engine(rungs, workdir, on_result, *, device="auto", peak_flops=None, threads=None,
           progress=None) -> None

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
  atomic rename); an engine never writes runs/<rung>.json itself.
- progress (optional): an object with `start(rung)` and `step(rung, step, steps, loss)`; an
  engine calls what it can observe (a remote engine may only know when a rung ends).
- Ctrl-C: the engine lets KeyboardInterrupt propagate. Finished results are already written;
  a rung in training checkpoints between steps (train.py), so a rerun loses nothing.
- A rung that raises an exception stops the ladder here (the local engine: the error reaches the
  CLI); results written before it stay.

A Ray engine, sketched: `task = ray.remote(num_cpus=..., num_gpus=...)(train_rung)`; submit
`task.remote(rung, workdir(rung), device=..., peak_flops=...)` per rung; loop on `ray.wait`,
calling on_result(ray.get(ref)) for each finished one.
"""

import time
from dataclasses import dataclass
from pathlib import Path

from scalinglab.errors import unknown
from scalinglab.lab.ladder import Ladder
from scalinglab.lab.store import open_store
from scalinglab.results import Result


def local(rungs, workdir, on_result, *, device: str = "auto", peak_flops=None, threads=None,
          progress=None):
    """One rung after another in this process, on this machine's device."""
    from scalinglab.lab.train import train_rung

    for rung in rungs:
        if progress is not None:
            progress.start(rung)
        step = (lambda s, n, loss, r=rung: progress.step(r, s, n, loss)) if progress else None
        on_result(train_rung(rung, workdir(rung), device=device, peak_flops=peak_flops,
                             threads=threads, progress=step))


ENGINES = {"local": local}


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


def run_ladder(ladder: Ladder, out, engine: str = "local", device: str = "auto",
               peak_flops=None, threads=None, progress=None, only=None) -> LadderRun:
    """Train every rung of `ladder` not yet finished in `out` with `engine`; write each result.

    only: rung ids to restrict this run to (the rest are left for later)."""
    if engine not in ENGINES:
        raise unknown("engine", engine, ENGINES)
    t = time.perf_counter()
    store = open_store(out, ladder)
    todo, skipped, redone = [], [], []
    for rung in ladder.rungs:
        if only is not None and rung.id not in only:
            continue
        result, status = store.read(rung)
        if result is not None:
            skipped.append(rung.id)
        else:
            todo.append(rung)
            if status.startswith("corrupt"):
                redone.append((rung.id, status))
    trained = []

    def on_result(result):
        store.write(result)
        trained.append(result.rung)
        if progress is not None and hasattr(progress, "done"):
            progress.done(result)

    if progress is not None and hasattr(progress, "ladder"):
        progress.ladder(len(ladder.rungs), len(skipped), todo)
    ENGINES[engine](todo, store.workdir, on_result, device=device, peak_flops=peak_flops,
                    threads=threads, progress=progress)
    return LadderRun(str(Path(out)), ladder.name, ladder.hash, engine, len(ladder.rungs),
                     tuple(trained), tuple(skipped), tuple(redone), time.perf_counter() - t)
