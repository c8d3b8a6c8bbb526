"""Where a run sits relative to the optima beyond Chinchilla: inference demand, repeated data,
Kaplan, one lab's token law. The plan's extra blocks (plan_extras) and `explain`."""

from dataclasses import dataclass

from scalinglab.compute import CHINCHILLA_TOKENS_PER_PARAM, training_flops
from scalinglab.laws import DEFAULT_LAW, LAWS, get_law
from scalinglab.laws import data_constrained, hyperparams, inference_aware
from scalinglab.laws.base import Law, Optimum
from scalinglab.laws.data_constrained import DataConstrainedLoss, DataConstrainedOptimum
from scalinglab.laws.inference_aware import SARDANA2023, InferenceAwareOptimum
from scalinglab.laws.kaplan import KAPLAN2020
from scalinglab.results import Result, flat
from scalinglab.errors import InputError
from scalinglab.units import format_count, format_flops, format_ratio, format_times


@dataclass(frozen=True)
class InferenceBlock(Result):
    """Lifetime FLOP of (N, D) serving T tokens, against the inference-aware optimum at its loss."""

    law: str
    inference_tokens: float
    inference_flops: float
    total_flops: float
    optimum: InferenceAwareOptimum
    implied_inference_tokens: float | None

    _derived = ("total_flops_saved",)

    @property
    def total_flops_saved(self) -> float:
        return 1 - self.optimum.total_flops / self.total_flops


def inference_block(law: Law, n_params, n_tokens, inference_tokens) -> InferenceBlock:
    opt = inference_aware.optimal_for_loss(law, law.loss(n_params, n_tokens), inference_tokens)
    total = inference_aware.lifetime_flops(n_params, n_tokens, inference_tokens)
    serving = inference_aware.lifetime_flops(n_params, 0.0, inference_tokens)  # 2NT
    return InferenceBlock(law.id, inference_tokens, serving, total, opt, inference_aware.implied_inference_tokens(law, n_params, n_tokens))


@dataclass(frozen=True)
class DataBlock(Result):
    """Loss of (N, D) with U unique tokens, and the best split of the same compute given U."""

    loss: DataConstrainedLoss = flat()
    optimum: DataConstrainedOptimum


def data_block(law: Law, n_params, n_tokens, unique_tokens) -> DataBlock:
    dc = data_constrained.loss(law, n_params, n_tokens, unique_tokens)
    best = data_constrained.optimal(law, training_flops(n_params, n_tokens).flops, unique_tokens)
    return DataBlock(dc, best)


def plan_extras(law: Law, n_params, n_tokens, inference_tokens=None, unique_tokens=None):
    """(inference block, data-constrained block, assumption lines) for `plan`'s options."""
    inference = data = None
    notes = []
    if inference_tokens is not None:
        inference = inference_block(law, n_params, n_tokens, inference_tokens)
        notes.append("inference: 2N FLOP per token served; lifetime FLOP = 6ND + 2NT minimised at "
                     "equal loss (Sardana et al. 2023, arXiv:2401.00448)")
    if unique_tokens is not None:
        data = data_block(law, n_params, n_tokens, unique_tokens)
        notes.append(f"repeated data: R_D* = {data_constrained.R_D_STAR}, R_N* = "
                     f"{data_constrained.R_N_STAR} (Muennighoff et al. 2023, fitted with "
                     f"muennighoff2023 on C4; with any other law they are an assumption)")
    return inference, data, tuple(notes)


@dataclass(frozen=True)
class LawOptimumRow(Result):
    """A model against one law's optimum at the model's own compute."""

    law: str
    loss: float | None
    optimal: Optimum
    params_ratio: float
    tokens_ratio: float
    # loss above the law's own minimum at equal compute (>= 0); None where the law's optimum is
    # not the minimum of its L(N, D) (kaplan2020's Table 6) or it has no L(N, D): no cost to show
    excess_loss: float | None
    implied_inference_tokens: float | None = None  # T that makes (N, D) lifetime-optimal here
    note: str = ""


@dataclass(frozen=True)
class Explanation(Result):
    """How far a model sits from each law's optimum at its own compute, and why."""

    name: str
    n_params: float  # the N the laws were given: active parameters for a mixture of experts
    n_tokens: float
    flops: float
    laws: tuple  # LawOptimumRow per law, the leading law first
    implied_inference_tokens: float | None  # under implied_inference_law
    llama3: hyperparams.TokenLaw
    deepseek: hyperparams.Hyperparams
    reasons: tuple
    implied_inference_law: str = ""
    params_counted: str = "total"  # "active" for a mixture of experts
    notes: tuple = ()  # what the inputs rest on (catalogue row, MoE)

    _derived = ("tokens_per_param",)

    @property
    def tokens_per_param(self) -> float:
        return self.n_tokens / self.n_params


def _implied(law: Law, n, d) -> float | None:
    return inference_aware.implied_inference_tokens(law, n, d) if law.can("inference-aware") else None


