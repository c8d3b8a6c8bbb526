"""Plan a ladder: for each compute budget, model shapes around a law's optimum, and the
hyperparameters of every run from published rules, all of it editable in a TOML file.

Per budget C (FLOP, counted by architecture/flops.py under `flops_convention`):
- centre: the chosen law's compute-optimal N at C; `sizes` target sizes log-spaced over a factor
  `span` around it (span 7.75 = sqrt(300/5): about 5 to 300 tokens per parameter);
- shape: for each target, among the transformers (d_model a multiple of head_dim, d_model /
  n_layers within a factor 4 of `aspect`) whose exact N is within 15% of it, the one with d/L
  nearest `aspect` (the nearest N when none is that close);
- tokens: D = C / (FLOP per token), a whole number of steps of batch_size x seq_len tokens.
The rules for batch, learning rate, warmup, schedule and AdamW are in RULES, each with its source.
The TOML holds the budgets, the rules and one [[rung]] per shape; loading it resolves every rung
(N, FLOP/token, steps, lr...) from those, so editing a rule or a shape changes the runs, and the
ladder's hash.
"""

import hashlib
import json
import math
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

import numpy as np

from scalinglab.architecture import TransformerSpec, count_params
from scalinglab.architecture.flops import CONVENTIONS, FORMULAS, flops_per_token
from scalinglab.errors import InputError, unknown
from scalinglab.lab.data import STDLIB, VOCAB, check_size, load_corpus
from scalinglab.laws import DEFAULT_LAW, get_law
from scalinglab.results import Result, to_json
from scalinglab.units import format_count, format_sci
from scalinglab.validate import positive, whole

SCHEDULES = ("cosine", "wsd")
POSITIONS = ("rotary", "none")
DEFAULT_BUDGETS = (5e11, 1e12, 2e12, 4e12)


@dataclass(frozen=True)
class Rules(Result):
    """How a ladder turns budgets into runs. Every field is a key of the TOML's [rules]."""

    law: str = DEFAULT_LAW
    sizes: int = 5
    span: float = 7.75
    head_dim: int = 16
    aspect: float = 64.0
    seq_len: int = 128
    positions: str = "rotary"
    flops_convention: str = "palm"
    anchor_params: float = 1e5
    batch_anchor_tokens: float = 2048.0
    batch_exponent: float = 2 / 3
    lr_anchor: float = 8e-3
    lr_exponent: float = -1 / 3
    warmup_tokens_per_param: float = 1.0
    schedule: str = "cosine"
    final_lr_fraction: float = 0.1
    decay_fraction: float = 0.2
    beta1: float = 0.9
    beta2: float = 0.99
    eps: float = 1e-8
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    micro_batch_tokens: int = 8192
    eval_tokens: int = 131072
    min_steps: int = 20
    checkpoint_seconds: float = 30.0

    def __post_init__(self):
        if self.schedule not in SCHEDULES:
            raise unknown("schedule", self.schedule, SCHEDULES)
        if self.positions not in POSITIONS:
            raise unknown("positions", self.positions, POSITIONS)
        if self.flops_convention not in CONVENTIONS:
            raise unknown("FLOP convention", self.flops_convention, CONVENTIONS)
        get_law(self.law)
        whole(self.micro_batch_tokens, "rules.micro_batch_tokens", 0)
        for f in ("sizes", "head_dim", "seq_len", "eval_tokens", "min_steps"):
            whole(getattr(self, f), f"rules.{f}")
        for f in ("span", "aspect", "anchor_params", "batch_anchor_tokens", "lr_anchor",
                  "warmup_tokens_per_param", "eps"):
            positive(getattr(self, f), f"rules.{f}")
        for f in ("final_lr_fraction", "decay_fraction", "beta1", "beta2"):
            if not 0 <= getattr(self, f) < 1:
                raise InputError(f"rules.{f} must be in [0, 1), got {getattr(self, f)!r}")
        if self.head_dim % 2 and self.positions == "rotary":
            raise InputError(f"rules.head_dim {self.head_dim} must be even for rotary positions")
        if self.weight_decay < 0 or self.grad_clip < 0 or self.checkpoint_seconds < 0:
            raise InputError("rules.weight_decay, grad_clip and checkpoint_seconds must be >= 0")


