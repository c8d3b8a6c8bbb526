"""Verbs beyond Chinchilla: hyperparams, explain; and the views behind `loss --unique-tokens`,
`optimal --inference-tokens` and the extra blocks of `plan`."""

from typing import Annotated, Optional

import typer

from scalinglab.cli._common import verb_app
from scalinglab.cli._common import Json, assumptions, console, kv, print_json, table
from scalinglab.laws import DEFAULT_LAW
from scalinglab.units import format_count, format_flops, format_ratio, format_times, parse_flops

app = verb_app()


# --- loss N D --unique-tokens U ---------------------------------------------------------------
def show_unique_tokens(r) -> None:
    """Print a DataConstrainedLoss (one law) or a LawTable of them."""
    rows = list(getattr(r, "laws", (r,)))
    r0 = rows[0]
    console.print(f"N = {format_count(r0.n_params)} parameters, D = {format_count(r0.n_tokens)} "
                  f"tokens from U = {format_count(r0.unique_tokens)} unique ({r0.epochs:.3g} epochs)")
    console.print(table(None, "law", "loss", "fresh-data loss", "penalty", "effective N'",
                        "effective D'", rows=[
        (x.law, f"{x.loss:.4f}", f"{x.loss_fresh_data:.4f}", f"{x.loss_penalty:+.4f}",
         format_count(x.effective_params), format_count(x.effective_tokens)) for x in rows]))
    for sk in getattr(r, "skipped", ()):
        console.print(f"  {sk['law']}: not shown, {sk['reason']}", markup=False)
    assumptions([
        "D' = U + U R_D* (1 - exp(-R_D/R_D*)), R_D = D/U - 1; N' likewise with U_N = N_opt(U) "
        "(Muennighoff et al. 2023, Eq. 5-6; huggingface/datablations)",
        f"R_D* = {r0.r_d_star}, R_N* = {r0.r_n_star}: fitted with muennighoff2023 on C4; "
        "with any other law they are an assumption",
    ])


# --- optimal --inference-tokens T ---------------------------------------------------------------
def show_inference_optimum(r, compute, target_loss) -> None:
    """Print an InferenceAwareOptimum (one law) or a LawTable of them."""
    rows = list(getattr(r, "laws", (r,)))
    t = rows[0].inference_tokens
    how = (f"target: the loss of the compute-optimal model for C = {format_flops(parse_flops(compute))} "
           "of training (Sardana's --chinchilla --compute baseline)" if compute is not None
           else f"target loss {target_loss:g}")
    console.print(f"Fewest lifetime FLOP (6ND train + 2NT inference), T = {format_count(t)} "
                  f"inference tokens; {how}")
    console.print(table(None, "law", "loss", "N", "D", "D/N", "train", "total", "N vs Chinchilla",
                        "D vs Chinchilla", "FLOP vs Chinchilla", rows=[
        (o.law, f"{o.loss:.4f}", format_count(o.n_params), format_count(o.n_tokens),
         format_ratio(o.tokens_per_param), format_flops(o.train_flops), format_flops(o.total_flops),
         f"{100 * o.params_ratio:.2f}%", f"{100 * o.tokens_ratio:.2f}%",
         f"{100 * o.flops_ratio:.2f}%") for o in rows]))
    for sk in getattr(r, "skipped", ()):
        console.print(f"  {sk['law']}: not shown, {sk['reason']}", markup=False)
    assumptions([
        "Chinchilla = the cheapest-to-train (N, D) with the same loss, serving the same T tokens",
        "first-order condition solved for D, then N from the loss (Sardana et al. 2023, "
        "arXiv:2401.00448; nikhilsardana/beyond-chinchilla compute_optimal.py)",
        "FLOP, not dollars: prefill and decode run at lower MFU than training (see docs/beyond.md, "
        "inference_aware.cost_optimal_for_loss)",
    ])


# --- plan: the extra blocks ---------------------------------------------------------------------
def print_plan_extras(p) -> None:
    """Print the inference and data-constrained blocks of a plan (if any)."""
    inf, dc = p.inference, p.data_constrained
    if inf:
        o = inf.optimum
        t_imp = inf.implied_inference_tokens
        console.print()
        console.print(kv(f"Inference: {format_count(inf.inference_tokens)} tokens served "
                         f"({inf.law})", [
            ("this plan", f"{format_flops(inf.total_flops)} lifetime "
                          f"({format_flops(inf.inference_flops)} inference)"),
            ("inference-aware", f"{format_count(o.n_params)} params on "
                                f"{format_count(o.n_tokens)} tokens, same loss "
                                f"{o.loss:.4f}, {format_flops(o.total_flops)} lifetime "
                                f"({100 * inf.total_flops_saved:.1f}% less)"),
            ("implied demand", "this N, D is lifetime-optimal at " + (
                f"{format_count(t_imp)} inference tokens" if t_imp is not None
                else "no inference demand (fewer tokens than Chinchilla)")),
        ]))
    if dc:
        o, x = dc.optimum, dc.loss
        console.print()
        console.print(kv(f"Repeated data: {format_count(x.unique_tokens)} unique tokens "
                         f"({x.law})", [
            ("this plan", f"{x.epochs:.3g} epochs, loss {x.loss:.4f} "
                          f"(fresh data: {x.loss_fresh_data:.4f})"),
            ("best split", f"{format_count(o.n_params)} params on {format_count(o.n_tokens)}"
                           f" tokens ({o.epochs:.3g} epochs), loss {o.loss:.4f}"),
        ]))


