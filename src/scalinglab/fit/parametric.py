"""Chinchilla Approach 3: fit L(N, D) = E + A/N^alpha + B/D^beta to runs (REFERENCES.md §2).

As replicated by Besiroglu et al. 2024 (arXiv:2404.10102): the model in log space,
    log L_hat = logsumexp(a - alpha log N, b - beta log D, e),  A = e^a, B = e^b, E = e^e,
the objective sum_i Huber_delta(log L_hat_i - log L_i) with delta = 1e-3, minimised from a grid of
4,500 starts. Here every start is solved at once, as an (S, 5) array of parameters with analytic
gradients and Hessians: damped Gauss-Newton steps on the IRLS majoriser in float32 first, damped
Newton steps in float64 near a minimum (see `solve`). The data are centred
(a' = a - alpha mean(log N)) so that the 5x5 systems are well conditioned.
"""

from dataclasses import dataclass, field

import numpy as np

from scalinglab.errors import InputError
from scalinglab.fit.io import Runs, load_runs
from scalinglab.laws.parametric import ParametricLaw
from scalinglab.results import Result, hidden

DELTA = 1e-3
NAMES = ("a", "b", "e", "alpha", "beta")  # log A, log B, log E, alpha, beta
# Box bounds (log E, alpha, beta); a and b are free. The optimum must lie inside them.
BOUNDS = {"e": (-10.0, 5.0), "alpha": (0.0, 5.0), "beta": (0.0, 5.0)}
_INF = np.inf


def start_grid() -> np.ndarray:
    """Epoch AI's grid: alpha, beta in {0, .5, .., 2}; e in {-1, -.5, .., 1}; a, b in {0, 5, .., 25}.

    Returns (4500, 5) rows of (a, b, e, alpha, beta).
    """
    ab = np.arange(0.0, 30.0, 5.0)
    e = np.arange(-1.0, 1.5, 0.5)
    ex = np.arange(0.0, 2.5, 0.5)
    g = np.meshgrid(ab, ab, e, ex, ex, indexing="ij")
    return np.stack([x.ravel() for x in g], axis=1)


def pick_starts(n: int | None) -> np.ndarray:
    """The full grid (n None or >= 4500), or n starts spread evenly through it."""
    grid = start_grid()
    if n is None or n >= len(grid):
        return grid
    if n < 1:
        raise InputError(f"--starts must be at least 1, got {n}")
    return grid[np.unique(np.linspace(0, len(grid) - 1, n).round().astype(int))]


# --- the objective, its gradient and Hessian, for S parameter vectors at once -----------------

@dataclass(frozen=True)
class _Data:
    xc: np.ndarray  # log N - mean
    yc: np.ndarray  # log D - mean
    ell: np.ndarray  # log loss
    x0: float
    y0: float
    mx: np.ndarray = field(repr=False)  # [1, xc, xc^2]
    my: np.ndarray = field(repr=False)
    mxy: np.ndarray = field(repr=False)  # [1, xc, yc, xc yc]

    @classmethod
    def of(cls, runs: Runs) -> "_Data":
        x, y = np.log(runs.n_params), np.log(runs.n_tokens)
        xc, yc = x - x.mean(), y - y.mean()
        one = np.ones_like(xc)
        return cls(xc, yc, np.log(runs.loss), float(x.mean()), float(y.mean()),
                   np.stack([one, xc, xc * xc], 1), np.stack([one, yc, yc * yc], 1),
                   np.stack([one, xc, yc, xc * yc], 1))

    def cast(self, dtype) -> "_Data":
        """The same data in another float type (float32 for the cheap early iterations)."""
        return _Data(*(getattr(self, k).astype(dtype) if isinstance(getattr(self, k), np.ndarray)
                       else getattr(self, k) for k in self.__dataclass_fields__))

    def centre(self, theta: np.ndarray) -> np.ndarray:
        t = np.array(theta, dtype=float)
        t[:, 0] -= t[:, 3] * self.x0
        t[:, 1] -= t[:, 4] * self.y0
        return t

    def uncentre(self, theta: np.ndarray) -> np.ndarray:
        t = np.array(theta, dtype=float)
        t[:, 0] += t[:, 3] * self.x0
        t[:, 1] += t[:, 4] * self.y0
        return t