# Where each rule comes from; plan prints these and writes them into the TOML as comments.
RULES = {
    "law": "the law whose compute-optimal N centres each budget (laws/; a fit.json works too)",
    "sizes": "shapes per budget; an isoFLOP parabola needs 3, Chinchilla Approach 2 used ~9",
    "span": "N_max / N_min per budget: sqrt(300 / 5), about 5 to 300 tokens per parameter",
    "head_dim": "d_model is a multiple of it; n_heads = d_model / head_dim",
    "aspect": "d_model / n_layers: as near it as the sizes allow (within 4x); 64 is GPT-2 "
              "small's and GPT-3 125M's 768 / 12 (Radford et al. 2019; Brown et al. 2020, "
              "Table 2.1), and loss is flat within a few percent over a wide range of shapes "
              "at fixed N (Kaplan et al. 2020, Sec. 3.1, Fig. 5); wide and shallow also runs "
              "faster on a CPU",
    "seq_len": "bytes per sequence",
    "positions": "rotary (Su et al. 2021) or none: either way no position table in N",
    "flops_convention": "FLOP per token from architecture/flops.py; palm = 6N + 12 L H Q T "
                        "(PaLM App. B, as nanoGPT's MFU): 6ND plus attention, N with the head",
    "anchor_params": "the N at which the batch and learning-rate anchors hold",
    "batch_anchor_tokens": "tokens per step at anchor_params",
    "batch_exponent": "batch ~ N^(2/3) (Porian et al. 2024, arXiv:2406.19146, Sec. 4: tuned "
                      "batch grows with N; the exponent rounded)",
    "lr_anchor": "peak AdamW learning rate at anchor_params (tuned on this corpus)",
    "lr_exponent": "lr ~ N^(-1/3) (Porian et al. 2024, Sec. 4: tuned lr falls with N)",
    "warmup_tokens_per_param": "linear warmup over about N tokens, not a fixed step count "
                               "(Porian et al. 2024: a long fixed warmup biased Kaplan's fits)",
    "schedule": "cosine to final_lr_fraction over each run's own length (Hoffmann et al. 2022, "
                "Sec. 3.1: the cycle matched to the run), or wsd: warmup-stable-decay (Hu et al. "
                "2024, MiniCPM) with the last decay_fraction decaying",
    "final_lr_fraction": "the schedule ends at this fraction of the peak (Chinchilla: 10x decay)",
    "decay_fraction": "wsd only: the share of steps in the final decay",
    "beta1": "AdamW beta1",
    "beta2": "AdamW beta2 0.99: better than 0.95 at small batch (Porian et al. 2024, Sec. 4)",
    "eps": "AdamW epsilon",
    "weight_decay": "AdamW decoupled weight decay on matrices (OLMo's ladder uses 0.1)",
    "grad_clip": "global gradient-norm clip (0: none)",
    "micro_batch_tokens": "tokens per forward/backward pass; a batch above it accumulates "
                          "gradients over micro-batches (0: the whole batch at once). On CPU "
                          "8192 keeps each matmul's operands in cache",
    "eval_tokens": "held-out tokens scored at the end of every run (fixed windows)",
    "min_steps": "a rung with fewer optimizer steps is refused: the budget is too small",
    "checkpoint_seconds": "seconds of training between checkpoints (a killed run resumes there)",
}


