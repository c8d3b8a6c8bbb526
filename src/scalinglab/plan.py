"""The main job: from whatever the user knows (a budget, a model size, a token count, a target
loss) fill in a whole training plan under a named law, with every law's prediction side by side."""

from dataclasses import dataclass, field

from scalinglab.compute import TrainingFlops, training_flops
from scalinglab.errors import InputError
from scalinglab.laws import DEFAULT_LAW, LAWS, get_law

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
    arch: dict | None = None  # the architecture behind an exact N (--arch)
    hardware: object = None  # training.TrainingTime when planned on accelerators
    memory: object = None  # memory.MemoryEstimate (plan_memory) with --arch and --gpu
    beyond: dict = field(default_factory=dict)  # "inference", "data_constrained": beyond.with_extras

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
                **({"arch": self.arch} if self.arch else {}), **self.beyond}


def _solve(law, compute, n_params, n_tokens, loss) -> tuple[float, float, str]:
    """(N, D, how) from any consistent subset of the inputs."""
    given = {k for k, v in dict(compute=compute, n_params=n_params, n_tokens=n_tokens,
                                loss=loss).items() if v is not None}
    if given == {"compute"}:
        o = law.optimal(compute)
        return o.n_params, o.n_tokens, f"compute-optimal for C = {compute:.3g} FLOP under {law.id}"
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
            raise InputError(f"a {n_params:.3g}-parameter model cannot reach loss {loss:g} under "
                             f"{law.id} (its floor is {law.loss(n_params, 1e300):.4g})")
        return n_params, (law.B / gap) ** (1 / law.beta), f"tokens for N to reach loss {loss:g}"
    raise InputError("give --compute, --loss, --params, --tokens, or --params with --tokens, "
                     "--compute or --loss (got " + (", ".join(sorted(given)) or "nothing") + ")")


def make_plan(compute=None, n_params=None, n_tokens=None, loss=None, law=DEFAULT_LAW,
              arch=None) -> Plan:
    """Fill in a plan. Numbers in base units (FLOP, parameters, tokens, nats).

    arch: a preset name or config.json path; its exact (active) parameter count becomes N."""
    if arch is not None:  # exact N from the architecture, named in the plan
        from scalinglab.architecture.plan import arch_for_plan, with_arch

        n_params, info = arch_for_plan(arch, n_params)
        return with_arch(make_plan(compute, n_params, n_tokens, loss, law), info)
    law = get_law(law) if isinstance(law, str) else law
    n, d, how = _solve(law, compute, n_params, n_tokens, loss)
    n, d = float(n), float(d)
    flops = training_flops(n, d)
    laws = {law.id: law, **LAWS}
    losses = {lid: {"loss": lw.loss(n, d), "terms": lw.terms(n, d),
                    "optimal_at_same_compute": lw.optimal(flops.flops).to_dict()}
              for lid, lw in laws.items()}
    assumptions = (
        f"law: {law.id} ({law.source})",
        "compute: C = 6ND (2ND forward + 4ND backward), dense model, no recomputation",
        "loss: nats/token on the law's own data distribution (MassiveText for Chinchilla fits, "
        "C4 for muennighoff2023); losses from different data are not comparable",
        "20:1: Chinchilla's empirical ratio (70B on 1.4T tokens), not a law",
    )
    return Plan(law.id, how, n, d, flops, losses, ratio_check(n, d, law), assumptions)
