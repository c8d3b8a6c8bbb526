"""The `params` verb: exact parameter and FLOP counts of an architecture (preset, config.json, flags)."""

from typing import Annotated, Optional

import typer

from scalinglab.architecture import TransformerSpec, count_params, load_spec
from scalinglab.architecture.flops import (CONVENTIONS, DEFAULT_SEQ_LEN, FORMULAS, flops_per_token,
                                           inference_flops_arch)
from scalinglab.cli._common import verb_app
from scalinglab.cli._common import Json, assumptions, console, kv, print_json, table
from scalinglab.errors import InputError
from scalinglab.units import (format_count, format_flops, format_pf_days, format_sci, parse_number,
                              parse_whole)

app = verb_app()

ArchOpt = Annotated[Optional[str], typer.Option(
    "--arch", help="Architecture: a preset (see `scalinglab params --list`) or a config.json path.")]
SeqOpt = Annotated[str, typer.Option("--seq-len", help="Training sequence length (attention FLOPs).")]
ConventionOpt = Annotated[str, typer.Option(
    "--convention", help="FLOP convention: " + ", ".join(CONVENTIONS) + ".")]

EXACT_SEQ_LEN = 512  # FlopCounterMode runs at most this many tokens (meta device: no compute)

# flag -> TransformerSpec field, for `params` without a preset (or to override one)
_FLAGS = {"d_model": "d_model", "layers": "n_layers", "heads": "n_heads", "kv_heads": "n_kv_heads",
          "head_dim": "head_dim", "d_ff": "d_ff", "vocab": "vocab_size", "experts": "n_experts",
          "top_k": "top_k", "d_ff_expert": "d_ff_expert", "shared_experts": "n_shared_experts"}


def spec_from_flags(name: str | None, **flags) -> TransformerSpec:
    """A preset/config.json, with any shape flags applied; or a spec from flags alone."""
    given = {_FLAGS[k]: v for k, v in flags.items() if k in _FLAGS and v is not None}
    for k in ("gated", "tied"):
        if flags.get(k) is not None:
            given["gated_mlp" if k == "gated" else "tied_embeddings"] = flags[k]
    if name is not None:
        spec = load_spec(name)
        return spec.with_(**given, name=f"{spec.name} (modified)") if given else spec
    missing = [f"--{k.replace('_', '-')}" for k in ("d_model", "layers", "heads", "d_ff", "vocab")
               if flags.get(k) is None]
    if missing:
        raise InputError("give a preset, a config.json, or the shape flags (missing "
                         + ", ".join(missing) + ")")
    return TransformerSpec(**given, name="custom", source="command-line flags")


def _seq(text: str, what: str = "--seq-len") -> int:
    return parse_whole(text, what)


def arch_assumptions(spec: TransformerSpec, seq_len: int) -> list[str]:
    lines = [f"architecture: {spec.name} ({spec.source})",
             "parameters: exact element counts of the reference implementation (Hugging Face "
             "transformers), tied weights once",
             "non-embedding: total minus token, position and token-type tables and an untied "
             "output head (Kaplan et al. 2020's N)",
             f"FLOPs: one multiply-add = 2 FLOP; backward = 2 x forward; sequence length {seq_len}",
             "sliding-window and sparse attention are counted as full attention"]
    if spec.is_moe:
        lines.append(f"active: top {spec.top_k} of {spec.n_experts} routed experts per MoE layer, "
                     "plus shared experts, router and everything outside the experts")
    return lines + list(spec.notes)