@dataclass(frozen=True)
class Rung(Result):
    """One training run, fully resolved: what train_rung needs and nothing else."""

    id: str
    budget: float
    d_model: int
    n_layers: int
    n_heads: int
    seq_len: int
    positions: str
    batch_size: int  # sequences per step
    micro_batch: int  # sequences per forward/backward pass (gradients accumulated)
    steps: int
    lr: float
    warmup_steps: int
    schedule: str
    final_lr_fraction: float
    decay_fraction: float
    beta1: float
    beta2: float
    eps: float
    weight_decay: float
    grad_clip: float
    eval_tokens: int
    seed: int
    corpus: str
    corpus_sha256: str
    flops_convention: str
    n_params: int
    flops_per_token: float
    checkpoint_seconds: float = 30.0

    _derived = ("batch_tokens", "n_tokens", "flops", "tokens_per_param")

    @property
    def batch_tokens(self) -> int:
        return self.batch_size * self.seq_len

    @property
    def n_tokens(self) -> int:
        return self.steps * self.batch_tokens

    @property
    def flops(self) -> float:
        return self.flops_per_token * self.n_tokens

    @property
    def tokens_per_param(self) -> float:
        return self.n_tokens / self.n_params

    @property
    def spec(self) -> TransformerSpec:
        return model_spec(self.d_model, self.n_layers, self.n_heads, self.positions, self.id)

    @property
    def key(self) -> str:
        """SHA-256 of everything that changes the result (not the checkpoint interval)."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "checkpoint_seconds"}
        return hashlib.sha256(to_json(d, None).encode()).hexdigest()

    def lr_at(self, step):
        """Learning rate at step(s): linear warmup, then cosine or warmup-stable-decay down to
        final_lr_fraction x lr at the last step."""
        s = np.asarray(step, dtype=float)
        w, n, lo = self.warmup_steps, self.steps, self.final_lr_fraction
        warm = (s + 1) / max(w, 1)
        if self.schedule == "cosine":
            t = np.clip((s - w) / max(n - 1 - w, 1), 0, 1)
            after = lo + (1 - lo) * 0.5 * (1 + np.cos(np.pi * t))
        else:
            start = max(w, int(round(n * (1 - self.decay_fraction))))
            t = np.clip((s - start) / max(n - 1 - start, 1), 0, 1)
            after = 1 - (1 - lo) * t
        out = self.lr * np.where(s < w, warm, after)
        return float(out) if out.ndim == 0 else out

    @classmethod
    def from_dict(cls, d: dict) -> "Rung":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def model_spec(d_model: int, n_layers: int, n_heads: int, positions: str = "rotary",
               name: str = "lab") -> TransformerSpec:
    """The lab's transformer as a TransformerSpec (see model.py): byte vocabulary, tied head,
    4d GELU MLP, LayerNorm, no biases."""
    return TransformerSpec(d_model=d_model, n_layers=n_layers, n_heads=n_heads, vocab_size=VOCAB,
                           d_ff=4 * d_model, gated_mlp=False, tied_embeddings=True,
                           positions=positions, norm="layernorm", name=name,
                           source="scalinglab lab model.py")


ASPECT_BAND = 4  # allowed d_model / n_layers: within this factor of the aspect ratio


@lru_cache(maxsize=8)
def _candidates(head_dim: int, aspect: float, positions: str) -> tuple:
    """(N, d_model, n_layers) of every shape the width/depth rule allows (d_model up to 128
    heads), sorted by N. N is affine in n_layers, so two exact counts per width give them all."""
    out = []
    for d in range(head_dim, 128 * head_dim + 1, head_dim):
        one, two = (count_params(model_spec(d, L, d // head_dim, positions)).total for L in (1, 2))
        for L in range(max(1, math.ceil(d / (ASPECT_BAND * aspect))),
                       max(1, math.floor(ASPECT_BAND * d / aspect)) + 1):
            out.append((one + (L - 1) * (two - one), d, L))
    return tuple(sorted(out))


SHAPE_TOLERANCE = 0.15  # |log N / N_target| within which the aspect ratio decides


def shape_for(n_target: float, rules: Rules) -> tuple[int, int, int]:
    """(d_model, n_layers, n_heads): among the allowed shapes within 15% of n_target (log), the
    one whose d/L is nearest the aspect ratio; if none is that close, the nearest in N."""
    c = np.array(_candidates(rules.head_dim, rules.aspect, rules.positions), dtype=float)
    dist = np.abs(np.log(c[:, 0] / n_target))
    tie = np.abs(np.log(c[:, 1] / c[:, 2] / rules.aspect))
    near = dist <= SHAPE_TOLERANCE
    i = np.flatnonzero(near)[np.argmin(tie[near])] if near.any() else int(np.argmin(dist))
    d, L = int(c[i, 1]), int(c[i, 2])
    return d, L, d // rules.head_dim


def rung_id(budget: float, d: int, L: int) -> str:
    return f"{budget:.3g}".replace("+", "") + f"_d{d}_l{L}"


def resolve(budget: float, d: int, L: int, rules: Rules, seed: int, corpus: str, sha: str,
            overrides: dict | None = None) -> Rung:
    """A rung from its budget and shape: N, FLOP/token, batch, steps, lr and warmup by the rules
    (or as `overrides` give batch_size, lr, warmup_steps)."""
    o = overrides or {}
    if d % rules.head_dim:
        raise InputError(f"rung d_model {d} is not a multiple of rules.head_dim {rules.head_dim}")
    spec = model_spec(d, L, d // rules.head_dim, rules.positions)
    n = count_params(spec).total
    fpt = flops_per_token(spec, rules.flops_convention, rules.seq_len).training
    scale = n / rules.anchor_params
    batch = int(o.get("batch_size") or max(1, round(rules.batch_anchor_tokens
                                                    * scale ** rules.batch_exponent
                                                    / rules.seq_len)))
    tokens = batch * rules.seq_len
    steps = int(round(budget / (fpt * tokens)))
    if steps < rules.min_steps:
        raise InputError(
            f"budget {format_sci(budget)} FLOP is too small to train d_model {d} x {L} layer(s) "
            f"(N = {n:,}): {budget / fpt:,.0f} tokens make {steps} step(s) of {tokens:,} tokens, "
            f"fewer than rules.min_steps = {rules.min_steps}; use a budget of at least "
            f"{format_sci(rules.min_steps * fpt * tokens, 2)} FLOP")
    lr = float(o.get("lr") or rules.lr_anchor * scale ** rules.lr_exponent)
    warmup = int(o.get("warmup_steps") if o.get("warmup_steps") is not None
                 else math.ceil(rules.warmup_tokens_per_param * n / tokens))
    micro = min(batch, max(1, rules.micro_batch_tokens // rules.seq_len)) \
        if rules.micro_batch_tokens else batch
    return Rung(rung_id(budget, d, L), float(budget), d, L, d // rules.head_dim, rules.seq_len,
                rules.positions, batch, micro, steps, lr, min(warmup, steps - 1), rules.schedule,
                rules.final_lr_fraction, rules.decay_fraction, rules.beta1, rules.beta2,
                rules.eps, rules.weight_decay, rules.grad_clip, rules.eval_tokens, seed, corpus,
                sha, rules.flops_convention, n, fpt, rules.checkpoint_seconds)


@dataclass(frozen=True)
class Ladder(Result):
    """Budgets, rules and the resolved rungs; `hash` names it (runs/ records it)."""

    name: str
    budgets: tuple
    seed: int
    corpus: str
    corpus_sha256: str
    rules: Rules
    rungs: tuple
    centres: tuple  # the law's compute-optimal N at each budget
    overrides: tuple = ()  # per rung: the [[rung]] keys given beyond the shape

    _derived = ("hash", "total_flops", "shape_rule", "flops_formula")

    @property
    def hash(self) -> str:
        return hashlib.sha256("".join(r.key for r in self.rungs).encode()).hexdigest()[:16]

    @property
    def total_flops(self) -> float:
        return float(sum(r.flops for r in self.rungs))

    @property
    def shape_rule(self) -> str:
        r = self.rules
        return (f"d_model a multiple of {r.head_dim} (heads of {r.head_dim}), d_model / n_layers "
                f"within [{r.aspect / ASPECT_BAND:g}, {ASPECT_BAND * r.aspect:g}]; per target N, "
                f"of the shapes within "
                f"{SHAPE_TOLERANCE:.0%} of it the one with d/L nearest {r.aspect:g} (else the "
                "nearest N)")

    @property
    def flops_formula(self) -> str:
        return FORMULAS[self.rules.flops_convention]

    def rung(self, rid: str) -> Rung:
        for r in self.rungs:
            if r.id == rid:
                return r
        raise unknown("rung", rid, [r.id for r in self.rungs])


def parse_rules(items) -> dict:
    """{'seq_len': 256} from ['seq_len=256']: each value typed as the rule's default is."""
    kinds = {f.name: type(f.default) for f in fields(Rules)}
    out = {}
    for item in items:
        key, sep, text = str(item).partition("=")
        key = key.strip()
        if not sep:
            raise InputError(f"--set {item!r}: write KEY=VALUE, e.g. --set seq_len=256")
        if key not in kinds:
            raise unknown("rule", key, kinds)
        kind = kinds[key]
        try:
            out[key] = text.strip() if kind is str else kind(float(text)) if kind is int \
                else kind(text)
        except ValueError:
            raise InputError(f"--set {key}={text!r}: not a {kind.__name__}") from None
    return out


