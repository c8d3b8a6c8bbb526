"""Verbs for the laws and compute: loss, optimal, flops, laws."""

from typing import Annotated, Optional

import typer

from scalinglab import api
from scalinglab.cli._common import Json, console, kv, print_json, table, verb_app
from scalinglab.laws import DEFAULT_LAW, get_laws
from scalinglab.units import format_count, format_flops, format_pf_days, format_ratio

app = verb_app()

LawOpt = Annotated[str, typer.Option("--law", help="Law id (see `scalinglab laws`), 'all', or a "
                                                   "fit saved as JSON.")]


def _f(x, spec=".4f") -> str:
    return "-" if x is None else format(x, spec)


def _skipped(t) -> None:
    for s in getattr(t, "skipped", ()):
        console.print(f"  {s['law']}: not shown, {s['reason']}", markup=False)


@app.command()
def loss(
    n_params: Annotated[str, typer.Argument(help="Parameters N, e.g. 70B.")],
    n_tokens: Annotated[str, typer.Argument(help="Training tokens D, e.g. 15T.")],
    law: LawOpt = DEFAULT_LAW,
    unique_tokens: Annotated[Optional[str], typer.Option(
        "--unique-tokens", help="Unique tokens U: D/U epochs of repeated data (Muennighoff 2023).")] = None,
    json: Json = False,
):
    """Predicted loss L(N, D) = E + A/N^alpha + B/D^beta, with its terms."""
    r = api.loss(n_params, n_tokens, law, unique_tokens)
    if json:
        return print_json(r)
    if unique_tokens is not None:
        from scalinglab.cli.beyond import show_unique_tokens

        return show_unique_tokens(r)
    rows = list(getattr(r, "laws", (r,)))
    n, d = rows[0].n_params, rows[0].n_tokens
    console.print(f"N = {format_count(n)} parameters, D = {format_count(d)} tokens "
                  f"({format_ratio(rows[0].tokens_per_param)} tokens/param)")
    console.print(table(None, "law", "loss", "E", "A/N^alpha", "B/D^beta", rows=[
        (p.law, f"{p.loss:.4f}", f"{p.terms['irreducible']:.4f}", f"{p.terms['model']:.4f}",
         f"{p.terms['data']:.4f}") for p in rows]))
    for p in rows:
        console.print(f"  {p.law}: {p.source}", markup=False)
    laws = {lw.id: lw for lw in get_laws(law)}
    for p in rows:  # a law whose terms do not add up says what its two columns mean
        if not p.additive:
            console.print(f"  {p.law} is not additive: {laws[p.law].formula}; 'A/N^alpha' is L(N, D = inf) "
                          f"and 'B/D^beta' the excess from finite D; N counts {p.counts} "
                          "parameters", markup=False)
    _skipped(r)


@app.command()
def optimal(
    compute: Annotated[Optional[str], typer.Option("--compute", "-c",
                                                   help="Budget: 1e24, 3.64e3 PF-days.")] = None,
    target_loss: Annotated[Optional[float], typer.Option("--loss", help="Target loss.")] = None,
    law: LawOpt = DEFAULT_LAW,
    inference_tokens: Annotated[Optional[str], typer.Option(
        "--inference-tokens", help="Tokens the model will serve: fewest lifetime FLOP (Sardana 2023).")] = None,
    json: Json = False,
):
    """Compute-optimal N and D for a budget (or the cheapest to reach a loss)."""
    r = api.optimal(compute, target_loss, law, inference_tokens)
    if json:
        return print_json(r)
    if inference_tokens is not None:
        from scalinglab.cli.beyond import show_inference_optimum

        return show_inference_optimum(r, compute, target_loss)
    opts = list(getattr(r, "laws", (r,)))
    console.print(table(None, "law", "N (params)", "D (tokens)", "D/N", "loss", "compute",
                        rows=[(o.law, format_count(o.n_params), format_count(o.n_tokens),
                               format_ratio(o.tokens_per_param), _f(o.loss), format_flops(o.flops))
                              for o in opts]))
    shown, ids = {}, {o.law for o in opts}
    for lw in get_laws(law):  # each law says how its optimum is made (one line per distinct rule)
        if lw.id in ids:
            shown.setdefault(lw.optimum_formula, []).append(lw.id)
    for text, ids in shown.items():
        console.print(f"  {', '.join(ids)}: {text}", markup=False)
    _skipped(r)


@app.command()
def flops(
    n_params: Annotated[Optional[str], typer.Argument(help="Parameters N, e.g. 1.7T (with --arch: "
                                                           "optional, D alone will do).")] = None,
    n_tokens: Annotated[Optional[str], typer.Argument(help="Training tokens D, e.g. 13T.")] = None,
    arch: Annotated[Optional[str], typer.Option("--arch", help="Exact N and FLOPs from a preset or "
                                                               "config.json (see `params`).")] = None,
    convention: Annotated[str, typer.Option("--convention", help="6N, kaplan, palm, chinchilla, "
                                                                 "megatron, matmul (all but 6N need --arch).")] = "6N",
    seq_len: Annotated[str, typer.Option("--seq-len", help="Sequence length, with --arch.")] = "2048",
    json: Json = False,
):
    """Training FLOP: C = 6ND (2ND forward + 4ND backward), and PF-days."""
    from scalinglab.errors import InputError

    if arch is not None or convention.lower() != "6n":
        from scalinglab.cli.arch import arch_flops
        return arch_flops(n_params, n_tokens, arch, convention, seq_len, json)
    if n_params is None or n_tokens is None:
        raise InputError("give N and D (e.g. flops 70B 15T), or D with --arch")
    f = api.flops(n_params, n_tokens)
    if json:
        return print_json(f)
    console.print(kv(None, [
        ("N", f"{format_count(f.n_params)} parameters"),
        ("D", f"{format_count(f.n_tokens)} tokens"),
        ("forward", f"{format_flops(f.forward_flops)}  (2ND)"),
        ("backward", f"{format_flops(f.backward_flops)}  (4ND)"),
        ("total", f"{format_flops(f.flops)}  (6ND)"),
        ("PF-days", f"{format_pf_days(f.pf_days)}  (1 PF-day = 8.64e19 FLOP)"),
    ]))


@app.command("laws")
def list_laws(json: Json = False):
    """The registered scaling laws: formula, constants, which N they count, sources."""
    from scalinglab.laws.base import law_summaries

    rows = law_summaries()
    if json:
        return print_json({"default": DEFAULT_LAW, "laws": rows})
    console.print(table(None, "id", "E", "A", "B", "alpha", "beta", "N~C^a", "D/N @1e24", "N counts",
                        rows=[(r["id"] + (" (default)" if r["id"] == DEFAULT_LAW else ""),
                               *(_f(r.get(k), g) for k, g in (("E", ".4g"), ("A", ".5g"),
                                 ("B", ".6g"), ("alpha", ".4g"), ("beta", ".4g"))),
                               f"{r['a']:.3f}", format_ratio(r['tokens_per_param_at_1e24']), r["counts"])
                              for r in rows]))
    for r in rows:
        form = r["formula"] or "no L(N, D): " + r["optimum_formula"]
        console.print(f"  {r['id']}: {form}; {r['source']}" + (f"; {r['note']}" if r["note"] else ""),
                      markup=False)
