"""What every verb shares: the --json flag, number parsing at the edge, tables, one-line errors."""

import json
import math
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

import sys

console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)

Json = Annotated[bool, typer.Option("--json", help="Print one JSON document and nothing else.")]


def _default(o):
    import numpy as np

    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    if hasattr(o, "to_dict"):
        return o.to_dict()
    raise TypeError(f"cannot serialise {type(o).__name__}")


def _finite(o):
    """JSON has no inf/nan: write them as null."""
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    return o


def json_text(data) -> str:
    """The one JSON document `--json` prints (and the web API answers with)."""
    text = json.dumps(data, default=_default)
    return json.dumps(_finite(json.loads(text)), indent=2)


_captured: ContextVar[list | None] = ContextVar("scalinglab_captured_json", default=None)


def print_json(data) -> None:
    out = _captured.get()
    if out is not None:  # inside capture_json(): hand the document over instead of printing it
        out.append(data)
        return
    print(json_text(data))


@contextmanager
def capture_json():
    """Collect what print_json would print (a list of documents): the web API runs the verbs
    themselves, so that it answers with exactly what `--json` prints."""
    token = _captured.set([])
    try:
        yield _captured.get()
    finally:
        _captured.reset(token)


def table(title: str | None, *columns: str, rows=(), caption: str | None = None) -> Table:
    """A plain rich table; first column left-aligned, the rest right-aligned."""
    t = Table(title=title, caption=caption, title_justify="left", caption_justify="left",
              show_edge=False, pad_edge=False, header_style="bold")
    for i, c in enumerate(columns):
        t.add_column(c, justify="left" if i == 0 else "right")
    for r in rows:
        t.add_row(*[str(x) for x in r])
    return t


def kv(title: str | None, pairs, caption: str | None = None) -> Table:
    """A two-column 'name  value' table."""
    t = Table(title=title, caption=caption, show_header=False, title_justify="left",
              caption_justify="left", show_edge=False, pad_edge=False, box=None)
    t.add_column(style="bold")
    t.add_column()
    for k, v in pairs:
        t.add_row(str(k), str(v))
    return t


def assumptions(lines) -> None:
    console.print("[bold]Assumptions[/bold]")
    for line in lines:
        console.print(f"  - {line}", markup=False)