def plan(budgets=DEFAULT_BUDGETS, corpus: str = STDLIB, seed: int = 0, name: str = "ladder",
         **rules) -> Ladder:
    """A ladder for `budgets` (FLOP): shapes around the law's optimum, rules as given."""
    unknown_keys = set(rules) - {f.name for f in fields(Rules)}
    if unknown_keys:
        raise unknown("rule", sorted(unknown_keys)[0], [f.name for f in fields(Rules)])
    r = Rules(**rules)
    b = tuple(sorted(float(x) for x in np.atleast_1d(positive(budgets, "budget"))))
    if len(set(b)) < len(b):
        raise InputError(f"budgets repeat a value: {', '.join(format_sci(x) for x in b)}")
    c = load_corpus(corpus)
    check_size(c, r.seq_len)
    law = get_law(r.law)
    shapes = []
    for budget in b:
        centre = float(law.optimal(budget).n_params)
        targets = centre * r.span ** np.linspace(-0.5, 0.5, r.sizes)
        seen = list(dict.fromkeys(shape_for(t, r)[:2] for t in targets))
        if len(seen) < min(3, r.sizes):
            raise InputError(f"budget {format_sci(budget)} FLOP gives only {len(seen)} distinct "
                             f"shape(s) around N = {format_count(centre)}: too small to train a "
                             "ladder (raise the budget or lower rules.head_dim)")
        shapes += [(budget, d, L, {}) for d, L in seen]
    return _build(name, b, seed, corpus, c.sha256, r, shapes)


