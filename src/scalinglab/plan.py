"""The main job: from whatever the user knows (a budget, a model size, a token count, a target
loss, an architecture, accelerators) fill in a whole training plan under a named law, with every
law's prediction side by side. make_plan only composes: each section is computed by its module."""

from dataclasses import dataclass

from scalinglab.architecture.plan import ArchInfo, arch_for_plan
from scalinglab.architecture.shape import DEFAULT_FAMILY, ShapeSuggestion, suggest_shape
from scalinglab.beyond import DataBlock, InferenceBlock, plan_extras
from scalinglab.compute import (CHINCHILLA_TOKENS_PER_PARAM, TrainingFlops, params_for_compute,
                                tokens_for_compute, training_flops)
from scalinglab.errors import InputError
from scalinglab.hardware import get_accelerator
from scalinglab.inference import ServingCost, serving_cost
from scalinglab.laws import DEFAULT_LAW, LAWS, get_law
from scalinglab.laws.base import Law, Optimum
from scalinglab.memory import MemoryEstimate, plan_memory
from scalinglab.results import Result, hidden, omit_none
from scalinglab.training import DEFAULT_DTYPE, TrainingTime, budget_flops, training_time
from scalinglab.units import format_count, format_ratio, format_sci, format_times


@dataclass(frozen=True)
class RatioCheck(Result):
    """Tokens per parameter of a plan, against the law's optimum at the same compute and 20:1."""

    tokens_per_param: float
    optimal_tokens_per_param: float
    law: str

    _derived = (("times_optimal", "vs_optimal"), ("times_twenty", "vs_twenty"))

    @property
    def vs_optimal(self) -> float:
        """How many times more tokens per parameter than compute-optimal (<1: fewer)."""
        return self.tokens_per_param / self.optimal_tokens_per_param

    @property
    def vs_twenty(self) -> float:
        return self.tokens_per_param / CHINCHILLA_TOKENS_PER_PARAM

    def __str__(self) -> str:
        return (f"{format_ratio(self.tokens_per_param)} tokens/param = {format_times(self.vs_optimal)} "
                f"the compute-optimal {format_ratio(self.optimal_tokens_per_param)}:1 under "
                f"{self.law}, {format_times(self.vs_twenty)} the 20:1 rule")


def ratio_check(n_params: float, n_tokens: float, law=DEFAULT_LAW) -> RatioCheck:
    """Compare D/N with the law's compute-optimal D/N at the same 6ND compute."""
    law = get_law(law)
    opt = law.optimal(training_flops(n_params, n_tokens).flops)
    return RatioCheck(n_tokens / n_params, float(opt.tokens_per_param), law.id)


@dataclass(frozen=True)
class LawView(Result):
    """One law's reading of a plan: its loss at the N it counts, and its optimum at the plan's C."""

    law: str
    n_params: float  # the N this law counts (non-embedding for kaplan2020 when the arch is known)
    counts: str
    loss: float | None  # None: the law has no L(N, D)
    terms: dict | None
    optimal_at_same_compute: Optimum


def law_view(law: Law, n_params: float, n_tokens: float, flops: float,
             non_embedding: float | None = None) -> LawView:
    n, _ = law.params_for(n_params, non_embedding)
    has_loss = law.can("loss")
    return LawView(law.id, float(n), law.counts, float(law.loss(n, n_tokens)) if has_loss else None,
                   law.terms(n, n_tokens) if has_loss else None, law.optimal(flops))


@dataclass(frozen=True)
class Plan(Result):
    """A training plan: model size, tokens, compute, predicted loss under every law."""

    law: str
    derivation: str
    n_params: float
    n_tokens: float
    compute: TrainingFlops = hidden()
    losses: dict  # law id -> LawView
    ratio: RatioCheck
    assumptions: tuple
    memory: MemoryEstimate | None = None  # with an arch and a gpu
    hardware: TrainingTime | None = omit_none()  # with a gpu
    arch: ArchInfo | None = omit_none()  # the architecture behind N
    shape: ShapeSuggestion | None = omit_none()  # without an arch: a shape for N (`shape N`)
    inference: InferenceBlock | None = omit_none()  # with inference_tokens
    data_constrained: DataBlock | None = omit_none()  # with unique_tokens
    serving: ServingCost | None = omit_none()  # with inference_tokens, arch and gpu
    warnings: tuple = ()  # what makes the plan unlike a real run (a dtype that does not train)

    _derived = ("tokens_per_param", "flops", "forward_flops", "backward_flops", "pf_days", "loss")

    @property
    def tokens_per_param(self) -> float:
        return self.n_tokens / self.n_params

    @property
    def flops(self) -> float:
        return self.compute.flops

    @property
    def forward_flops(self) -> float:
        return self.compute.forward_flops

    @property
    def backward_flops(self) -> float:
        return self.compute.backward_flops

    @property
    def pf_days(self) -> float:
        return self.compute.pf_days

    @property
    def loss(self) -> float | None:
        return self.losses[self.law].loss


