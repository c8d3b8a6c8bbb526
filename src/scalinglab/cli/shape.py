"""The `shape` verb: d_model, layers, heads, kv-heads and d_ff for a parameter count."""

from typing import Annotated

import typer

from scalinglab import api
from scalinglab.cli._common import Json, assumptions, console, kv, print_json, verb_app

app = verb_app()


def shape_rows(s) -> list:
    """The rows `shape` and `plan` print for a ShapeSuggestion."""
    return [
        ("d_model", f"{s.d_model:,}"),
        ("layers", f"{s.n_layers}  (d_model / n_layer = {s.aspect_ratio:.0f}; the family's own "
                   f"ratio here is {s.target_aspect_ratio:.0f})"),
        ("heads", f"{s.n_heads} of {s.head_dim}, {s.n_kv_heads} kv-heads"
                  + (" (grouped-query)" if s.n_kv_heads < s.n_heads else "")),
        ("d_ff", f"{s.d_ff:,}"),
        ("vocabulary", f"{s.vocab_size:,}"),
        ("parameters", f"{s.total:,} exactly ({s.error:+.2%} of the target; non-embedding "
                       f"{s.non_embedding:,})"),
    ]


@app.command("shape")
def shape_cmd(
    n_params: Annotated[str, typer.Argument(help="Target parameters N, e.g. 4.5B.")],
    family: Annotated[str, typer.Option("--family", help="llama (Llama 2), llama3 or gpt3.")] = "llama",
    json: Json = False,
):
    """A shape for a size: d_model, layers, heads, kv-heads, d_ff; the exact count."""
    s = api.shape(n_params, family)
    if json:
        return print_json(s)
    console.print(f"[bold]{s.family}-family shape for {n_params}[/bold] parameters")
    console.print(kv(None, shape_rows(s)))
    console.print(f"use it anywhere an architecture goes: `scalinglab params {n_params}`, "
                  f"`memory {n_params}`, `plan --arch {n_params}`", markup=False)
    console.print()
    assumptions(s.assumptions)