def _build(name, budgets, seed, corpus, sha, rules, shapes) -> Ladder:
    law = get_law(rules.law)
    rungs = tuple(resolve(budget, d, L, rules, seed, corpus, sha, o) for budget, d, L, o in shapes)
    ids = [x.id for x in rungs]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise InputError(f"ladder repeats rung {dup[0]} (same budget and shape twice)")
    return Ladder(name, tuple(budgets), seed, corpus, sha, rules, rungs,
                  tuple(float(law.optimal(x).n_params) for x in budgets),
                  tuple(dict(o) for *_, o in shapes))


# --- the TOML file ---------------------------------------------------------------------------

LADDER_KEYS = ("name", "budgets", "seed", "corpus", "corpus_sha256")
RUNG_KEYS = ("budget", "d_model", "n_layers", "batch_size", "lr", "warmup_steps")


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, float):
        return repr(v) if v == v and abs(v) != math.inf else "nan"
    return str(v)


def to_toml(ladder: Ladder) -> str:
    """The ladder as TOML: [ladder], [rules] (each with its source as a comment), [[rung]]."""
    lines = ["# scalinglab lab ladder: `scalinglab lab run THIS.toml -o runs/` trains it.",
             "# Edit a rule or a rung and the runs change with it (and the ladder's hash).",
             f"# shapes: {ladder.shape_rule}",
             f"# FLOP per token: {ladder.flops_formula}", "", "[ladder]"]
    lines += [f"{k} = {_value(getattr(ladder, k))}" for k in LADDER_KEYS]
    lines += ["", "[rules]"]
    for f in fields(Rules):
        lines.append(f"# {RULES[f.name]}")
        lines.append(f"{f.name} = {_value(getattr(ladder.rules, f.name))}")
    for r, o in zip(ladder.rungs, ladder.overrides or [{}] * len(ladder.rungs)):
        lines += ["", "[[rung]]", f"# {r.id}: N = {r.n_params:,}, D = {r.n_tokens:,} tokens "
                  f"({r.tokens_per_param:.1f}/param), {r.steps} steps of {r.batch_tokens:,}, "
                  f"lr {r.lr:.3g}", f"budget = {_value(r.budget)}", f"d_model = {r.d_model}",
                  f"n_layers = {r.n_layers}"]
        lines += [f"{k} = {_value(v)}" for k, v in o.items()]
    return "\n".join(lines) + "\n"


