"""What every scaling law is: the Law base class, its optimum and what it declares about itself.

A law answers what it can (loss, terms, optimum for a budget, cheapest (N, D) for a loss, ...) and
declares its formula, whether its terms add up, which N it counts and what it was fitted on.
Callers ask `law.can("loss")` instead of checking a law's type or id; a capability a law lacks
raises a one-line InputError naming the law.

Every registered law's compute-optimal allocation is a power law in C under C = 6ND:
    N_opt = G (C/6)^a,   D_opt = C / (6 N_opt) = (C/6)^(1-a) / G
so the optimum, and its inverses for a given N or D, live here once.
"""

from dataclasses import dataclass

import numpy as np

from scalinglab.compute import FLOPS_PER_PARAM_TOKEN, tokens_for_compute
from scalinglab.errors import InputError
from scalinglab.results import Result
from scalinglab.validate import out, positive

Array = float | np.ndarray

# Which N a law's fits were made with (Kaplan et al. 2020 count non-embedding parameters).
COUNTS = ("total", "non-embedding")


@dataclass(frozen=True)
class Optimum(Result):
    """A compute-optimal (or loss-target-optimal) allocation under one law; loss is None for a
    law with no L(N, D)."""

    law: str
    flops: Array
    n_params: Array
    n_tokens: Array
    loss: Array | None

    _derived = ("tokens_per_param",)

    @property
    def tokens_per_param(self) -> Array:
        return out(np.asarray(self.n_tokens) / np.asarray(self.n_params))


class Law:
    """Base of every law. Subclasses are frozen dataclasses with id, source and note fields and
    override the capabilities they have; the rest raise a one-line InputError."""

    id: str
    source: str
    note: str = ""
    formula = ""            # L(N, D) as text ("" for a law without one)
    optimum_formula = ""    # how its compute-optimal N, D are made, as text
    additive = False        # loss == sum of terms (E + A/N^alpha + B/D^beta)
    optimum_minimises_loss = False  # its optimum is the minimum of its own L(N, C/6N)
    counts = "total"        # which N it takes: "total" or "non-embedding"
    data = ""               # what it was fitted on
    extensions = frozenset()  # extra analyses in laws/ that need this law's form
    lacks = ""              # why capabilities are missing, for the error

    # --- asking what a law can do ---------------------------------------------------------------
    def can(self, capability: str) -> bool:
        """True when this law has `capability`: one of CAPABILITIES (a method, or an analysis
        of laws/ listed in `extensions`)."""
        if capability in EXTENSIONS:
            return capability in self.extensions
        if capability in _OWN:  # the base class only raises: the law must override it
            return getattr(type(self), capability) is not getattr(Law, capability)
        if capability == "optimal_for_loss":
            return self.can("compute_for_loss") or type(self).optimal_for_loss is not Law.optimal_for_loss
        if capability == "loss_at_optimum":
            return self.can("loss")
        return capability in CAPABILITIES

    def require(self, capability: str, what: str) -> None:
        """Raise the one-line error for a missing capability ("what" says what was asked)."""
        if not self.can(capability):
            why = f": {self.lacks}" if self.lacks else ""
            raise InputError(f"law {self.id!r} cannot give {what}{why}")

    def params_for(self, total, non_embedding=None) -> tuple[float, str]:
        """(N this law counts, how it was chosen) from what is known of a model."""
        if self.counts == "non-embedding":
            if non_embedding is None:
                return total, f"{self.id} counts non-embedding parameters; only the total was known"
            return non_embedding, f"{self.id}: N = non-embedding parameters ({non_embedding:,.0f})"
        return total, ""

    # --- capabilities (overridden where a law has them) -------------------------------------
    def loss(self, n_params, n_tokens) -> Array:
        self.require("loss", "a loss L(N, D)")

    def terms(self, n_params, n_tokens) -> dict:
        self.require("terms", "the terms of a loss L(N, D)")

    def tokens_for_loss(self, n_params, loss) -> Array:
        self.require("tokens_for_loss", "the tokens that take N parameters to a loss")

    def compute_for_loss(self, loss) -> Array:
        self.require("compute_for_loss", "the compute that reaches a loss")

    def optimal_for_loss(self, loss) -> Optimum:
        """The cheapest (N, D) reaching loss L: the optimum at the fewest FLOP that reach it."""
        o = self.optimal(self.compute_for_loss(loss))
        if np.any(np.asarray(o.n_params) < 1) or np.any(np.asarray(o.n_tokens) < 1):
            raise InputError(f"target loss {loss!r} is out of range for {self.id}: its cheapest "
                             "model would have under one parameter or token")
        return o

    def loss_at_optimum(self, flops) -> Array:
        self.require("loss", "the loss at the compute-optimal point")
        return self.optimal(flops).loss

    # --- the power-law optimum: N_opt = G (C/6)^a, D = C / 6N ------------------------------------
    @property
    def a(self) -> float:
        """N_opt ~ C^a."""
        raise NotImplementedError

    @property
    def G(self) -> float:
        """N_opt = G (C/6)^a."""
        raise NotImplementedError

    @property
    def b(self) -> float:
        """D_opt ~ C^b = C^(1-a) (6ND = C)."""
        return 1.0 - self.a

    def _optimum(self, flops, n) -> Optimum:
        d = tokens_for_compute(flops, n)
        loss = self.loss(n, d) if self.can("loss") else None
        return Optimum(self.id, out(flops), out(n), out(d), loss)

    def optimal(self, flops) -> Optimum:
        """The N, D minimising loss subject to 6ND = C (each law's own allocation rule)."""
        c = positive(flops, "compute")
        return self._optimum(c, self.G * (c / FLOPS_PER_PARAM_TOKEN) ** self.a)

    def optimal_for_params(self, n_params) -> Optimum:
        """The budget at which N parameters are compute-optimal, and its D."""
        n = positive(n_params, "n_params")
        return self._optimum(FLOPS_PER_PARAM_TOKEN * (n / self.G) ** (1 / self.a), n)

    def optimal_for_tokens(self, n_tokens) -> Optimum:
        """The budget at which D tokens are compute-optimal, and its N."""
        d = positive(n_tokens, "n_tokens")
        c = FLOPS_PER_PARAM_TOKEN * (d * self.G) ** (1 / self.b)
        return self._optimum(c, self.G * (c / FLOPS_PER_PARAM_TOKEN) ** self.a)

    # --- what it declares ----------------------------------------------------------------------
    def constants(self) -> dict:
        """The law's named constants (for tables and saved files)."""
        return {}

    def describe(self) -> dict:
        """What the law declares about itself (JSON of `laws`)."""
        return {"id": self.id, "formula": self.formula, "optimum_formula": self.optimum_formula,
                "additive": self.additive, "optimum_minimises_loss": self.optimum_minimises_loss,
                "counts": self.counts, "data": self.data,
                "source": self.source, "note": self.note, "a": self.a, "b": self.b, "G": self.G,
                "capabilities": [c for c in CAPABILITIES if self.can(c)], **self.constants()}

    def to_dict(self) -> dict:
        return self.describe()


