"""Kaplan et al. 2020, 'Scaling Laws for Neural Language Models' (arXiv:2001.08361).

N is NON-EMBEDDING parameters (~12 n_layer d_model^2), D tokens, C compute; losses are nats/token on
WebText2, not comparable with Chinchilla's MassiveText losses.
- joint law (Eq. 1.5, Table 2 fit): L(N, D) = [(Nc/N)^(aN/aD) + Dc/D]^aD
- single-variable laws (Eq. 1.1-1.3): L(N) = (Nc/N)^0.076, L(D) = (Dc/D)^0.095, L(C_min) = (Cc/C)^0.050
- compute-efficient frontier (Table 6, C in PF-days): N_opt = 1.3e9 C^0.73, D_opt = 2e10 C^0.27,
  B_crit = 2.0e6 C^0.24 tokens, S_min = 5.4e3 C^0.03 steps; and B_crit(L) = 2e8 / L^(1/0.21) (Eq. 5.3).
"""

from dataclasses import dataclass

import numpy as np

from scalinglab.errors import InputError
from scalinglab.laws.base import Law
from scalinglab.units import PF_DAY
from scalinglab.validate import out as _out
from scalinglab.validate import positive as _positive


@dataclass(frozen=True)
class KaplanLaw(Law):
    """Kaplan 2020's laws; `optimal` follows Table 6 (N_opt ~ C^0.73) with D = C / 6N."""

    id: str = "kaplan2020"
    # joint L(N, D), Table 2 (not the single-variable constants, which many repos reuse by mistake)
    alpha_N: float = 0.076
    alpha_D: float = 0.103
    N_c: float = 6.4e13
    D_c: float = 1.8e13
    # single-variable laws, Sec. 1.2
    alpha_N_alone: float = 0.076
    N_c_alone: float = 8.8e13
    alpha_D_alone: float = 0.095
    D_c_alone: float = 5.4e13
    alpha_C: float = 0.050
    C_c_pf_days: float = 3.1e8
    # compute-efficient frontier, Table 6 (C_min in PF-days)
    N_e: float = 1.3e9
    p_N: float = 0.73
    D_e: float = 2e10
    p_D: float = 0.27
    B_e: float = 2.0e6
    p_B: float = 0.24
    S_e: float = 5.4e3
    p_S: float = 0.03
    # critical batch as a function of loss, Eq. 5.3
    B_star: float = 2e8
    alpha_B: float = 0.21
    source: str = ("Kaplan et al. 2020, 'Scaling Laws for Neural Language Models', arXiv:2001.08361 "
                   "(Eq. 1.5 + Table 2 joint fit; Table 6 frontier)")
    note: str = ("N counts NON-embedding parameters; loss in nats/token on WebText2; optimum is "
                 "Table 6's N_opt = 1.3e9 C^0.73 (C in PF-days) with D = C/6N")

    formula = "L(N, D) = [(Nc/N)^(alphaN/alphaD) + Dc/D]^alphaD (N non-embedding)"
    optimum_formula = ("Table 6: N_opt = 1.3e9 C^0.73 (C in PF-days), D = C/6N (not the joint "
                       "law's minimum)")
    counts = "non-embedding"
    data = "WebText2"
    lacks = "Kaplan et al. 2020's law is not of the form E + A/N^alpha + B/D^beta"

    # --- loss ---------------------------------------------------------------------------------
    @property
    def E(self) -> float:
        """Kaplan's laws have no irreducible term: loss -> 0 as N, D -> infinity."""
        return 0.0

    def loss(self, n_params, n_tokens):
        """Joint law L(N, D) = [(Nc/N)^(aN/aD) + Dc/D]^aD (Table 2 constants)."""
        n = _positive(n_params, "n_params")
        d = _positive(n_tokens, "n_tokens")
        return _out(((self.N_c / n) ** (self.alpha_N / self.alpha_D) + self.D_c / d) ** self.alpha_D)

    def terms(self, n_params, n_tokens) -> dict:
        """Not additive like Chinchilla's: 'model' is L(N, D=inf), 'data' the finite-data excess."""
        total = np.asarray(self.loss(n_params, n_tokens))
        model = (self.N_c / _positive(n_params, "n_params")) ** self.alpha_N
        return {"irreducible": _out(np.zeros_like(total)), "model": _out(np.broadcast_to(model, total.shape)),
                "data": _out(total - model)}

    def loss_of_params(self, n_params):
        """L(N) = (Nc/N)^0.076, trained to convergence on enough data (Eq. 1.1)."""
        return _out((self.N_c_alone / _positive(n_params, "n_params")) ** self.alpha_N_alone)

    def loss_of_tokens(self, n_tokens):
        """L(D) = (Dc/D)^0.095, large model with early stopping (Eq. 1.2)."""
        return _out((self.D_c_alone / _positive(n_tokens, "n_tokens")) ** self.alpha_D_alone)

    def loss_of_compute(self, flops):
        """L(C_min) = (Cc/C_min)^0.050, C_min in PF-days (Eq. 1.3)."""
        return _out((self.C_c_pf_days / (_positive(flops, "compute") / PF_DAY)) ** self.alpha_C)

    def tokens_for_loss(self, n_params, loss):
        """D that takes an N-parameter model to loss L under the joint law."""
        floor = self.loss(n_params, 1e300)
        rest = np.asarray(loss, dtype=float) ** (1 / self.alpha_D) - floor ** (1 / self.alpha_D)
        if np.any(rest <= 0):
            raise InputError(f"a {float(np.max(n_params)):.3g}-parameter model cannot reach loss "
                             f"{loss} under {self.id} (its floor is {float(np.min(floor)):.4g})")
        return _out(self.D_c / rest)

    # --- compute-efficient frontier (Table 6) ---------------------------------------------------
    @property
    def a(self) -> float:
        """N_opt ~ C^a (0.73)."""
        return self.p_N

    @property
    def b(self) -> float:
        """D = C/(6 N_opt) ~ C^(1-a)."""
        return 1 - self.p_N

    @property
    def G(self) -> float:
        """N_opt = G (C/6)^a, the same form as the parametric laws (C in FLOP)."""
        return self.N_e * (6 / PF_DAY) ** self.p_N

    def table6(self, flops) -> dict:
        """Table 6's own frontier at C (C_min): N_opt, D_opt, critical batch, minimum steps."""
        c = _positive(flops, "compute") / PF_DAY
        return {"n_params": _out(self.N_e * c**self.p_N), "n_tokens": _out(self.D_e * c**self.p_D),
                "critical_batch_tokens": _out(self.B_e * c**self.p_B),
                "min_steps": _out(self.S_e * c**self.p_S)}

    def critical_batch(self, loss):
        """B_crit(L) = B* / L^(1/alpha_B), in tokens (Eq. 5.3)."""
        return _out(self.B_star / _positive(loss, "loss") ** (1 / self.alpha_B))

    def compute_for_loss(self, loss):
        """Fewest FLOP whose Table-6 allocation reaches loss L (bisection in log C; loss falls with C)."""
        target = _positive(loss, "target loss")
        lo, hi = np.full(target.shape, -10.0), np.full(target.shape, 80.0)  # log10 FLOP
        for _ in range(200):
            mid = (lo + hi) / 2
            above = np.asarray(self.optimal(10.0**mid).loss) > target
            lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
        if np.any(hi >= 80.0) or np.any(lo <= -10.0):
            raise InputError(f"target loss {loss!r} is out of range for {self.id}")
        return _out(10.0 ** ((lo + hi) / 2))

    def constants(self) -> dict:
        return {"alpha_N": self.alpha_N, "alpha_D": self.alpha_D, "N_c": self.N_c, "D_c": self.D_c,
                "N_e": self.N_e, "p_N": self.p_N}


def non_embedding_params(n_layer, d_model):
    """N ~ 12 n_layer d_model^2 (Kaplan Sec. 2.1: attention 4 d^2 + MLP 8 d^2 per layer)."""
    return _out(12.0 * np.asarray(n_layer, dtype=float) * np.asarray(d_model, dtype=float) ** 2)


def embedding_params(n_vocab, d_model, n_ctx=0):
    """Token (and learned position) embeddings: (n_vocab + n_ctx) d_model, excluded from Kaplan's N."""
    return _out((np.asarray(n_vocab, dtype=float) + n_ctx) * np.asarray(d_model, dtype=float))


KAPLAN2020 = KaplanLaw()