def _check_keys(table: dict, allowed, where: str) -> None:
    for k in table:
        if k not in allowed:
            raise unknown(f"key in {where}", k, allowed)


def from_toml(text: str, source: str = "ladder file") -> Ladder:
    """A ladder from its TOML text; unknown keys, a missing shape or a changed corpus are errors."""
    import tomllib

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{source} is not valid TOML ({e})") from None
    _check_keys(doc, ("ladder", "rules", "rung"), source)
    head, rules_doc, rung_docs = doc.get("ladder", {}), doc.get("rules", {}), doc.get("rung", [])
    _check_keys(head, LADDER_KEYS, f"{source} [ladder]")
    _check_keys(rules_doc, [f.name for f in fields(Rules)], f"{source} [rules]")
    if not isinstance(rung_docs, list) or not rung_docs:
        raise InputError(f"{source} has no [[rung]] entries (write one with `scalinglab lab plan`)")
    try:
        rules = Rules(**rules_doc)
    except TypeError as e:
        raise InputError(f"{source} [rules]: {e}") from None
    shapes = []
    for i, r in enumerate(rung_docs, 1):
        _check_keys(r, RUNG_KEYS, f"{source} [[rung]] #{i}")
        missing = [k for k in ("budget", "d_model", "n_layers") if k not in r]
        if missing:
            raise InputError(f"{source} [[rung]] #{i} lacks {', '.join(missing)}")
        shapes.append((float(positive(r["budget"], "rung budget")),
                       whole(r["d_model"], "rung d_model"), whole(r["n_layers"], "rung n_layers"),
                       {k: r[k] for k in RUNG_KEYS[3:] if k in r}))
    corpus = str(head.get("corpus", STDLIB))
    sha = head.get("corpus_sha256")
    found = load_corpus(corpus)
    check_size(found, rules.seq_len)
    if sha is not None and sha != found.sha256:
        raise InputError(f"{source}: corpus {corpus!r} has changed since the ladder was planned "
                         f"(sha256 {found.sha256[:12]}..., the ladder has {str(sha)[:12]}...); "
                         "plan it again")
    budgets = tuple(sorted({s[0] for s in shapes}))
    given = head.get("budgets")
    if given is not None and sorted(float(x) for x in given) != list(budgets):
        raise InputError(f"{source}: [ladder] budgets {given} differ from the rungs' budgets "
                         f"{[float(x) for x in budgets]}; make them agree")
    return _build(str(head.get("name", Path(source).stem)), budgets, int(head.get("seed", 0)),
                  corpus, found.sha256, rules, shapes)


def load_ladder(path) -> Ladder:
    p = Path(path)
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise InputError(f"ladder file {str(p)!r} does not exist (write one with `scalinglab "
                         "lab plan -o ladder.toml`)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read ladder file {str(p)!r} ({e})") from None
    return from_toml(text, p.name)


def rule_shapes(rules: Rules, n_lo: float, n_hi: float, points: int = 512):
    """(N, FLOP per token) along the width/depth rule from n_lo to n_hi: `points` sizes, and FLOP
    per token = k N^e fitted (log-log least squares) to the shapes the rule picks there. The
    shapes themselves are discrete and their attention share jumps with depth; the fit is the
    rule's smooth FLOP count, so a fitted law's optimum at a budget moves smoothly with it."""
    shapes = sorted({shape_for(t, rules) for t in np.geomspace(n_lo, n_hi, points)})
    specs = [model_spec(d, L, h, rules.positions) for d, L, h in shapes]
    n = np.array([count_params(s).total for s in specs], dtype=float)
    f = np.array([flops_per_token(s, rules.flops_convention, rules.seq_len).training
                  for s in specs])
    e, k = np.polyfit(np.log(n), np.log(f), 1) if len(n) > 1 else (1.0, np.log(f[0] / n[0]))
    grid = np.geomspace(n.min(), n.max(), points)
    return grid, np.exp(k) * grid ** e
