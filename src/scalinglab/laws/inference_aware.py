"""Inference-aware sizing: Sardana et al. 2023, 'Beyond Chinchilla-Optimal' (arXiv:2401.00448).

A model that will serve T inference tokens costs 6 N D + 2 N T FLOP over its life. For a target loss l
under L = E + A/N^alpha + B/D^beta, eliminate N = (A / (l - E - B D^-beta))^(1/alpha) and solve the
first-order condition (their compute_optimal.py / model_calculator.py)

    B (1 + beta/alpha) D^-beta + (beta B T / (3 alpha)) D^(-beta-1) + E - l = 0

for D. With T = 0 it is the plain cheapest-(N, D)-for-loss optimum. Cost (their cost_optimal.py) is
the same problem with T replaced by the cost-weighted token count
T_eq = (c_inf/c_train) mfu_train (T_prefill/mfu_prefill + T_decode/mfu_decode), c = $ per peak FLOP.
"""

from dataclasses import dataclass

import numpy as np

from scalinglab.compute import FLOPS_PER_PARAM_TOKEN, FORWARD_FLOPS_PER_PARAM
from scalinglab.laws.base import Array, Optimum
from scalinglab.laws.parametric import ParametricLaw
from scalinglab.results import Result
from scalinglab.validate import nonnegative as _nonnegative
from scalinglab.validate import out as _out
from scalinglab.validate import positive as _positive

SARDANA2023 = ParametricLaw(
    "sardana2023", E=1.69, A=406.4, B=410.7, alpha=0.336, beta=0.283,
    source="Sardana et al. 2023, 'Beyond Chinchilla-Optimal: Accounting for Inference in Language "
           "Model Scaling Laws', arXiv:2401.00448 (constants of nikhilsardana/beyond-chinchilla utils.py)",
    note="Chinchilla's fit with alpha, beta to 3 decimals (0.336, 0.283); used for inference-aware sizing",
)


def _parametric(law) -> ParametricLaw:
    law.require("inference-aware", "inference-aware sizing (it needs a law of the form "
                "E + A/N^alpha + B/D^beta, e.g. sardana2023)")
    return law


def lifetime_flops(n_params, n_tokens, inference_tokens) -> Array:
    """6 N D of training plus 2 N T of serving T tokens."""
    n = np.asarray(n_params, dtype=float)
    return _out(FLOPS_PER_PARAM_TOKEN * n * n_tokens + FORWARD_FLOPS_PER_PARAM * n * inference_tokens)


@dataclass(frozen=True)
class ChinchillaBaseline(Optimum):
    """The cheapest-to-train (N, D) with the same loss, serving the same tokens."""

    total_flops: Array = 0.0


@dataclass(frozen=True)
class InferenceAwareOptimum(Result):
    """The (N, D) with the fewest lifetime FLOP (or dollars) reaching `loss`, and the equal-loss
    Chinchilla-style model it replaces."""

    law: str
    loss: Array
    inference_tokens: Array
    n_params: Array
    n_tokens: Array
    chinchilla: ChinchillaBaseline
    cost: dict | None = None

    _derived = ("tokens_per_param", "flops", "train_flops", "inference_flops", "total_flops",
                "params_ratio", "tokens_ratio", "flops_ratio")

    @property
    def tokens_per_param(self) -> Array:
        return _out(np.asarray(self.n_tokens) / self.n_params)

    @property
    def train_flops(self) -> Array:
        return _out(FLOPS_PER_PARAM_TOKEN * np.asarray(self.n_params) * self.n_tokens)

    flops = train_flops

    @property
    def inference_flops(self) -> Array:
        return _out(FORWARD_FLOPS_PER_PARAM * np.asarray(self.n_params) * self.inference_tokens)

    @property
    def total_flops(self) -> Array:
        return lifetime_flops(self.n_params, self.n_tokens, self.inference_tokens)

    @property
    def chinchilla_total_flops(self) -> Array:
        return self.chinchilla.total_flops

    @property
    def params_ratio(self) -> Array:
        return _out(np.asarray(self.n_params) / self.chinchilla.n_params)

    @property
    def tokens_ratio(self) -> Array:
        return _out(np.asarray(self.n_tokens) / self.chinchilla.n_tokens)

    @property
    def flops_ratio(self) -> Array:
        return _out(np.asarray(self.total_flops) / self.chinchilla_total_flops)


def _baseline(law, loss, inference_tokens) -> ChinchillaBaseline:
    o = law.optimal_for_loss(loss)
    return ChinchillaBaseline(o.law, o.flops, o.n_params, o.n_tokens, o.loss,
                              lifetime_flops(o.n_params, o.n_tokens, inference_tokens))


