"""runs/: the folder a ladder's results live in, written by one writer (the driver).

    runs/manifest.json     the ladder's hash and rung ids: binds the folder to one ladder
    runs/ladder.toml       the ladder as trained (what `lab fit` reads back)
    runs/<rung>.json       one finished result: {"schema", "ladder", "rung_key", "sha256", "result"}
    runs/<rung>.failed.json  a rung that failed for its own reason (an exception in train_rung, a
                           diverged loss, a worker lost more often than its retries allow):
                           {..., "failure": RunFailure}; fits skip it, a rerun lists it
                           (`lab run --retry-failed` trains it again)
    runs/work/<rung>/      the rung's checkpoint while it trains (removed once its result is in)
    runs/runs.csv          written by `lab fit`, in the format `scalinglab fit` reads

Every file is written atomically (a temporary file in the same folder, fsync, os.replace), so
an interrupted write leaves the old file or the new one, never half of one. A result whose
checksum, schema or rung key does not match is corrupt: it is renamed <rung>.json.corrupt and
the rung is trained again.
"""

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, fields
from pathlib import Path

from scalinglab import __version__
from scalinglab.errors import InputError
from scalinglab.lab.ladder import Ladder, Rung, from_toml, to_toml
from scalinglab.lab.train import RunResult
from scalinglab.results import Result, to_json

SCHEMA = 1
MANIFEST = "manifest.json"
LADDER = "ladder.toml"
CSV = "runs.csv"
CSV_COLUMNS = ("rung", "budget", "n_params", "n_tokens", "flops", "loss", "train_loss",
               "heldout_bpb", "tokens_per_param", "d_model", "n_layers", "n_heads", "seq_len",
               "batch_size", "steps", "lr", "seed", "train_seconds", "tokens_per_second",
               "achieved_flops", "mfu", "memory_bytes", "memory_estimate_bytes")


def write_atomic(path: Path, text: str) -> None:
    """Write text to path through a temporary file and os.replace (readers never see half)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _checksum(result: dict) -> str:
    return hashlib.sha256(json.dumps(result, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class RunFailure(Result):
    """A rung that failed for its own reason, as an engine hands it to the driver."""

    rung: str
    rung_key: str
    error: str          # one line: the exception's type and message
    kind: str           # "error" (train_rung raised) or "worker lost" (retries exhausted)
    attempts: int = 1
    host: str = ""

    @classmethod
    def of(cls, rung: Rung, exc: BaseException, kind: str = "error", attempts: int = 1,
           host: str = "") -> "RunFailure":
        """The failure an exception in train_rung makes: its type and first line."""
        text = str(exc).strip().splitlines()
        return cls(rung.id, rung.key, f"{type(exc).__name__}: {text[0] if text else ''}"[:500],
                   kind, attempts, host)

    @classmethod
    def from_dict(cls, d: dict) -> "RunFailure":
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d})


@dataclass(frozen=True)
class Store:
    """The runs/ folder of one ladder."""

    root: Path
    ladder: Ladder

    def path(self, rung_id: str) -> Path:
        return self.root / f"{rung_id}.json"

    def workdir(self, rung: Rung) -> Path:
        return self.root / "work" / rung.id

    def failed_path(self, rung_id: str) -> Path:
        return self.root / f"{rung_id}.failed.json"

    def _put(self, p: Path, what: str, item) -> Path:
        doc = json.loads(to_json(item))
        write_atomic(p, json.dumps({"schema": SCHEMA, "ladder": self.ladder.hash,
                                    "rung_key": item.rung_key, "sha256": _checksum(doc),
                                    what: doc}, indent=1) + "\n")
        return p

    def write(self, result: RunResult) -> Path:
        """The one writer: the result file, atomically; then the rung's checkpoint and any
        earlier failure go."""
        p = self._put(self.path(result.rung), "result", result)
        self.failed_path(result.rung).unlink(missing_ok=True)
        shutil.rmtree(self.root / "work" / result.rung, ignore_errors=True)
        return p

    def write_failure(self, failure: RunFailure) -> Path:
        """A failed rung, atomically (its checkpoint stays for a retry)."""
        return self._put(self.failed_path(failure.rung), "failure", failure)

    def _get(self, p: Path, rung: Rung, what: str, cls):
        """(item, status) from one of our files; a corrupt one is renamed .corrupt."""
        if not p.exists():
            return None, "missing"
        why = None
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
            if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
                why = "unknown schema"
            elif doc.get("rung_key") != rung.key:
                why = "it belongs to another version of this rung"
            elif _checksum(doc.get(what)) != doc.get("sha256"):
                why = "its checksum does not match"
            else:
                return cls.from_dict(doc[what]), "done"
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            why = "it is not valid JSON (a partial write?)"
        except (TypeError, ValueError, KeyError) as e:
            why = f"its fields do not fit ({e})"
        os.replace(p, p.with_name(p.name + ".corrupt"))
        return None, f"corrupt: {why}"

    def read(self, rung: Rung) -> tuple[RunResult | None, str]:
        """(result, status): status 'done', 'missing' or why the file is corrupt (then it has
        been renamed .corrupt and the result is None)."""
        return self._get(self.path(rung.id), rung, "result", RunResult)

    def failure(self, rung: Rung) -> RunFailure | None:
        """The rung's recorded failure, if any (a stale or corrupt one is set aside)."""
        return self._get(self.failed_path(rung.id), rung, "failure", RunFailure)[0]

    def failures(self) -> dict:
        """rung id -> RunFailure for every rung recorded as failed and not finished since."""
        out = {}
        for r in self.ladder.rungs:
            f = self.failure(r)
            if f is not None:
                out[r.id] = f
        return out

    def results(self) -> dict:
        """rung id -> RunResult for every finished rung (corrupt files set aside)."""
        out = {}
        for r in self.ladder.rungs:
            res, _ = self.read(r)
            if res is not None:
                out[r.id] = res
        return out


