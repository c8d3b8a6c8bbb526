"""What every verb shares: its Typer app, the --json flag, tables, one-line errors.

Tables fit the terminal (or $COLUMNS); piped output is wide, and no cell is ever cut with '…':
names fold onto a second line, numbers keep their width.
"""

import os
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from scalinglab.results import to_json


def _width():
    cols = os.environ.get("COLUMNS", "")
    if cols.isdigit() and int(cols) > 0:
        return int(cols)
    return None if sys.stdout.isatty() else 200


console = Console(highlight=False, width=_width())

Json = Annotated[bool, typer.Option("--json", help="Print one JSON document and nothing else.")]


def verb_app() -> typer.Typer:
    """The Typer app a verb module registers its commands on (cli/__init__.py loads it)."""
    return typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


def print_json(data) -> None:
    """One JSON document on stdout: exactly what the library's results.to_json gives."""
    print(to_json(data))


def _columns(t: Table, columns, rows) -> None:
    cells = [[str(x) for x in r] for r in rows]
    for i, c in enumerate(columns):
        longest = max([len(c)] + [len(r[i]) for r in cells if i < len(r)])
        if i == 0:
            t.add_column(c, justify="left", overflow="fold")
        else:  # numbers: never wrapped, never cut
            t.add_column(c, justify="right", no_wrap=True, min_width=min(longest, 40),
                         overflow="fold")
    for r in cells:
        t.add_row(*r)


def table(title: str | None, *columns: str, rows=(), caption: str | None = None) -> Table:
    """A plain rich table; first column left-aligned, the rest right-aligned."""
    t = Table(title=title, caption=caption, title_justify="left", caption_justify="left",
              show_edge=False, pad_edge=False, header_style="bold")
    _columns(t, columns, rows)
    return t


def kv(title: str | None, pairs, caption: str | None = None) -> Table:
    """A two-column 'name  value' table."""
    t = Table(title=title, caption=caption, show_header=False, title_justify="left",
              caption_justify="left", show_edge=False, pad_edge=False, box=None)
    t.add_column(style="bold", no_wrap=True)
    t.add_column(overflow="fold")
    for k, v in pairs:
        t.add_row(str(k), str(v))
    return t


def assumptions(lines) -> None:
    console.print("[bold]Assumptions[/bold]")
    for line in lines:
        console.print(f"  - {line}", markup=False)