@app.command("params")
def params_cmd(
    arch: Annotated[Optional[str], typer.Argument(help="Preset name or path to a config.json.")] = None,
    exact: Annotated[bool, typer.Option("--exact", help="Also build the model with transformers on "
                                                        "the meta device and count (needs the hf extra).")] = False,
    seq_len: SeqOpt = str(DEFAULT_SEQ_LEN),
    recompute: Annotated[str, typer.Option("--recompute", help="Activation recomputation for hardware "
                                                               "FLOPs: none, selective, full.")] = "none",
    list_: Annotated[bool, typer.Option("--list", help="List the presets and exit.")] = False,
    d_model: Annotated[Optional[int], typer.Option("--d-model", help="Hidden size.")] = None,
    layers: Annotated[Optional[int], typer.Option("--layers", help="Number of layers.")] = None,
    heads: Annotated[Optional[int], typer.Option("--heads", help="Query heads.")] = None,
    kv_heads: Annotated[Optional[int], typer.Option("--kv-heads", help="Key/value heads (GQA).")] = None,
    head_dim: Annotated[Optional[int], typer.Option("--head-dim", help="Head width.")] = None,
    d_ff: Annotated[Optional[int], typer.Option("--d-ff", help="MLP width.")] = None,
    vocab: Annotated[Optional[int], typer.Option("--vocab", help="Vocabulary size.")] = None,
    gated: Annotated[Optional[bool], typer.Option("--gated/--no-gated", help="Gated MLP (SwiGLU).")] = None,
    tied: Annotated[Optional[bool], typer.Option("--tied/--untied", help="Tied embeddings.")] = None,
    experts: Annotated[Optional[int], typer.Option("--experts", help="Routed experts (MoE).")] = None,
    top_k: Annotated[Optional[int], typer.Option("--top-k", help="Experts per token.")] = None,
    d_ff_expert: Annotated[Optional[int], typer.Option("--d-ff-expert", help="Expert width.")] = None,
    shared_experts: Annotated[Optional[int], typer.Option("--shared-experts", help="Shared experts.")] = None,
    json: Json = False,
):
    """Exact parameters (total, active, non-embedding, by part) and FLOPs per token of an architecture."""
    if list_:
        return _list(json)
    from scalinglab.architecture.presets import unknown_type_config

    if arch is not None and (other := unknown_type_config(arch)) is not None:
        return _meta(other, arch, json)
    spec = spec_from_flags(arch, d_model=d_model, layers=layers, heads=heads, kv_heads=kv_heads,
                           head_dim=head_dim, d_ff=d_ff, vocab=vocab, gated=gated, tied=tied,
                           experts=experts, top_k=top_k, d_ff_expert=d_ff_expert,
                           shared_experts=shared_experts)
    t = _seq(seq_len)
    c = count_params(spec)
    fl = {conv: flops_per_token(spec, conv, t, recompute) for conv in CONVENTIONS}
    inf = inference_flops_arch(spec, t)
    ex = None
    if exact:
        from scalinglab.architecture.exact import exact_count
        from scalinglab.architecture.presets import load_config_dict

        if arch is None or spec.name.endswith("(modified)"):
            raise InputError("--exact needs a preset or config.json without shape flags")
        ex = exact_count(load_config_dict(arch), spec.name, seq_len=min(t, EXACT_SEQ_LEN))
    notes = arch_assumptions(spec, t)
    if json:
        return print_json({**c.to_dict(), "source": spec.source, "spec": spec.to_dict(),
                           "flops_per_token": {k: v.to_dict() for k, v in fl.items()},
                           "inference": inf.to_dict(), "exact": ex.to_dict() if ex else None,
                           "assumptions": notes})
    moe = spec.is_moe
    console.print(f"[bold]{spec.name}[/bold]: {format_count(c.total)} parameters"
                  + (f", {format_count(c.active)} active per token" if moe else ""))
    console.print(table(None, "part", "parameters", *(("active",) if moe else ()), "share", rows=[
        (part, f"{n:,}", *((f"{c.active_breakdown[part]:,}",) if moe else ()),
         f"{n / c.total:.1%}") for part, n in c.breakdown.items() if n]
        + [("total", f"{c.total:,}", *((f"{c.active:,}",) if moe else ()), "100.0%"),
           ("non-embedding", f"{c.non_embedding:,}", *(("",) if moe else ()),
            f"{c.non_embedding / c.total:.1%}")]))
    console.print()
    _conventions_table(f"Training FLOP per token at sequence length {t:,}"
                       + (f" (hardware: {recompute} recomputation)" if recompute != "none" else ""), fl,
                       hardware=recompute != "none")
    console.print(kv(None, [
        ("prefill", f"{format_flops(inf.prefill)} for a {t:,}-token prompt (causal)"),
        ("decode", f"{format_flops(inf.decode_per_token)} per token at context {t:,} "
                   f"({inf.decode_per_token / inf.n_params:.2f} x N)")]))
    if ex:
        d = ex.to_dict()
        console.print()
        console.print(kv("Exact (transformers, meta device)", [
            ("numel", f"{ex.numel:,} ({'equals' if ex.match else 'DIFFERS FROM'} the closed form)"),
            ("FlopCounterMode", f"{format_sci(ex.flop_counter_per_token, 6)} FLOP/token at seq "
                                f"{ex.seq_len} (closed form / counter = {d['closed_form_over_counter']:.6f})"
                                if ex.flop_counter_per_token else f"not measured: {ex.flop_error}"),
            ("time", f"{ex.seconds:.2f} s; torch {ex.versions['torch']}, transformers "
                     f"{ex.versions['transformers']}")]))
    console.print()
    assumptions(notes)