def _residuals(th, data: _Data):
    """Log residuals r (S, P) and the softmax weights of the three terms.

    The logsumexp shift m is one number per start, its largest term over all points, found
    without building the terms (a' - alpha xc is largest at an end of the range of xc). Within a
    start the terms span at most |alpha| * range(log N) nats, so nothing under- or overflows, and
    the constant term costs one exp per start instead of one per point.
    """
    a, b, e, al, be = (th[:, k:k + 1] for k in range(5))
    x_end = np.where(al >= 0, data.xc.min(), data.xc.max())
    y_end = np.where(be >= 0, data.yc.min(), data.yc.max())
    m = np.maximum(np.maximum(a - al * x_end, b - be * y_end), e)
    e1 = np.exp((a - m) - al * data.xc)
    e2 = np.exp((b - m) - be * data.yc)
    e3 = np.exp(e - m)
    s = e1 + e2 + e3
    r = np.log(s) + (m - data.ell)
    inv = 1.0 / s
    return r, e1 * inv, e2 * inv, e3 * inv


# Starts per block. (128, P) temporaries stay in cache and below glibc's mmap threshold (128 kB);
# bigger ones are mapped and page-faulted afresh for every numpy op (measured ~2-5x slower).
BLOCK = 128


def evaluate(th, data: _Data, delta=DELTA, weights=None, derivatives=True, want="HM"):
    """Objective (S,); with derivatives also the gradient (S, 5), and as `want` says the Hessian
    "H" (S, 5, 5) and the Gauss-Newton matrix "M" of the reweighted (IRLS) problem (S, 5, 5),
    in centred coordinates (None for a matrix not wanted).

    Works through the starts in blocks of BLOCK rows (cache-sized arrays), then stacks them.
    """
    parts = [_evaluate(th[i:i + BLOCK], data, delta,
                       None if weights is None else weights[i:i + BLOCK], derivatives, want)
             for i in range(0, len(th), BLOCK)]
    if not derivatives:
        return np.concatenate(parts)
    return tuple(None if x[0] is None else np.concatenate(x) for x in zip(*parts))


def _evaluate(th, data: _Data, delta, weights, derivatives, want):
    r, w1, w2, w3 = _residuals(th, data)
    hp = np.clip(r, -delta, delta)  # Huber'(r)
    h = hp * (r - 0.5 * hp)  # Huber(r): r^2/2 inside delta, delta (|r| - delta/2) outside
    if weights is not None:
        h, hp = h * weights, hp * weights
    f = h.sum(1)
    if not derivatives:
        return f
    g1, g2 = (hp * w1) @ data.mx[:, :2], (hp * w2) @ data.my[:, :2]
    g = np.stack([g1[:, 0], g2[:, 0], (hp * w3).sum(1), -g1[:, 1], -g2[:, 1]], 1)
    # per point, in t = (t1, t2, t3) space: Hessian (h'' - h') w w^T + h' diag(w) (as d2r/dt2 =
    # diag(w) - w w^T), and Gauss-Newton h'/r w w^T; both map to theta through dt/dtheta.
    H = M = None
    if "H" in want:
        h2 = (np.abs(r) <= delta).astype(r.dtype)  # Huber''(r)
        q = (h2 if weights is None else h2 * weights) - hp
        H = _assemble(q * w1, q * w2, q * w3, w1, w2, w3, hp, data)
    if "M" in want:
        om = delta / np.maximum(np.abs(r), delta)  # IRLS weight h'(r)/r: 1 inside delta
        if weights is not None:
            om *= weights
        M = _assemble(om * w1, om * w2, om * w3, w1, w2, w3, None, data)
    return f, g, H, M


def _assemble(qw1, qw2, qw3, w1, w2, w3, diag, data: _Data):
    """sum_i dt/dtheta^T (q w w^T + diag(diag * w)) dt/dtheta, with q w_k given, for S rows
    (diag None: no diagonal part)."""
    d1, d2, d3 = (qw1, qw2, qw3) if diag is None else (qw1 + diag, qw2 + diag, qw3 + diag)
    s11 = (w1 * d1) @ data.mx
    s22 = (w2 * d2) @ data.my
    s12 = (qw1 * w2) @ data.mxy
    s13 = (qw1 * w3) @ data.mx[:, :2]
    s23 = (qw2 * w3) @ data.my[:, :2]
    s33 = (w3 * d3).sum(1)
    H = np.empty((len(w1), 5, 5))
    upper = {(0, 0): s11[:, 0], (0, 1): s12[:, 0], (0, 2): s13[:, 0], (0, 3): -s11[:, 1],
             (0, 4): -s12[:, 2], (1, 1): s22[:, 0], (1, 2): s23[:, 0], (1, 3): -s12[:, 1],
             (1, 4): -s22[:, 1], (2, 2): s33, (2, 3): -s13[:, 1], (2, 4): -s23[:, 1],
             (3, 3): s11[:, 2], (3, 4): s12[:, 3], (4, 4): s22[:, 2]}
    for (i, j), v in upper.items():
        H[:, i, j] = H[:, j, i] = v
    return H


