"""The main job: from whatever the user knows (a budget, a model size, a token count, a target
loss, an architecture, accelerators) fill in a whole training plan under a named law, with every
law's prediction side by side. make_plan only composes: each section is computed by its module."""

from dataclasses import dataclass, field

from scalinglab.architecture.plan import arch_for_plan
from scalinglab.beyond import plan_extras
from scalinglab.compute import TrainingFlops, training_flops
from scalinglab.errors import InputError
from scalinglab.hardware import get_accelerator
from scalinglab.inference import serving_cost
from scalinglab.laws import DEFAULT_LAW, LAWS, get_law
from scalinglab.memory import plan_memory
from scalinglab.training import DEFAULT_DTYPE, budget_flops, training_time
from scalinglab.units import format_count, format_sci

CHINCHILLA_TOKENS_PER_PARAM = 20.0  # Hoffmann et al. 2022: 70B on 1.4T tokens, Table 3 ~ 20:1


@dataclass(frozen=True)
class RatioCheck:
    """Tokens per parameter of a plan, against the law's optimum at the same compute and 20:1."""

    tokens_per_param: float
    optimal_tokens_per_param: float
    law: str

    @property
    def vs_optimal(self) -> float:
        """How many times more tokens per parameter than compute-optimal (<1: fewer)."""
        return self.tokens_per_param / self.optimal_tokens_per_param

    @property
    def vs_twenty(self) -> float:
        return self.tokens_per_param / CHINCHILLA_TOKENS_PER_PARAM

    def to_dict(self) -> dict:
        return {"tokens_per_param": self.tokens_per_param,
                "optimal_tokens_per_param": self.optimal_tokens_per_param,
                "times_optimal": self.vs_optimal, "times_twenty": self.vs_twenty, "law": self.law}

    def __str__(self) -> str:
        return (f"{self.tokens_per_param:,.1f} tokens/param = {_times(self.vs_optimal)} the "
                f"compute-optimal {self.optimal_tokens_per_param:.1f}:1 under {self.law}, "
                f"{_times(self.vs_twenty)} the 20:1 rule")


def _times(x: float) -> str:
    return f"{x:.2f}x" if x < 10 else f"{x:,.1f}x"


def ratio_check(n_params: float, n_tokens: float, law=DEFAULT_LAW) -> RatioCheck:
    """Compare D/N with the law's compute-optimal D/N at the same 6ND compute."""
    law = get_law(law) if isinstance(law, str) else law
    opt = law.optimal(training_flops(n_params, n_tokens).flops)
    return RatioCheck(n_tokens / n_params, float(opt.tokens_per_param), law.id)


@dataclass(frozen=True)
class Plan:
    """A training plan: model size, tokens, compute, predicted loss under every law."""

    law: str
    derivation: str
    n_params: float
    n_tokens: float
    compute: TrainingFlops
    losses: dict  # law id -> {"loss", "terms"}
    ratio: RatioCheck
    assumptions: tuple = field(default=())
    arch: dict | None = None  # architecture.plan.arch_for_plan: the architecture behind N
    hardware: object = None  # training.TrainingTime when planned on accelerators
    memory: object = None  # memory.plan_memory: MemoryEstimate with an arch and a gpu
    beyond: dict = field(default_factory=dict)  # beyond.plan_extras: "inference", "data_constrained"
    serving: object = None  # inference.serving_cost: GPU-hours to serve the inference tokens

    @property
    def loss(self) -> float:
        return self.losses[self.law]["loss"]

    def to_dict(self) -> dict:
        return {"law": self.law, "derivation": self.derivation, "n_params": self.n_params,
                "n_tokens": self.n_tokens, "tokens_per_param": self.n_tokens / self.n_params,
                "flops": self.compute.flops, "forward_flops": self.compute.forward_flops,
                "backward_flops": self.compute.backward_flops, "pf_days": self.compute.pf_days,
                "loss": self.loss, "losses": self.losses, "ratio": self.ratio.to_dict(),
                "assumptions": list(self.assumptions),
                "memory": self.memory.to_dict() if self.memory is not None else None,
                **({"hardware": self.hardware.to_dict()} if self.hardware is not None else {}),
                **({"arch": self.arch} if self.arch else {}), **self.beyond,
                **({"serving": self.serving.to_dict()} if self.serving is not None else {})}