def _solve(law: Law, compute, n_params, n_tokens, loss, n_law) -> tuple[float, float, str]:
    """(N, D, how) from any consistent subset of the inputs; n_law: N as the law counts it."""
    given = {k for k, v in dict(compute=compute, n_params=n_params, n_tokens=n_tokens,
                                loss=loss).items() if v is not None}
    if given == {"compute"}:
        o = law.optimal(compute)
        return o.n_params, o.n_tokens, f"compute-optimal for C = {format_sci(compute)} FLOP under {law.id}"
    if given == {"loss"}:
        o = law.optimal_for_loss(loss)
        return o.n_params, o.n_tokens, f"cheapest (N, D) reaching loss {loss:g} under {law.id}"
    if given == {"n_params", "n_tokens"}:
        return n_params, n_tokens, "N and D as given"
    if given == {"n_params"}:  # the compute at which N is optimal
        return (n_params, law.optimal_for_params(n_law).n_tokens,
                f"tokens that make N compute-optimal under {law.id}")
    if given == {"n_tokens"}:
        return (law.optimal_for_tokens(n_tokens).n_params, n_tokens,
                f"parameters that make D compute-optimal under {law.id}")
    if given == {"compute", "n_params"}:
        return n_params, tokens_for_compute(compute, n_params), "D = C / 6N"
    if given == {"compute", "n_tokens"}:
        return params_for_compute(compute, n_tokens), n_tokens, "N = C / 6D"
    if given == {"loss", "n_params"}:
        return n_params, law.tokens_for_loss(n_law, loss), f"tokens for N to reach loss {loss:g}"
    raise InputError("give --compute, --loss, --params, --tokens, --days (with --gpu), or --params "
                     "with --tokens, --compute or --loss (got "
                     + (", ".join(sorted(given)) or "none of these") + ")")