def _row(law: Law, n, d, c, non_embedding=None) -> LawOptimumRow:
    o = law.optimal(c)
    n_law, _ = law.params_for(n, non_embedding)
    loss = float(law.loss(n_law, d)) if law.can("loss") else None
    excess, note = None, ""
    if loss is not None and law.optimum_minimises_loss:
        excess = max(0.0, loss - float(o.loss))  # the minimum: >= 0 up to rounding
    elif loss is not None:
        note = (f"{law.id}'s optimum ({law.optimum_formula}) is not the minimum of its L(N, D), "
                "so the loss difference is not a cost of the split")
    return LawOptimumRow(law.id, loss, o, n / o.n_params, d / o.n_tokens, excess,
                         _implied(law, n, d), note)


def explain(n_params: float, n_tokens: float, name: str = "model", law=DEFAULT_LAW,
            non_embedding: float | None = None, params_counted: str = "total",
            notes: tuple = ()) -> Explanation:
    """Compare (N, D) at C = 6ND with every registered law's optimum, the inference demand that
    would justify it (under `law`, as `plan --inference-tokens` computes it; each law's own in
    its row), Llama 3's token law and DeepSeek's hyperparameters; `law` leads the reasons.
    non_embedding: the model's non-embedding count, for laws that count it (kaplan2020);
    params_counted: which parameters N is ("active" for a mixture of experts)."""
    law = get_law(law)
    law.require("loss", f"the loss of {name}")
    n, d = float(n_params), float(n_tokens)
    c = float(training_flops(n, d).flops)
    rows = tuple(_row(lw, n, d, c, non_embedding) for lw in {law.id: law, **LAWS}.values())
    main = rows[0]
    inf_law = law if law.can("inference-aware") else SARDANA2023
    t_inf = _implied(inf_law, n, d)
    llama = hyperparams.llama3_tokens(c)
    ds = hyperparams.deepseek(c)
    o = main.optimal
    what = f"{format_count(n)} {'active ' if params_counted == 'active' else ''}parameters"
    cost = (f"which costs {main.excess_loss:+.4f} nats of loss at equal training compute"
            if main.excess_loss is not None else f"({main.note})")
    reasons = [
        f"{name}: {what} on {format_count(d)} tokens ({format_ratio(d / n)} per param, "
        f"{format_times(d / n / o.tokens_per_param)} {law.id}'s optimal ratio, "
        f"{format_times(d / n / CHINCHILLA_TOKENS_PER_PARAM)} the 20:1 rule), C = 6ND = "
        f"{format_flops(c)}.",
        f"Compute-optimal under {law.id} at that compute: {format_count(o.n_params)} on "
        f"{format_count(o.n_tokens)} ({format_ratio(o.tokens_per_param)} per param). {name} is "
        f"{format_times(main.params_ratio)} that size on {format_times(main.tokens_ratio)} the "
        f"tokens, {cost}.",
    ]
    other = "" if inf_law is law else f" ({law.id} has no inference-aware form)"
    if t_inf is None:
        reasons.append(f"Inference ({inf_law.id}{other}): {name} has fewer tokens than the "
                       "equal-loss Chinchilla model, so no inference demand makes it lifetime-optimal.")
    else:
        reasons.append(f"Inference ({inf_law.id}{other}): this split minimises lifetime FLOP 6ND + "
                       f"2NT if it serves T = {format_count(t_inf)} tokens "
                       f"({format_times(t_inf / d)} its training tokens); a smaller model trained "
                       "longer is cheaper to serve. Each law's own T is in its row: they differ "
                       "because each law prices extra tokens (its B, beta) against extra "
                       "parameters (A, alpha) differently.")
    reasons.append(f"Data: Meta's own fit on its data mix, D*(C) = 0.299 C^0.537 (Llama 3), puts "
                   f"the optimum at {format_count(llama.n_params)} params on "
                   f"{format_count(llama.n_tokens)} tokens ({format_ratio(llama.n_tokens / llama.n_params)}"
                   f" per param); {name} uses {format_times(d / llama.n_tokens)} those tokens.")
    k = KAPLAN2020.optimal(c)
    reasons.append(f"Kaplan 2020 (N_opt ~ C^0.73) would use {format_count(k.n_params)}"
                   f" non-embedding params on {format_count(k.n_tokens)} tokens: the 'bigger "
                   "models' prescription Chinchilla overturned.")
    reasons.append(f"DeepSeek LLM's fits (their setup) at this compute: batch "
                   f"{format_count(ds.batch_tokens)} tokens, learning rate {ds.learning_rate:.3g}.")
    return Explanation(name, n, d, c, rows, t_inf, llama, ds, tuple(reasons), inf_law.id,
                       params_counted, tuple(notes))


def explain_model(model, law=DEFAULT_LAW) -> Explanation:
    """explain() for a catalogue model (a name or catalog.Model): its N is the one every law
    is given everywhere (catalog.Model.law_params: active parameters for a mixture of experts,
    as `models` uses), said in the notes."""
    from scalinglab.catalog import get_model

    m = get_model(model) if isinstance(model, str) else model
    if m.n_params is None or m.n_tokens is None:
        raise InputError(f"{m.name}: the catalogue has no "
                         f"{'parameter' if m.n_params is None else 'token'} count; pass --params "
                         "and --tokens instead")
    notes = [f"{m.name}: {m.source} ({m.confidence})"]
    if m.is_moe:
        notes.append(m.moe_note)
    return explain(m.law_params, m.n_tokens, m.name, law, m.non_embedding_params,
                   "active" if m.is_moe else "total", tuple(notes))