def _meta(cfg: dict, path: str, json: bool):
    """A model_type with no closed form: transformers counts it on the meta device."""
    from scalinglab.architecture.exact import meta_count

    m = meta_count(cfg, name=str(path))
    note = (f"model_type {m.model_type!r} has no closed form here: counted by building it with "
            f"transformers {m.versions['transformers']} on the meta device ({m.seconds:.2f} s; "
            "slower than a closed form; no breakdown by layer, no FLOPs, MoE active not separated)")
    if json:
        return print_json({**m.to_dict(), "assumptions": [note]})
    console.print(f"[bold]{m.name}[/bold]: {format_count(m.total)} parameters ({m.total:,})")
    console.print(table(None, "part", "parameters", rows=[
        (k, f"{v:,}") for k, v in m.breakdown.items()] + [("non-embedding", f"{m.non_embedding:,}")]))
    console.print()
    assumptions([note])


def _conventions_table(title: str, fl: dict, n_tokens: float | None = None, chosen: str = "",
                       hardware: bool = False):
    """Conventions side by side: FLOP per token (or per run), per N, and the formula under it."""
    cols = ("FLOP/token", "per N") if n_tokens is None else ("FLOP", "FLOP/token", "per N")
    console.print(f"[bold]{title}[/bold]")
    console.print(table(None, "convention", *cols, *(("hardware/token",) if hardware else ()), rows=[
        (k + (" *" if k == chosen else ""),
         *((format_flops(v.training * n_tokens),) if n_tokens is not None else ()),
         format_sci(v.training, 4), f"{v.per_param:.3f}",
         *((format_sci(v.hardware, 4),) if hardware else ())) for k, v in fl.items()]))
    for k in fl:
        console.print(f"  {k}: {FORMULAS[k]}", markup=False)


def arch_flops(n_params: str | None, n_tokens: str | None, arch: str | None, convention: str,
               seq_len: str, json: bool):
    """`flops ... --arch NAME --convention C`: training FLOP from the exact architecture."""
    from scalinglab.architecture.flops import _convention

    conv = _convention(convention)
    if arch is None:
        raise InputError(f"--convention {conv} needs --arch (6N needs only N and D)")
    given = [x for x in (n_params, n_tokens) if x is not None]
    if not given:
        raise InputError("give the training tokens D (e.g. flops 15T --arch llama-3-8b)")
    d = parse_number(given[-1], "D (tokens)")
    n_given = parse_number(given[0], "N (parameters)") if len(given) == 2 else None
    spec, t = load_spec(arch), _seq(seq_len)
    fl = {c: flops_per_token(spec, c, t) for c in CONVENTIONS}
    run = fl[conv].run(d)
    notes = arch_assumptions(spec, t) + [f"convention: {conv} = {FORMULAS[conv]}"]
    if n_given is not None:
        notes.append(f"N given ({format_count(n_given)}) is replaced by the architecture's "
                     f"N = {format_count(run.n_params)} under {conv}")
    if json:
        return print_json({**run.to_dict(), "arch": spec.name, "seq_len": t,
                           "n_params_given": n_given, "flops_per_token": fl[conv].to_dict(),
                           "conventions": {c: {"flops": f.training * d, "training_per_token": f.training,
                                               "per_param": f.per_param} for c, f in fl.items()},
                           "assumptions": notes})
    console.print(kv(None, [
        ("architecture", f"{spec.name}: N = {format_count(run.n_params)} ({conv})"),
        ("D", f"{format_count(d)} tokens at sequence length {t:,}"),
        ("forward", format_flops(run.forward_flops)),
        ("backward", format_flops(run.backward_flops)),
        ("total", f"{format_flops(run.flops)}  ({conv})"),
        ("PF-days", f"{format_pf_days(run.pf_days)}  (1 PF-day = 8.64e19 FLOP)"),
    ]))
    console.print()
    _conventions_table("All conventions", fl, d, conv)
    console.print()
    assumptions(notes)


def _list(json: bool):
    from scalinglab.architecture import PRESETS

    rows = [{"name": n, "total": (c := count_params(s)).total, "active": c.active,
             "non_embedding": c.non_embedding, "source": s.source} for n, s in PRESETS.items()]

    if json:
        return print_json({"presets": rows})
    console.print(table(None, "preset", "total", "active", "non-embedding", rows=[
        (r["name"], f"{r['total']:,}", f"{r['active']:,}", f"{r['non_embedding']:,}") for r in rows]))