# --- the batched solver ----------------------------------------------------------------------

def _bounds():
    """(lo, hi) for (a', b', e, alpha, beta): box on e, alpha, beta; a' and b' free."""
    lo = np.array([-_INF, -_INF, BOUNDS["e"][0], BOUNDS["alpha"][0], BOUNDS["beta"][0]])
    hi = np.array([_INF, _INF, BOUNDS["e"][1], BOUNDS["alpha"][1], BOUNDS["beta"][1]])
    return lo, hi


def _newton_step(H, g, mu):
    """-(|H| + mu lambda_max I)^-1 g, |H| the Hessian with its eigenvalues made positive."""
    lam, V = np.linalg.eigh(H)
    lam = np.abs(lam)
    top = lam.max(1, keepdims=True)
    lam = np.maximum(lam, 1e-12 * top + 1e-300) + mu[:, None] * top
    return -np.einsum("sij,sj->si", V, np.einsum("sji,sj->si", V, g) / lam)


def _gn_step(M, g, mu):
    """-(M + mu tr(M)/5 I)^-1 g: a damped Gauss-Newton step on the IRLS majoriser."""
    scale = np.trace(M, axis1=1, axis2=2) / 5 + 1e-300
    A = M + (mu * scale)[:, None, None] * np.eye(5)
    return -np.linalg.solve(A, g[..., None])[..., 0]


STATUS = ("running", "gradient", "flat", "stalled", "max_iter")


@dataclass(frozen=True)
class Solution:
    """Where each start ended: theta (S, 5, centred), objective (S,), status (S,) as an index
    into STATUS, and the iterations each start took."""

    theta: np.ndarray
    objective: np.ndarray
    status: np.ndarray
    n_iter: np.ndarray

    def counts(self) -> dict:
        return {name: int(np.sum(self.status == i)) for i, name in enumerate(STATUS) if i}


