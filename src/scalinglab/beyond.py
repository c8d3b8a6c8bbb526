"""Where a run sits relative to the optima beyond Chinchilla: inference demand, repeated data,
Kaplan, one lab's token law. The plan's extra blocks (plan_extras) and `explain`."""

from dataclasses import dataclass

from scalinglab.laws import DEFAULT_LAW, LAWS, get_law
from scalinglab.laws import data_constrained, hyperparams, inference_aware
from scalinglab.units import format_count, format_flops


def inference_block(law, n_params, n_tokens, inference_tokens) -> dict:
    """Lifetime FLOP of (N, D) serving T tokens, against the inference-aware optimum at its loss."""
    opt = inference_aware.optimal_for_loss(law, law.loss(n_params, n_tokens), inference_tokens)
    total = 6 * n_params * n_tokens + 2 * n_params * inference_tokens
    return {"law": law.id, "inference_tokens": inference_tokens,
            "inference_flops": 2 * n_params * inference_tokens, "total_flops": total,
            "optimum": opt.to_dict(), "total_flops_saved": 1 - opt.total_flops / total,
            "implied_inference_tokens": inference_aware.implied_inference_tokens(law, n_params,
                                                                                 n_tokens)}


def data_block(law, n_params, n_tokens, unique_tokens) -> dict:
    """Loss of (N, D) with U unique tokens, and the best split of the same compute given U."""
    dc = data_constrained.loss(law, n_params, n_tokens, unique_tokens)
    best = data_constrained.optimal(law, 6 * n_params * n_tokens, unique_tokens)
    return {"law": law.id, **dc.to_dict(), "optimum": best.to_dict()}


def plan_extras(law, n_params, n_tokens, inference_tokens=None, unique_tokens=None):
    """(blocks for Plan.to_dict, assumption lines) for the beyond-Chinchilla options of `plan`."""
    blocks, notes = {}, []
    if getattr(law, "param_count", "") == "non-embedding":
        notes.append(f"{law.id}: N counts non-embedding parameters only (Kaplan et al. 2020); "
                     "loss is nats/token on WebText2")
    if inference_tokens is not None:
        blocks["inference"] = inference_block(law, n_params, n_tokens, inference_tokens)
        notes.append("inference: 2N FLOP per token served; lifetime FLOP = 6ND + 2NT minimised at "
                     "equal loss (Sardana et al. 2023, arXiv:2401.00448)")
    if unique_tokens is not None:
        blocks["data_constrained"] = data_block(law, n_params, n_tokens, unique_tokens)
        notes.append(f"repeated data: R_D* = {data_constrained.R_D_STAR}, R_N* = "
                     f"{data_constrained.R_N_STAR} (Muennighoff et al. 2023, fitted with "
                     f"muennighoff2023 on C4{'' if law.id == 'muennighoff2023' else '; applied to ' + law.id})")
    return blocks, tuple(notes)


@dataclass(frozen=True)
class Explanation:
    """How far a model sits from each law's optimum at its own compute, and why."""

    name: str
    n_params: float
    n_tokens: float
    flops: float
    laws: tuple  # one dict per law
    implied_inference_tokens: float | None  # under sardana2023
    llama3: object  # TokenLaw
    deepseek: object  # Hyperparams
    reasons: tuple

    def to_dict(self) -> dict:
        return {"name": self.name, "n_params": self.n_params, "n_tokens": self.n_tokens,
                "tokens_per_param": self.n_tokens / self.n_params, "flops": self.flops,
                "laws": list(self.laws), "implied_inference_tokens": self.implied_inference_tokens,
                "llama3": self.llama3.to_dict(), "deepseek": self.deepseek.to_dict(),
                "reasons": list(self.reasons)}


def _row(law, n, d, c) -> dict:
    o = law.optimal(c)
    loss = float(law.loss(n, d))
    return {"law": law.id, "loss": loss, "optimal": o.to_dict(), "params_ratio": n / o.n_params,
            "tokens_ratio": d / o.n_tokens, "excess_loss": loss - float(o.loss)}


def explain(n_params: float, n_tokens: float, name: str = "model", law=DEFAULT_LAW) -> Explanation:
    """Compare (N, D) at C = 6ND with every registered law's optimum, Sardana's implied inference
    demand, Llama 3's token law and DeepSeek's hyperparameters; `law` leads the reasons."""
    law = get_law(law) if isinstance(law, str) else law
    n, d = float(n_params), float(n_tokens)
    c = 6 * n * d
    rows = tuple(_row(lw, n, d, c) for lw in {law.id: law, **LAWS}.values())
    main = rows[0]
    t_inf = inference_aware.implied_inference_tokens(LAWS["sardana2023"], n, d)
    llama = hyperparams.llama3_tokens(c)
    ds = hyperparams.deepseek(c)
    o = main["optimal"]
    reasons = [
        f"{name}: {format_count(n)} parameters on {format_count(d)} tokens ({d / n:,.0f} per param, "
        f"{d / n / o['tokens_per_param']:.3g}x {law.id}'s optimal ratio, {d / n / 20:.3g}x the 20:1 "
        f"rule), C = 6ND = {format_flops(c)}.",
        f"Compute-optimal under {law.id} at that compute: {format_count(o['n_params'])} on "
        f"{format_count(o['n_tokens'])} ({o['tokens_per_param']:.1f} per param). {name} is "
        f"{main['params_ratio']:.3g}x that size on {main['tokens_ratio']:.3g}x the tokens, which "
        f"costs {main['excess_loss']:+.4f} nats of loss at equal training compute.",
    ]
    if t_inf is None:
        reasons.append(f"Inference (sardana2023): {name} has fewer tokens than the equal-loss "
                       "Chinchilla model, so no inference demand makes it lifetime-optimal.")
    else:
        reasons.append(f"Inference (sardana2023): this split minimises lifetime FLOP 6ND + 2NT if "
                       f"it serves T = {format_count(t_inf)} tokens ({t_inf / d:.3g}x its training "
                       "tokens); a smaller model trained longer is cheaper to serve.")
    reasons.append(f"Data: Meta's own fit on its data mix, D*(C) = 0.299 C^0.537 (Llama 3), puts "
                   f"the optimum at {format_count(llama.n_params)} params on "
                   f"{format_count(llama.n_tokens)} tokens ({llama.n_tokens / llama.n_params:.0f}"
                   f" per param); {name} uses {d / llama.n_tokens:.3g}x those tokens.")
    k = next(r for r in rows if r["law"] == "kaplan2020")
    reasons.append(f"Kaplan 2020 (N_opt ~ C^0.73) would use {format_count(k['optimal']['n_params'])}"
                   f" params on {format_count(k['optimal']['n_tokens'])} tokens: the 'bigger "
                   "models' prescription Chinchilla overturned.")
    reasons.append(f"DeepSeek LLM's fits (their setup) at this compute: batch "
                   f"{format_count(ds.batch_tokens)} tokens, learning rate {ds.learning_rate:.3g}.")
    return Explanation(name, n, d, c, rows, t_inf, llama, ds, tuple(reasons))
