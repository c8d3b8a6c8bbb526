"""Corpora for the lab, byte-level (one token per byte, vocabulary 256), with a fixed split.

`stdlib`: CPython's standard library source, the *.py files under `sysconfig`'s stdlib path
(site-packages left out), in sorted path order: every machine with Python has it, no download.
Or a text file, or a folder of them (hidden and binary files skipped).

The split is one rule for every corpus: the bytes, concatenated, are cut into blocks of
BLOCK bytes (fewer for a small corpus: a fortieth of it), and every HELDOUT_EVERY-th block is
held out (5%). The SHA-256 of the bytes names the corpus; a ladder records it and training
refuses a corpus whose hash changed.
"""

import hashlib
import sysconfig
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from scalinglab.errors import InputError
from scalinglab.results import Result, hidden

VOCAB = 256
BLOCK = 65536
HELDOUT_EVERY = 20
SPLIT_RULE = (f"blocks of {BLOCK} bytes (a fortieth of a smaller corpus); every "
              f"{HELDOUT_EVERY}th block held out")
STDLIB = "stdlib"


@dataclass(frozen=True)
class Corpus(Result):
    """A byte-level corpus split into train and held-out bytes (uint8 arrays)."""

    name: str
    source: str          # 'stdlib' or the path given
    root: str            # the folder or file read
    sha256: str
    n_files: int
    n_skipped: int       # binary or unreadable files left out
    n_bytes: int
    split: str
    train: np.ndarray = hidden(repr=False)
    heldout: np.ndarray = hidden(repr=False)

    _derived = ("n_train", "n_heldout")

    @property
    def n_train(self) -> int:
        return int(self.train.size)

    @property
    def n_heldout(self) -> int:
        return int(self.heldout.size)


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def _stdlib_files(root: Path) -> list[Path]:
    skip = {"site-packages", "dist-packages", "__pycache__"}
    return sorted((p for p in root.rglob("*.py") if p.is_file()
                   and not skip.intersection(p.relative_to(root).parts)),
                  key=lambda p: p.relative_to(root).as_posix())


def _user_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted((p for p in root.rglob("*") if p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(root).parts)),
                  key=lambda p: p.relative_to(root).as_posix())


def _read(files) -> tuple[bytes, int, int]:
    """The concatenated bytes of the text files, how many were read and how many skipped."""
    parts, skipped = [], 0
    for p in files:
        try:
            b = p.read_bytes()
        except OSError:
            skipped += 1
            continue
        if b"\0" in b[:8192]:  # a binary file
            skipped += 1
            continue
        parts.append(b)
    return b"".join(parts), len(parts), skipped


def split(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out): every HELDOUT_EVERY-th block of the stream is held out."""
    block = max(1, min(BLOCK, data.size // (2 * HELDOUT_EVERY)))
    blocks = [data[i:i + block] for i in range(0, data.size, block)]
    held = [b for k, b in enumerate(blocks) if k % HELDOUT_EVERY == HELDOUT_EVERY - 1]
    train = [b for k, b in enumerate(blocks) if k % HELDOUT_EVERY != HELDOUT_EVERY - 1]
    empty = np.zeros(0, np.uint8)
    return (np.concatenate(train) if train else empty), (np.concatenate(held) if held else empty)


@lru_cache(maxsize=4)
def load_corpus(source: str = STDLIB) -> Corpus:
    """The corpus named by `source`: 'stdlib', a text file or a folder of text files."""
    src = str(source)
    if src == STDLIB:
        root = stdlib_root()
        files, name = _stdlib_files(root), "CPython standard library (*.py)"
    else:
        root = Path(src).expanduser()
        if not root.exists():
            raise InputError(f"corpus {src!r}: no such file or folder (use 'stdlib' or a path "
                             "to a text file or folder)")
        files, name = _user_files(root), root.name
    raw, n_files, skipped = _read(files)
    if not raw:
        raise InputError(f"corpus {src!r} is empty: no text bytes in {len(files)} file(s) under "
                         f"{str(root)!r}")
    data = np.frombuffer(raw, dtype=np.uint8)
    train, heldout = split(data)
    return Corpus(name, src, str(root), hashlib.sha256(raw).hexdigest(), n_files, skipped,
                  int(data.size), SPLIT_RULE, train, heldout)


def check_size(corpus: Corpus, seq_len: int) -> None:
    """Both splits must hold at least one training window of seq_len + 1 bytes."""
    for what, n in (("training", corpus.n_train), ("held-out", corpus.n_heldout)):
        if n < seq_len + 1:
            raise InputError(f"corpus {corpus.source!r} is too small: its {what} split has "
                             f"{n} bytes, a sequence needs {seq_len + 1} (seq_len {seq_len}); "
                             f"use a larger corpus or a shorter seq_len")


def batch_starts(n_bytes: int, seq_len: int, batch: int, seed: int, step: int) -> np.ndarray:
    """Start offsets of the training windows of one step: a pure function of (seed, step), so
    a resumed run sees exactly the batches an uninterrupted one would."""
    rng = np.random.default_rng([seed, step])
    return rng.integers(0, n_bytes - seq_len, size=batch)


def eval_starts(n_bytes: int, seq_len: int, n_windows: int) -> np.ndarray:
    """Evenly spaced, fixed windows over the held-out bytes (the same for every rung)."""
    n = max(1, min(n_windows, (n_bytes - 1) // seq_len))
    return np.linspace(0, n_bytes - seq_len - 1, n).round().astype(np.int64)