def solve(theta0, data: _Data, delta=DELTA, weights=None, max_iter=200, gtol=1e-10, ftol=1e-12,
          switch=1e-4, mu0=1e-8, max_step=4.0, progress=None) -> Solution:
    """Minimise the objective from every row of theta0 (S, 5, centred) together.

    Far from a minimum each start takes damped Gauss-Newton steps on the IRLS majoriser of the
    Huber loss (which crosses many kinks of the nearly-L1 objective at once), in float32 (about
    3x cheaper). Once its relative progress per step falls below `switch`, or float32 can take
    it no further, it moves to float64 and damped Newton steps on the exact Hessian (quadratic
    convergence). A step is kept only if it lowers that start's objective (Levenberg-Marquardt,
    Nielsen's damping update). In float64 a start stops when its projected gradient is below
    gtol ("gradient"), a kept step lowers its objective by a relative ftol or less ("flat"), or
    no step can lower it ("stalled"); otherwise after max_iter iterations ("max_iter").
    """
    lo, hi = _bounds()
    th = np.clip(np.array(theta0, dtype=float), lo, hi)
    S = len(th)
    d32 = data.cast(np.float32)
    w32 = None if weights is None else weights.astype(np.float32)

    def ev(rows, idx, precise):
        """f, g, H, M at rows (starts idx): float64 where precise, float32 elsewhere."""
        out = [np.empty(len(rows)), np.empty((len(rows), 5)), np.full((len(rows), 5, 5), np.nan),
               np.full((len(rows), 5, 5), np.nan)]
        for mask, d, w, want in ((precise, data, weights, "H"), (~precise, d32, w32, "M")):
            if mask.any():
                res = evaluate(rows[mask].astype(d.xc.dtype), d, delta,
                               None if w is None else w[idx[mask]], want=want)
                for o, r in zip(out, res):
                    if r is not None:
                        o[mask] = r
        return out

    newton = np.zeros(S, bool)
    f, g, H, M = ev(th, np.arange(S), newton)
    mu, nu = np.full(S, mu0), np.full(S, 2.0)
    status = np.zeros(S, np.int8)
    n_iter = np.zeros(S, int)
    for it in range(1, max_iter + 1):
        idx = np.flatnonzero(status == 0)
        if idx.size == 0:
            break
        n_iter[idx] = it
        nw = newton[idx]
        p = np.empty((idx.size, 5))
        if nw.any():
            p[nw] = _newton_step(H[idx[nw]], g[idx[nw]], mu[idx[nw]])
        if (~nw).any():
            p[~nw] = _gn_step(M[idx[~nw]], g[idx[~nw]], mu[idx[~nw]])
        p *= np.minimum(1.0, max_step / np.maximum(np.abs(p).max(1), 1e-300))[:, None]
        trial = np.clip(th[idx] + p, lo, hi)
        p = trial - th[idx]
        model = np.where(nw[:, None, None], H[idx], M[idx])
        predicted = -(np.einsum("si,si->s", g[idx], p)
                      + 0.5 * np.einsum("si,sij,sj->s", p, model, p))
        ft, gt, Ht, Mt = ev(trial, idx, nw)
        ok = ft < f[idx]
        acc = idx[ok]
        gain = (f[acc] - ft[ok]) / np.maximum(ft[ok], 1e-300)
        # Nielsen's damping update from the gain ratio rho = actual / predicted decrease
        rho = (f[acc] - ft[ok]) / np.maximum(predicted[ok], 1e-300)
        mu[acc] = np.maximum(mu[acc] * np.maximum(1 / 3, 1 - (2 * np.minimum(rho, 1) - 1) ** 3), 1e-15)
        nu[acc] = 2.0
        rej = idx[~ok]
        mu[rej] *= nu[rej]
        nu[rej] *= 2.0
        th[acc], f[acc], g[acc], H[acc], M[acc] = trial[ok], ft[ok], gt[ok], Ht[ok], Mt[ok]
        flat = np.zeros(idx.size, bool)
        flat[ok] = gain <= ftol
        slow = np.zeros(idx.size, bool)
        slow[ok] = gain < switch
        small = np.abs(_projected(th[idx], g[idx], lo, hi)).max(1) <= gtol
        stop = small | flat | (mu[idx] > 1e12)
        status[idx[nw]] = np.select([small[nw], flat[nw], stop[nw]], [1, 2, 3], 0)
        # float32 starts that stopped, or slowed down where the Hessian is positive definite
        # (near a minimum, not crawling over a plateau), go on in float64 with Newton steps
        cand = np.flatnonzero(~nw & slow & ~stop)
        if cand.size:
            Hc = evaluate(th[idx[cand]].astype(np.float32), d32, delta,
                          None if w32 is None else w32[idx[cand]], want="H")[2]
            lam = np.linalg.eigvalsh(Hc.astype(float))
            slow[cand] = lam[:, 0] > 1e-6 * lam[:, -1]
        up = idx[~nw & ((slow & ok) | stop)]
        if up.size:
            newton[up] = True
            mu[up], nu[up] = mu0, 2.0
            f[up], g[up], H[up], M[up] = ev(th[up], up, np.ones(up.size, bool))
        if progress is not None:
            progress(int(np.sum(status > 0)), S)
    status[status == 0] = 4
    return Solution(th, f, status, n_iter)


def _projected(th, g, lo, hi):
    pg = g.copy()
    pg[(th <= lo) & (g > 0)] = 0.0
    pg[(th >= hi) & (g < 0)] = 0.0
    return pg


# --- the result ------------------------------------------------------------------------------

PARAMS = ("E", "A", "B", "alpha", "beta")


@dataclass(frozen=True)
class ParametricFit(Result):
    """An Approach 3 fit: parameters, objective, how the starts ended, and `.law`."""

    E: float = hidden()
    A: float = hidden()
    B: float = hidden()
    alpha: float = hidden()
    beta: float = hidden()
    objective: float
    n_points: int
    n_starts: int
    n_at_best: int  # starts whose objective is within a relative 1e-6 of the best
    status: dict  # how many starts ended how (see STATUS)
    delta: float
    at_bound: tuple
    source: str = hidden()
    se: dict  # standard errors: Huber M-estimator sandwich at the optimum

    _derived = ("params", "a", "b", "G", "law")

    @property
    def params(self) -> dict:
        return {k: getattr(self, k) for k in PARAMS}

    @property
    def theta(self) -> np.ndarray:
        return _theta(self)

    @property
    def law(self) -> ParametricLaw:
        return ParametricLaw("fit", self.E, self.A, self.B, self.alpha, self.beta,
                             source=f"Approach 3 fit to {self.n_points} runs ({self.source}); "
                                    f"Huber delta {self.delta:g} on log loss, {self.n_starts} starts")

    @property
    def a(self) -> float:
        return self.law.a

    @property
    def b(self) -> float:
        return self.law.b

    @property
    def G(self) -> float:
        return self.law.G

    def sandwich_intervals(self, level: float = 0.95) -> dict:
        """Normal intervals from the sandwich SEs; E, A, B on a log scale so they stay positive."""
        from statistics import NormalDist

        z = NormalDist().inv_cdf(0.5 + level / 2)
        ci = {"method": "sandwich standard errors (normal, log scale for E, A, B)", "level": level}
        for k in PARAMS:
            v, s = getattr(self, k), self.se[k]
            ci[k] = ([v * np.exp(-z * s / v), v * np.exp(z * s / v)] if k in "EAB"
                     else [v - z * s, v + z * s])
        return ci