def make_plan(compute=None, n_params=None, n_tokens=None, loss=None, law=DEFAULT_LAW, arch=None,
              gpu=None, n_gpus=None, days=None, dtype=DEFAULT_DTYPE, mfu=None, sparse=False,
              price=None, inference_tokens=None, unique_tokens=None, family=None, seq_len=None,
              micro_batch=None, recompute=None) -> Plan:
    """The whole plan from whatever is known, in base units (FLOP, parameters, tokens, nats).

    arch: preset name or config.json path; its exact (active) parameter count is N, and laws
    that count non-embedding parameters get that count. gpu: accelerator id; the run's time and
    cost on n_gpus (default 1) at dtype, mfu (default 0.4), sparse peak, price (USD per
    GPU-hour). days (with gpu) sets the compute budget. arch with gpu: training memory per GPU.
    inference_tokens, unique_tokens: the inference-aware and data-constrained blocks;
    inference_tokens with arch and gpu: the GPU-hours and cost to serve them (serving_cost).
    Without arch: the shape `scalinglab shape N --family FAMILY` suggests for the plan's N
    (llama unless family is given); with gpu, memory and serving are computed on it.
    seq_len, micro_batch, recompute: the memory check's sequence length (2048), micro-batch per
    GPU (1) and recomputation (selective); they need the check (gpu)."""
    law = get_law(law)
    _needs_gpu(gpu, n_gpus=n_gpus, days=days, mfu=mfu, sparse=sparse or None, price=price,
               dtype=None if dtype == DEFAULT_DTYPE else dtype)
    n_gpus = 1 if n_gpus is None else n_gpus
    how = []  # the derivation, first step first
    info = None
    if arch is not None:  # N: the architecture's exact (active) parameter count
        info = arch_for_plan(arch, n_params)
        n_params = float(info.n_params)
        how.append(f"N = {info.name} (exact)")
    non_embedding = float(info.non_embedding) if info else None
    if days is not None:  # C: n_gpus x days x peak x MFU
        if compute is not None or loss is not None:
            raise InputError("--days sets the compute budget: give it without --compute or --loss")
        compute = budget_flops(gpu, n_gpus, days, dtype, mfu, sparse)
        how.append(f"{n_gpus:,.0f} x {get_accelerator(gpu).id} for {days:g} days = "
                   f"{format_sci(compute)} FLOP")
    n_law = None if n_params is None else law.params_for(n_params, non_embedding)[0]
    n, d, solved = _solve(law, compute, n_params, n_tokens, loss, n_law)
    n, d = float(n), float(d)
    if n < 1 or d < 1:
        raise InputError(f"this plan has {format_count(n)} parameters on {format_count(d)} tokens; "
                         f"check the inputs (is the compute budget too small for the model?)")
    flops = training_flops(n, d)
    losses = {lw.id: law_view(lw, n, d, flops.flops, non_embedding)
              for lw in {law.id: law, **LAWS}.values()}
    hardware = None if gpu is None else training_time(flops.flops, gpu, n_gpus, dtype, mfu,
                                                      sparse, price)
    if arch is not None and family is not None:
        raise InputError("--family suggests a shape for N; with --arch the shape is given")
    shape, shape_note = (None, ()) if arch is not None else _shape(n, family)
    model = arch if arch is not None else None if shape is None else shape.spec
    mem = {k: v for k, v in (("seq", seq_len), ("batch", micro_batch), ("recompute", recompute))
           if v is not None}
    if mem and (model is None or gpu is None):
        flags = [f"--{f}" for f, v in (("seq-len", seq_len), ("micro-batch", micro_batch),
                                        ("recompute", recompute)) if v is not None]
        raise InputError(f"{', '.join(flags)} {'set' if len(flags) > 1 else 'sets'} the memory "
                         "check, which needs --gpu"
                         + ("" if model is not None else " and an architecture (--arch, or a "
                                                         "plan whose N has a suggested shape)"))
    memory = None if model is None or gpu is None else plan_memory(model, gpu, int(n_gpus), **mem)
    serving = (None if model is None or gpu is None or inference_tokens is None else
               serving_cost(model, gpu, inference_tokens, price))
    inference, data, extra_notes = plan_extras(law, losses[law.id].n_params, d, inference_tokens,
                                               unique_tokens)
    assumptions = (_law_assumptions(law, n, non_embedding)
                   + (hardware.assumptions if hardware else ())
                   + (info.assumptions if info else ()) + shape_note + extra_notes)
    warnings = hardware.warnings if hardware else ()
    return Plan(law.id, "; ".join(how + [solved]), n, d, flops, losses, ratio_check(n, d, law),
                assumptions, memory, hardware, info, shape, inference, data, serving, warnings)


def _shape(n: float, family) -> tuple:
    """(the suggested shape for N or None, the assumption line saying so)."""
    try:
        s = suggest_shape(n, family or DEFAULT_FAMILY)
    except InputError as e:
        if family is not None:
            raise
        return None, (f"shape: none suggested ({e})",)
    return s, (f"shape: no --arch, so the {s.family}-family shape for N (`scalinglab shape "
               f"{format_count(n)}`): {s.d_model} x {s.n_layers} layers, {s.total:,} parameters "
               f"({s.error:+.2%}); the memory check uses it",)


def _needs_gpu(gpu, **options) -> None:
    """Hardware options without an accelerator are an error, not silently ignored."""
    given = [f"--{k.replace('_', '-')}" for k, v in options.items() if v is not None]
    if gpu is None and given:
        raise InputError(f"{', '.join(given)} needs --gpu (see `scalinglab gpus`)")


def _law_assumptions(law: Law, n: float, non_embedding: float | None) -> tuple:
    counted = law.params_for(n, non_embedding)[1]
    return (
        f"law: {law.id} ({law.source})",
        *((counted,) if counted else ()),
        "compute: C = 6ND (2ND forward + 4ND backward), dense model, no recomputation",
        "loss: nats/token on the law's own data distribution (MassiveText for Chinchilla fits, "
        "C4 for muennighoff2023, WebText2 for kaplan2020); losses from different data are not "
        "comparable",
        "20:1: Chinchilla's empirical ratio (70B on 1.4T tokens), not a law",
    )