def open_store(root, ladder: Ladder) -> Store:
    """runs/ for `ladder`: created with its manifest, or checked to belong to it."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise InputError(f"-o {str(root)!r} is a file, not a folder")
    manifest = root / MANIFEST
    if manifest.exists():
        doc = _manifest(root)
        if doc.get("ladder_hash") != ladder.hash:
            raise InputError(f"{str(root)!r} holds runs of a different ladder "
                             f"({doc.get('ladder_name')!r}, hash {doc.get('ladder_hash')}; this "
                             f"one is {ladder.hash}): use another -o folder, or remove it")
    elif root.exists() and any(root.iterdir()):
        raise InputError(f"{str(root)!r} is not empty and has no {MANIFEST}: it is not a lab "
                         "runs folder; use another -o folder")
    else:
        root.mkdir(parents=True, exist_ok=True)
        write_atomic(root / LADDER, to_toml(ladder))
        write_atomic(manifest, json.dumps({
            "schema": SCHEMA, "ladder_hash": ladder.hash, "ladder_name": ladder.name,
            "rungs": [r.id for r in ladder.rungs], "scalinglab": __version__}, indent=1) + "\n")
    return Store(root, ladder)


def _manifest(root: Path) -> dict:
    try:
        doc = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        if not isinstance(doc, dict):
            raise ValueError
        return doc
    except (OSError, ValueError):
        raise InputError(f"{str(root / MANIFEST)!r} is unreadable: not a lab runs folder") from None


def load_store(root) -> Store:
    """An existing runs/ folder (for `lab fit`): its manifest and the ladder it was run with."""
    root = Path(root)
    if not (root / MANIFEST).exists():
        raise InputError(f"{str(root)!r} is not a lab runs folder (no {MANIFEST}); train one with "
                         "`scalinglab lab run ladder.toml -o DIR`")
    doc = _manifest(root)
    try:
        ladder = from_toml((root / LADDER).read_text(encoding="utf-8"), f"{root.name}/{LADDER}")
    except OSError:
        raise InputError(f"{str(root / LADDER)!r} is missing: not a complete lab runs "
                         "folder") from None
    if ladder.hash != doc.get("ladder_hash"):
        raise InputError(f"{str(root / LADDER)!r} does not match its manifest (hash "
                         f"{ladder.hash} vs {doc.get('ladder_hash')})")
    return Store(root, ladder)


def write_csv(results, path) -> Path:
    """One row per run, columns named so that `scalinglab fit` finds N, D, C and loss (held-out
    nats per token) by itself (fit/io.py)."""
    p = Path(path)
    rows = [r.to_dict() for r in results]
    lines = [",".join(CSV_COLUMNS)]
    for d in rows:
        d = {**d, "loss": d["heldout_loss"]}
        lines.append(",".join(_cell(d[c]) for c in CSV_COLUMNS))
    write_atomic(p, "\n".join(lines) + "\n")
    return p


def _cell(v) -> str:
    return repr(v) if isinstance(v, float) else str(v)