def _solve(law, compute, n_params, n_tokens, loss) -> tuple[float, float, str]:
    """(N, D, how) from any consistent subset of the inputs."""
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
        c = 6 * (n_params / law.G) ** (1 / law.a)
        return n_params, c / (6 * n_params), f"tokens that make N compute-optimal under {law.id}"
    if given == {"n_tokens"}:
        c = 6 * (n_tokens * law.G) ** (1 / law.b)
        return c / (6 * n_tokens), n_tokens, f"parameters that make D compute-optimal under {law.id}"
    if given == {"compute", "n_params"}:
        return n_params, compute / (6 * n_params), "D = C / 6N"
    if given == {"compute", "n_tokens"}:
        return compute / (6 * n_tokens), n_tokens, "N = C / 6D"
    if given == {"loss", "n_params"} and hasattr(law, "tokens_for_loss"):  # laws of other forms
        return n_params, law.tokens_for_loss(n_params, loss), f"tokens for N to reach loss {loss:g}"
    if given == {"loss", "n_params"}:
        gap = loss - law.loss(n_params, 1e300)
        if gap <= 0:
            raise InputError(f"a {format_count(n_params)}-parameter model cannot reach loss {loss:g} under "
                             f"{law.id} (its floor is {law.loss(n_params, 1e300):.4g})")
        return n_params, (law.B / gap) ** (1 / law.beta), f"tokens for N to reach loss {loss:g}"
    raise InputError("give --compute, --loss, --params, --tokens, --days (with --gpu), or --params "
                     "with --tokens, --compute or --loss (got "
                     + (", ".join(sorted(given)) or "none of these") + ")")


def make_plan(compute=None, n_params=None, n_tokens=None, loss=None, law=DEFAULT_LAW, arch=None,
              gpu=None, n_gpus=None, days=None, dtype=DEFAULT_DTYPE, mfu=None, sparse=False,
              price=None, inference_tokens=None, unique_tokens=None) -> Plan:
    """The whole plan from whatever is known, in base units (FLOP, parameters, tokens, nats).

    arch: preset name or config.json path; its exact (active) parameter count is N.
    gpu: accelerator id; the run's time and cost on n_gpus (default 1) at dtype, mfu (default
    0.4), sparse peak, price (USD per GPU-hour). days (with gpu) sets the compute budget.
    arch with gpu: training memory per GPU. inference_tokens, unique_tokens: the inference-aware
    and data-constrained blocks; inference_tokens with arch and gpu: the GPU-hours and cost to
    serve them (inference.serving_cost)."""
    law = get_law(law) if isinstance(law, str) else law
    _needs_gpu(gpu, n_gpus=n_gpus, days=days, mfu=mfu, sparse=sparse or None, price=price,
               dtype=None if dtype == DEFAULT_DTYPE else dtype)
    n_gpus = 1 if n_gpus is None else n_gpus
    how = []  # the derivation, first step first
    arch_info = None
    if arch is not None:  # N: the architecture's exact (active) parameter count
        n_params, arch_info = arch_for_plan(arch, n_params)
        how.append(f"N = {arch_info['name']} (exact)")
    if days is not None:  # C: n_gpus x days x peak x MFU
        if compute is not None or loss is not None:
            raise InputError("--days sets the compute budget: give it without --compute or --loss")
        compute = budget_flops(gpu, n_gpus, days, dtype, mfu, sparse)
        how.append(f"{n_gpus:,.0f} x {get_accelerator(gpu).id} for {days:g} days = "
                   f"{format_sci(compute)} FLOP")
    n, d, solved = _solve(law, compute, n_params, n_tokens, loss)
    n, d = float(n), float(d)
    if n < 1 or d < 1:
        raise InputError(f"this plan has {format_count(n)} parameters on {format_count(d)} tokens; "
                         f"check the inputs (is the compute budget too small for the model?)")
    flops = training_flops(n, d)
    losses = {lid: {"loss": lw.loss(n, d), "terms": lw.terms(n, d),
                    "optimal_at_same_compute": lw.optimal(flops.flops).to_dict()}
              for lid, lw in {law.id: law, **LAWS}.items()}
    hardware = None if gpu is None else training_time(flops.flops, gpu, n_gpus, dtype, mfu,
                                                      sparse, price)
    memory = None if arch is None or gpu is None else plan_memory(arch, gpu, int(n_gpus))
    beyond, beyond_notes = plan_extras(law, n, d, inference_tokens, unique_tokens)
    serving = (None if arch is None or gpu is None or inference_tokens is None else
               serving_cost(arch, gpu, inference_tokens, price))
    assumptions = (_law_assumptions(law) + (hardware.assumptions if hardware else ())
                   + tuple(arch_info["assumptions"] if arch_info else ()) + beyond_notes)
    return Plan(law.id, "; ".join(how + [solved]), n, d, flops, losses, ratio_check(n, d, law),
                assumptions, arch_info, hardware, memory, beyond, serving)


def _needs_gpu(gpu, **options) -> None:
    """Hardware options without an accelerator are an error, not silently ignored."""
    given = [f"--{k.replace('_', '-')}" for k, v in options.items() if v is not None]
    if gpu is None and given:
        raise InputError(f"{', '.join(given)} needs --gpu (see `scalinglab gpus`)")


def _law_assumptions(law) -> tuple:
    return (
        f"law: {law.id} ({law.source})",
        "compute: C = 6ND (2ND forward + 4ND backward), dense model, no recomputation",
        "loss: nats/token on the law's own data distribution (MassiveText for Chinchilla fits, "
        "C4 for muennighoff2023); losses from different data are not comparable",
        "20:1: Chinchilla's empirical ratio (70B on 1.4T tokens), not a law",
    )