def sandwich_se(theta, runs: Runs, delta=DELTA) -> dict:
    """Standard errors of E, A, B, alpha, beta: H^-1 (sum_i psi_i psi_i^T) H^-1, the Huber
    M-estimator's sandwich at theta = (log A, log B, log E, alpha, beta); delta method for E, A, B."""
    data = _Data.of(runs)
    th = data.centre(np.atleast_2d(theta))
    _, _, H, _ = evaluate(th, data, delta)
    r, w1, w2, w3 = _residuals(th, data)
    J = np.stack([w1[0], w2[0], w3[0], -w1[0] * data.xc, -w2[0] * data.yc], 1)  # dr/dtheta
    psi = np.clip(r[0], -delta, delta)[:, None] * J
    T = np.eye(5)  # d theta / d centred: a = a' + alpha x0, b = b' + beta y0
    T[0, 3], T[1, 4] = data.x0, data.y0
    with np.errstate(all="ignore"):
        Hi = np.linalg.pinv(H[0])
        cov = T @ Hi @ (psi.T @ psi) @ Hi.T @ T.T
        sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    A, B, E = np.exp(theta[:3])
    return {"E": float(E * sd[2]), "A": float(A * sd[0]), "B": float(B * sd[1]),
            "alpha": float(sd[3]), "beta": float(sd[4])}


def fit_parametric(data, starts: int | None = None, delta: float = DELTA, names: dict | None = None,
                   max_iter: int = 200) -> ParametricFit:
    """Fit E + A/N^alpha + B/D^beta to runs (a CSV path, DataFrame, dict of columns or Runs) from
    Epoch AI's 4,500-start grid (or `starts` points spread through it); see the module docstring."""
    runs = load_runs(data, names)
    if not delta > 0:
        raise InputError(f"Huber delta must be positive, got {delta}")
    if len(np.unique(runs.n_params)) < 2 or len(np.unique(runs.n_tokens)) < 2:
        raise InputError(f"the runs in {runs.source} need at least 2 different N and 2 different D "
                         "to fit how loss falls with each")
    d = _Data.of(runs)
    sol = solve(d.centre(pick_starts(starts)), d, delta, max_iter=max_iter)
    f = sol.objective
    best = int(np.argmin(f))
    theta = d.uncentre(sol.theta[best:best + 1])[0]
    lo, hi = _bounds()
    edge = tuple(NAMES[i] for i in range(5)
                 if sol.theta[best, i] <= lo[i] or sol.theta[best, i] >= hi[i])
    if not theta[3] + theta[4] > 0:
        raise InputError(f"the best fit to {runs.source} has alpha = beta = 0: loss does not fall "
                         "with N or D in these runs, so there is no law to fit")
    A, B, E = np.exp(theta[:3])
    return ParametricFit(float(E), float(A), float(B), float(theta[3]), float(theta[4]),
                         float(f[best]), len(runs), len(f), int(np.sum(f <= f[best] * (1 + 1e-6))),
                         sol.counts(), delta, edge, runs.source, sandwich_se(theta, runs, delta))


def objective(law, data, delta: float = DELTA) -> float:
    """The Approach 3 objective of a law (anything with E, A, B, alpha, beta) on runs."""
    d = _Data.of(load_runs(data))
    return float(evaluate(d.centre(_theta(law)[None]), d, delta, derivatives=False)[0])


def _theta(law) -> np.ndarray:
    """(log A, log B, log E, alpha, beta) of anything with E, A, B, alpha, beta."""
    return np.array([np.log(law.A), np.log(law.B), np.log(law.E), law.alpha, law.beta])
