"""What every verb shares: its Typer app, the --json flag, plain-text tables, one-line errors.

Tables fit the terminal (or $COLUMNS; piped output is 200 wide): when a table is too wide its
text columns wrap at spaces, numbers never wrap, and no cell is ever cut with '…'. Rendering
is done here in a few lines rather than with rich, whose import costs more than a whole verb
(rich stays for progress bars, loaded where they run).
"""

import os
import re
import shutil
import sys
import textwrap
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Annotated

import typer

from scalinglab.results import to_json

Json = Annotated[bool, typer.Option("--json", help="Print one JSON document and nothing else.")]
_MARKUP = re.compile(r"\[(/?)(bold|red|bold red)\]")


def width() -> int:
    cols = os.environ.get("COLUMNS", "")
    if cols.isdigit() and int(cols) > 0:
        return int(cols)
    return shutil.get_terminal_size((200, 24)).columns if sys.stdout.isatty() else 200


class Console:
    """print() for strings (with [bold]...[/bold] markup) and tables."""

    def print(self, obj="", markup: bool = True) -> None:
        if isinstance(obj, Table):
            obj = obj.render(width())
        text = str(obj)
        if markup:
            tty = sys.stdout.isatty()
            text = _MARKUP.sub(lambda m: ("\033[0m" if m.group(1) else "\033[1m") if tty else "", text)
        print(text)


console = Console()


def verb_app() -> typer.Typer:
    """The Typer app a verb module registers its commands on (cli/__init__.py loads it)."""
    return typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


_captured: ContextVar[list | None] = ContextVar("scalinglab_captured_json", default=None)


def print_json(data) -> None:
    """One JSON document on stdout: exactly what the library's results.to_json gives."""
    out = _captured.get()
    if out is not None:  # inside capture_json(): hand the document over instead of printing it
        out.append(data)
        return
    print(to_json(data))


@contextmanager
def capture_json():
    """Collect what print_json would print (a list of documents): the web API runs the verbs
    themselves, so that it answers with exactly what `--json` prints."""
    token = _captured.set([])
    try:
        yield _captured.get()
    finally:
        _captured.reset(token)


def _is_number(cell: str) -> bool:
    return bool(re.fullmatch(r"[-+$~]?[\d.,]+(e-?\d+)?\s*\S{0,8}|-|[\d.,]+x|[+-]?[\d.]+%", cell))


class Table:
    """Rows of cells under a header (or key/value pairs), rendered to a width."""

    def __init__(self, title, columns, rows, caption=None, header=True):
        self.title, self.caption, self.header = title, caption, header
        self.columns = list(columns)
        self.rows = [[str(c) for c in r] for r in rows]

    def render(self, total: int) -> str:
        cols = len(self.columns)
        cells = ([self.columns] if self.header else []) + self.rows
        w = [max(len(r[i]) for r in cells) for i in range(cols)]
        sep = 3 if self.header else 2
        # text columns (not all numbers) give way, widest first, down to their longest word
        text = [i for i in range(cols) if not all(_is_number(r[i]) for r in self.rows)]
        floor = [max([len(word) for r in cells for word in r[i].split()] + [1]) for i in range(cols)]
        while sum(w) + sep * (cols - 1) > total:
            i = max((k for k in text if w[k] > max(floor[k], 12)), key=lambda k: w[k], default=None)
            if i is None:
                break
            w[i] -= 1
        lines = [self.title] if self.title else []
        if self.header:
            lines.append(self._line(self.columns, w, " ┃ "))
            lines.append("╇".join("━" * (x + (1 if i in (0, cols - 1) else 2))
                                  for i, x in enumerate(w)))
        for r in self.rows:
            lines.append(self._line(r, w, " │ " if self.header else "  "))
        if self.caption:
            lines.extend(textwrap.wrap(self.caption, total, break_long_words=False,
                                       replace_whitespace=False) or [""])
        return "\n".join(lines)

    def _line(self, row, w, sep) -> str:
        wrapped = [textwrap.wrap(c, w[i], break_long_words=False) or [""] if len(c) > w[i] else [c]
                   for i, c in enumerate(row)]
        out = []
        for k in range(max(len(x) for x in wrapped)):
            parts = []
            for i, x in enumerate(wrapped):
                c = x[k] if k < len(x) else ""
                left = i == 0 or not self.header
                parts.append(c.ljust(w[i]) if left else c.rjust(w[i]))
            out.append(sep.join(parts).rstrip())
        return "\n".join(out)


def table(title: str | None, *columns: str, rows=(), caption: str | None = None) -> Table:
    """A table; first column left-aligned, the rest right-aligned."""
    return Table(title, columns, rows, caption)


def kv(title: str | None, pairs, caption: str | None = None) -> Table:
    """A two-column 'name  value' table."""
    return Table(title, ("", ""), pairs, caption, header=False)


def warn(lines) -> None:
    """A result's warnings, each on its own line, loud (they change what the number means)."""
    for line in lines:
        console.print(f"[bold]warning[/bold]: {line}", markup=True)


def assumptions(lines) -> None:
    console.print("[bold]Assumptions[/bold]")
    for line in lines:
        console.print(f"  - {line}", markup=False)