_OWN = ("loss", "terms", "tokens_for_loss", "compute_for_loss")
EXTENSIONS = ("inference-aware", "data-constrained")
CAPABILITIES = ("loss", "terms", "tokens_for_loss", "compute_for_loss", "optimal_for_loss",
                "loss_at_optimum", "optimal", "optimal_for_params", "optimal_for_tokens",
                "inference-aware", "data-constrained")


@dataclass(frozen=True)
class LossPrediction(Result):
    """One law's loss at (N, D), with its terms (they add up only where the law says so)."""

    law: str
    n_params: Array  # the N the law was given (the count it declares)
    n_tokens: Array
    loss: Array
    terms: dict
    source: str
    counts: str
    additive: bool

    _derived = ("tokens_per_param",)

    @property
    def tokens_per_param(self) -> Array:
        return out(np.asarray(self.n_tokens) / np.asarray(self.n_params))


def predict(law: Law, n_params, n_tokens) -> LossPrediction:
    law.require("loss", "a loss L(N, D)")
    return LossPrediction(law.id, out(n_params), out(n_tokens), law.loss(n_params, n_tokens),
                          law.terms(n_params, n_tokens), law.source, law.counts, law.additive)


@dataclass(frozen=True)
class LawTable(Result):
    """The same question put to several laws; `skipped` says which laws cannot answer it."""

    laws: tuple
    skipped: tuple = ()  # {law, reason} of the laws without the capability

    _rows = "laws"
    n_params: Array | None = None
    n_tokens: Array | None = None
    unique_tokens: Array | None = None


def ask_all(laws, capability: str, ask, **given) -> LawTable:
    """ask(law) for every law that can `capability`; the others are listed with their reason."""
    rows = tuple(ask(lw) for lw in laws if lw.can(capability))
    skipped = tuple({"law": lw.id, "reason": lw.lacks} for lw in laws if not lw.can(capability))
    if not rows:
        laws[0].require(capability, "that")
    return LawTable(rows, skipped, **given)


def law_summaries() -> list:
    """What `scalinglab laws` shows: each registered law's declarations and its D/N at 1e24."""
    from scalinglab.laws import LAWS

    return [{**lw.describe(), "tokens_per_param_at_1e24": float(lw.optimal(1e24).tokens_per_param)}
            for lw in LAWS.values()]


def form_notes(law_ids) -> list:
    """How to read the rows of registered laws of another form (from what each declares): laws
    whose terms do not add up, and laws with no L(N, D)."""
    from scalinglab.laws import LAWS

    odd = [LAWS[i] for i in law_ids if i in LAWS and (not LAWS[i].additive or not LAWS[i].can("loss"))]
    return [f"{lw.id}: " + (f"not additive, {lw.formula}; its terms are L(N, D = inf) and the "
                            f"finite-D excess; N counts {lw.counts} parameters; optimum: "
                            f"{lw.optimum_formula}" if lw.can("loss") else
                            f"no L(N, D); optimum: {lw.optimum_formula}") for lw in odd]
