"""Verbs for the laws and compute: loss, optimal, flops, laws."""

from typing import Annotated, Optional

import typer

from scalinglab.cli import app
from scalinglab.cli._common import Json, console, kv, print_json, table
from scalinglab.compute import training_flops
from scalinglab.errors import InputError
from scalinglab.laws import DEFAULT_LAW, LAWS, get_law
from scalinglab.plan import ratio_check
from scalinglab.units import format_count, format_flops, format_pf_days, parse_flops, parse_number

LawOpt = Annotated[str, typer.Option("--law", help="Law id (see `scalinglab laws`), 'all', or a "
                                                   "fit saved as JSON.")]


KAPLAN_NOTE = ("kaplan2020 is not additive: its 'A/N^alpha' is L(N, D = inf) = (Nc/N)^alphaN and "
               "'B/D^beta' the excess from finite D; N counts non-embedding parameters")


def _laws(law: str) -> list:
    return list(LAWS.values()) if law.lower() == "all" else [get_law(law)]


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
    n, d = parse_number(n_params, "N (parameters)"), parse_number(n_tokens, "D (tokens)")
    if unique_tokens is not None:
        from scalinglab.cli.beyond import loss_with_unique_tokens
        return loss_with_unique_tokens(n, d, unique_tokens, _laws(law), json)
    rows = [{"law": lw.id, "n_params": n, "n_tokens": d, "loss": lw.loss(n, d),
             "terms": lw.terms(n, d), "source": lw.source} for lw in _laws(law)]
    if json:
        return print_json(rows[0] if len(rows) == 1 else {"n_params": n, "n_tokens": d,
                                                           "laws": rows})
    console.print(f"N = {format_count(n)} parameters, D = {format_count(d)} tokens "
                  f"({d / n:,.1f} tokens/param)")
    console.print(table(None, "law", "loss", "E", "A/N^alpha", "B/D^beta", rows=[
        (r["law"], f"{r['loss']:.4f}", f"{r['terms']['irreducible']:.4f}",
         f"{r['terms']['model']:.4f}", f"{r['terms']['data']:.4f}") for r in rows]))
    for r in rows:
        console.print(f"  {r['law']}: {r['source']}", markup=False)
    if any(lw.to_dict().get("kind", "parametric") != "parametric" for lw in _laws(law)):
        console.print(f"  {KAPLAN_NOTE}", markup=False)


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
    if (compute is None) == (target_loss is None):
        raise InputError("give exactly one of --compute or --loss")
    laws = _laws(law)
    if inference_tokens is not None:
        from scalinglab.cli.beyond import optimal_with_inference
        return optimal_with_inference(compute, target_loss, inference_tokens, laws, json)
    if compute is not None:
        c = parse_flops(compute)
        opts = [lw.optimal(c) for lw in laws]
    else:
        opts = [lw.optimal_for_loss(target_loss) for lw in laws]
    if json:
        dicts = [o.to_dict() for o in opts]
        return print_json(dicts[0] if len(dicts) == 1 else {"laws": dicts})
    console.print(table(None, "law", "N (params)", "D (tokens)", "D/N", "loss", "compute",
                        rows=[(o.law, format_count(o.n_params), format_count(o.n_tokens),
                               f"{o.tokens_per_param:.1f}", f"{o.loss:.4f}", format_flops(o.flops))
                              for o in opts]))
    if any(lw.to_dict().get("kind", "parametric") == "parametric" for lw in laws):
        console.print("C = 6ND; N_opt = G (C/6)^a, D_opt = (C/6)^b / G (Hoffmann et al. 2022, "
                      "closed form)", markup=False)
    for lw in laws:  # laws of another form say how their optimum is made
        if lw.to_dict().get("kind", "parametric") != "parametric":
            console.print(f"  {lw.id}: {lw.note}", markup=False)


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
    if arch is not None or convention.lower() != "6n":
        from scalinglab.cli.arch import arch_flops
        return arch_flops(n_params, n_tokens, arch, convention, seq_len, json)
    if n_params is None or n_tokens is None:
        raise InputError("give N and D (e.g. flops 70B 15T), or D with --arch")
    f = training_flops(parse_number(n_params, "N (parameters)"), parse_number(n_tokens, "D (tokens)"))
    if json:
        return print_json(f.to_dict())
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
    """The registered scaling laws, their constants and sources."""
    rows = [{**lw.to_dict(), "tokens_per_param_at_1e24": float(lw.optimal(1e24).tokens_per_param)}
            for lw in LAWS.values()]
    if json:
        return print_json({"default": DEFAULT_LAW, "laws": rows})
    console.print(table(None, "id", "E", "A", "B", "alpha", "beta", "N~C^a", "D/N @1e24", rows=[
        (r["id"] + (" (default)" if r["id"] == DEFAULT_LAW else ""), f"{r['E']:.4g}",
         f"{r['A']:.5g}", f"{r['B']:.6g}", f"{r['alpha']:.4g}", f"{r['beta']:.4g}",
         f"{r['a']:.3f}", f"{r['tokens_per_param_at_1e24']:.1f}") for r in rows
        if r["kind"] == "parametric"]))  # other forms (kaplan2020) are listed below by source
    for r in rows:
        console.print(f"  {r['id']}: {r['source']}" + (f"; {r['note']}" if r["note"] else ""),
                      markup=False)