def train_tokens(law, loss, inference_tokens):
    """Root D of the first-order condition (Newton in log D; converges monotonically from below)."""
    law = _parametric(law)
    gap = law.check_target(loss) - law.E
    t = _nonnegative(inference_tokens, "inference tokens")
    be = law.beta
    c1 = law.B * (1 + be / law.alpha)
    c2 = be * law.B * t / (3 * law.alpha)
    # each term alone reaches `gap` left of the root, so the larger of the two roots is a safe start
    x = np.maximum(np.log(c1 / gap) / be, np.log(np.maximum(c2, 1e-300) / gap) / (be + 1))
    for _ in range(200):
        g = c1 * np.exp(-be * x) + c2 * np.exp(-(be + 1) * x) - gap
        dg = -be * c1 * np.exp(-be * x) - (be + 1) * c2 * np.exp(-(be + 1) * x)
        step = g / dg
        x = x - step
        if np.all(np.abs(step) < 1e-13):
            break
    return _out(np.exp(x))


def optimal_for_loss(law, loss, inference_tokens, cost: dict | None = None) -> InferenceAwareOptimum:
    """Fewest lifetime FLOP 6ND + 2NT that reach `loss` with T inference tokens."""
    law = _parametric(law)
    d = np.asarray(train_tokens(law, loss, inference_tokens))
    n = (law.A / (np.asarray(loss, dtype=float) - law.E - law.B * d**-law.beta)) ** (1 / law.alpha)
    return InferenceAwareOptimum(law.id, _out(loss), _out(inference_tokens), _out(n), _out(d),
                                 _baseline(law, loss, inference_tokens), cost)


def optimal_for_compute(law, flops, inference_tokens) -> InferenceAwareOptimum:
    """For a training budget C: reach the loss of C's compute-optimal model, L*(C), with the fewest
    lifetime FLOP (Sardana's `--chinchilla --compute C` baseline). Training then costs more than C."""
    law = _parametric(law)
    return optimal_for_loss(law, law.loss_at_optimum(flops), inference_tokens)


def cost_optimal_for_loss(law, loss, prefill_tokens, decode_tokens, train_usd_per_flop,
                          inference_usd_per_flop, train_mfu=0.5, prefill_mfu=0.5,
                          decode_mfu=0.01) -> InferenceAwareOptimum:
    """Fewest lifetime dollars: training at train_mfu, prefill and decode at their own MFUs.

    usd_per_flop is the price of one PEAK FLOP (price per GPU-hour / (3600 * peak FLOP/s));
    defaults are cost_optimal.py's (50% train, 50% prefill, 1% decode)."""
    law = _parametric(law)
    pre = _nonnegative(prefill_tokens, "prefill tokens")
    dec = _nonnegative(decode_tokens, "decode tokens")
    c_tr = _positive(train_usd_per_flop, "training $/FLOP")
    c_in = _positive(inference_usd_per_flop, "inference $/FLOP")
    u_tr, u_pre, u_dec = (_positive(u, "MFU") for u in (train_mfu, prefill_mfu, decode_mfu))
    weighted = (c_in / c_tr) * u_tr * (pre / u_pre + dec / u_dec)

    def dollars(n, d):
        return _out(c_tr / u_tr * FLOPS_PER_PARAM_TOKEN * n * d
                    + c_in * FORWARD_FLOPS_PER_PARAM * n * (pre / u_pre + dec / u_dec))

    d = np.asarray(train_tokens(law, loss, weighted))
    n = (law.A / (np.asarray(loss, dtype=float) - law.E - law.B * d**-law.beta)) ** (1 / law.alpha)
    ch = _baseline(law, loss, pre + dec)
    cost = {"usd": dollars(n, d), "chinchilla_usd": dollars(ch.n_params, ch.n_tokens),
            "train_usd_per_flop": float(c_tr), "inference_usd_per_flop": float(c_in),
            "train_mfu": float(u_tr), "prefill_mfu": float(u_pre), "decode_mfu": float(u_dec),
            "prefill_tokens": _out(pre), "decode_tokens": _out(dec)}
    cost["cost_ratio"] = _out(np.asarray(cost["usd"]) / cost["chinchilla_usd"])
    return InferenceAwareOptimum(law.id, _out(loss), _out(pre + dec), _out(n), _out(d), ch, cost)


def implied_inference_tokens(law, n_params, n_tokens):
    """The inference demand T for which (N, D) is the lifetime-FLOP optimum at its own loss; None
    (nan in arrays) when D is below the equal-loss Chinchilla D, which no T >= 0 justifies."""
    law = _parametric(law)
    n, d = _positive(n_params, "n_params"), _positive(n_tokens, "n_tokens")
    gap = np.asarray(law.loss(n, d)) - law.E
    c2 = (gap - law.B * (1 + law.beta / law.alpha) * d**-law.beta) * d ** (law.beta + 1)
    t = np.where(c2 >= 0, 3 * law.alpha * c2 / (law.beta * law.B), np.nan)
    if t.ndim == 0:
        return None if np.isnan(t) else float(t)
    return t