# --- hyperparams ----------------------------------------------------------------------------------
@app.command()
def hyperparams(
    compute: Annotated[str, typer.Option("--compute", "-c", help="Budget: 1e20, 3.64e3 PF-days.")],
    seq_len: Annotated[int, typer.Option("--seq-len", help="Sequence length, to express the "
                                                           "batch in sequences.")] = 4096,
    json: Json = False,
):
    """Batch size and learning rate for a budget (DeepSeek LLM's fits), and Llama 3's token law."""
    from scalinglab.laws.hyperparams import deepseek, llama3_tokens

    h = deepseek(parse_flops(compute), seq_len)
    ll = llama3_tokens(h.flops)
    if json:
        return print_json({**h.to_dict(), "llama3": ll})
    console.print(kv(f"Hyperparameters for C = {format_flops(h.flops)}", [
        ("batch", f"{format_count(h.batch_tokens)} tokens = {h.batch_sequences:,.0f} sequences of "
                  f"{h.seq_len}  (B_opt = 0.2920 C^0.3271)"),
        ("learning rate", f"{h.learning_rate:.3g}  (lr_opt = 0.3118 C^-0.1250)"),
        ("model scale", f"M = {format_count(h.flops_per_token)} FLOP/token ~ "
                        f"{format_count(h.n_params)} non-embedding params  (M_opt = 0.1715 C^0.5243)"),
        ("tokens", f"{format_count(h.n_tokens)}  (D_opt = 5.8316 C^0.4757)"),
        ("Llama 3 law", f"{format_count(ll.n_tokens)} tokens, {format_count(ll.n_params)} params "
                        "(D* = 0.299 C^0.537, N = C/6D)"),
    ]))
    assumptions([
        f"DeepSeek LLM: {h.source}; empirical fits to ONE lab's data, architecture and multi-step "
        "schedule over 1e17-3e20 FLOP, extrapolated beyond",
        f"compute convention: {h.convention}; ~6N for N non-embedding params at short context",
        f"Llama 3: {ll.source}; fitted on Meta's data mix, also one lab's result",
    ])


# --- explain ----------------------------------------------------------------------------------------
@app.command()
def explain(
    model: Annotated[Optional[str], typer.Argument(help="Catalogue model, e.g. llama-3-70b.")] = None,
    params: Annotated[Optional[str], typer.Option("--params", "-n", help="Parameters N (instead "
                                                                          "of a catalogue model).")] = None,
    tokens: Annotated[Optional[str], typer.Option("--tokens", "-d", help="Tokens D.")] = None,
    law: Annotated[str, typer.Option("--law", help="Law that leads the explanation.")] = DEFAULT_LAW,
    json: Json = False,
):
    """How far a model sits from each optimum (every law, inference-aware, Llama 3, Kaplan), and why."""
    from scalinglab import api

    e = api.explain(model, params, tokens, law)
    if json:
        return print_json(e)
    console.print(table(f"{e.name} against each law's optimum at C = {format_flops(e.flops)}"
                        + (" (N = active parameters)" if e.params_counted == "active" else ""),
                        "law", "loss", "opt N", "opt D", "opt D/N", "opt loss", "N / opt",
                        "D / opt", "excess loss", "implied T", rows=[
        (r.law, _f(r.loss, ".4f"), format_count(r.optimal.n_params),
         format_count(r.optimal.n_tokens), format_ratio(r.optimal.tokens_per_param),
         _f(r.optimal.loss, ".4f"), format_times(r.params_ratio), format_times(r.tokens_ratio),
         _f(r.excess_loss, "+.4f"), "-" if r.implied_inference_tokens is None
         else format_count(r.implied_inference_tokens)) for r in e.laws],
        caption="excess loss: above the law's own minimum at this compute; implied T: the "
                "inference tokens that make this split lifetime-optimal under the law (none: "
                "no demand does). " + " ".join(r.note for r in e.laws if r.note)))
    console.print()
    console.print("[bold]Why[/bold]")
    for line in e.reasons:
        console.print(f"  - {line}", markup=False)
    console.print()
    assumptions(list(e.notes) + [
        "C = 6ND with the catalogue's N and D; losses are each law's own nats/token and are not "
        "comparable across laws; kaplan2020 counts non-embedding parameters",
        "Llama 3 and DeepSeek fits are one lab's empirical results each",
    ])


def _f(x, spec) -> str:
    return "-" if x is None else format(x, spec)
