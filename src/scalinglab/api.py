"""The public calls, one per question (`import scalinglab as sl; sl.loss(70e9, 15e12)`).

Each takes numbers in base units (or the strings the CLI takes: "70B", "1e24", "40%"), calls the
module that owns the answer and returns a typed result (`.to_dict()`, `.to_json()`, Jupyter
rendering, `.to_frame()`). The CLI's verbs call these same functions, so `--json` is `to_json()`.
"""

from scalinglab import units
from scalinglab.laws import DEFAULT_LAW


def _num(x, what, parse=units.parse_number):
    return None if x is None else parse(x, what)


def loss(n_params, n_tokens, law=DEFAULT_LAW, unique_tokens=None):
    """L(N, D) under a law with its terms (law="all": every law that has an L(N, D));
    unique_tokens: the repeated-data loss of Muennighoff et al. 2023."""
    from scalinglab.laws import get_laws
    from scalinglab.laws.base import ask_all, predict

    n, d = units.parse_number(n_params, "N (parameters)"), units.parse_number(n_tokens, "D (tokens)")
    laws = get_laws(law)
    if unique_tokens is not None:
        from scalinglab.laws import data_constrained

        u = units.parse_number(unique_tokens, "--unique-tokens")
        if len(laws) == 1:
            return data_constrained.loss(laws[0], n, d, u)
        return ask_all(laws, "data-constrained", lambda lw: data_constrained.loss(lw, n, d, u),
                       n_params=n, n_tokens=d, unique_tokens=u)
    if len(laws) == 1:
        return predict(laws[0], n, d)
    return ask_all(laws, "loss", lambda lw: predict(lw, n, d), n_params=n, n_tokens=d)


def optimal(compute=None, loss=None, law=DEFAULT_LAW, inference_tokens=None):
    """The compute-optimal N and D for a budget (or the cheapest reaching a loss) under a law
    (law="all": every law); inference_tokens: fewest lifetime FLOP (Sardana et al. 2023)."""
    from scalinglab.errors import InputError
    from scalinglab.laws import get_laws, inference_aware
    from scalinglab.laws.base import ask_all

    if (compute is None) == (loss is None):
        raise InputError("give exactly one of --compute or --loss")
    c = _num(compute, "compute", units.parse_flops)
    target = _num(loss, "--loss", units.parse_loss)
    laws = get_laws(law)
    if inference_tokens is not None:
        t = units.parse_count(inference_tokens, "--inference-tokens", allow_zero=True)

        def ask(lw):
            return (inference_aware.optimal_for_compute(lw, c, t) if c is not None
                    else inference_aware.optimal_for_loss(lw, target, t))
        capability = "inference-aware"
    else:
        def ask(lw):
            return lw.optimal(c) if c is not None else lw.optimal_for_loss(target)
        capability = "optimal" if c is not None else "optimal_for_loss"
    if len(laws) == 1:
        return ask(laws[0])
    return ask_all(laws, capability, ask)


def flops(n_params, n_tokens):
    """Training FLOP under C = 6ND, split into forward and backward, and PF-days."""
    from scalinglab.compute import training_flops

    return training_flops(units.parse_number(n_params, "N (parameters)"),
                          units.parse_number(n_tokens, "D (tokens)"))


def training_time(flops=None, gpu=None, n_gpus=None, dtype="bf16", mfu=None, sparse=False,
                  price=None, n_params=None, n_tokens=None, gpu_hours=None, pue=None, power=None,
                  grid=None, arch=None, convention="6N", seq_len=None, mode=None, rank=None,
                  targets=None):
    """Time, GPU-hours, cost and energy of a run on n_gpus x gpu: `flops`, or C = 6ND from
    n_params and n_tokens, or arch with n_tokens under a named FLOP convention
    (architecture.flops.run_flops); MFU 0.4 unless given, or implied by reported gpu_hours.
    mode: fine-tuning, full (6N, as pretraining) or lora/qlora/lora8 (frozen base, adapters of
    `rank` on `targets`: 4N + 6N_a per token under 6N; architecture.flops)."""
    from scalinglab.compute import training_flops
    from scalinglab.errors import InputError
    from scalinglab.training import DEFAULT_PUE, time_from_gpu_hours
    from scalinglab.training import training_time as run

    note = ""
    lora = _lora_options(mode, rank, targets, need_arch=arch is None)
    if arch is not None:
        if flops is not None or n_params is not None or n_tokens is None:
            raise InputError("--arch takes --tokens (and no --flops or --params): the "
                             "architecture sets N")
        from scalinglab.architecture.flops import DEFAULT_SEQ_LEN, run_flops

        t = DEFAULT_SEQ_LEN if seq_len is None else units.parse_whole(seq_len, "--seq-len")
        flops, note = run_flops(arch, units.parse_number(n_tokens, "--tokens"), convention, t,
                                None if mode is None else str(mode).lower(), **lora)
        n_tokens = None
    if (flops is None) == (n_params is None or n_tokens is None) or (
            flops is not None and (n_params, n_tokens) != (None, None)):
        raise InputError("give --flops, --params with --tokens, or --arch with --tokens")
    if gpu is None:
        from scalinglab.hardware import ACCELERATORS

        raise InputError(f"give --gpu (one of: {', '.join(ACCELERATORS)})")
    if gpu_hours is not None and mfu is not None:
        raise InputError("give --mfu or --gpu-hours (which solves for the MFU), not both")
    c = (flops if note else units.parse_flops(flops, "--flops") if flops is not None else
         training_flops(units.parse_number(n_params, "--params"),
                        units.parse_number(n_tokens, "--tokens")).flops)
    n = None if n_gpus is None else units.parse_whole(n_gpus, "--n-gpus")
    kw = dict(n_gpus=1 if n is None and gpu_hours is None else n, dtype=dtype,
              sparse=bool(sparse), price=_num(price, "--price", units.parse_price),
              pue=DEFAULT_PUE if pue is None else units.parse_number(pue, "--pue"),
              power_w=_num(power, "--power (W)"), grid=_num(grid, "--grid (kg CO2e/kWh)"),
              flops_note=note)
    if gpu_hours is not None:
        return time_from_gpu_hours(c, units.parse_gpu_hours(gpu_hours, "--gpu-hours"), gpu, **kw)
    return run(c, gpu, mfu=_num(mfu, "--mfu", units.parse_fraction), **kw)


def _lora_options(mode, rank, targets, need_arch: bool) -> dict:
    """rank and targets for a LoRA mode of `time`; refused with any other mode (or none)."""
    from scalinglab.architecture.flops import FINETUNE
    from scalinglab.errors import InputError, unknown

    m = None if mode is None else str(mode).lower()
    if m is not None and m not in FINETUNE:
        raise unknown("fine-tuning mode", mode, FINETUNE)
    lora = m not in (None, "full")
    if not lora and (rank, targets) != (None, None):
        given = ", ".join(o for o, v in (("--rank", rank), ("--targets", targets)) if v is not None)
        raise InputError(f"{given} appl{'y' if ',' in given else 'ies'} only to --mode lora, "
                         "qlora or lora8"
                         + (f" (not --mode {m})" if m else ""))
    if lora and need_arch:
        raise InputError(f"--mode {m} counts the adapters of an architecture: give --arch (a "
                         "preset, a config.json or a size such as 7B) with --tokens")
    if not lora:
        return {}
    out = {"rank": 16 if rank is None else units.parse_whole(rank, "--rank")}
    if targets is not None:
        out["targets"] = tuple(units.parse_list(targets, lambda t, _: t, "--targets", "q,v"))
    return out


def params(arch):
    """Exact parameter counts (total, active, non-embedding, by part) of a preset or config.json."""
    from scalinglab.architecture import count_params, load_spec

    return count_params(load_spec(arch))


def shape(n_params, family="llama"):
    """A transformer shape (d_model, layers, heads, kv-heads, d_ff) for a parameter count, with
    its exact count (architecture.shape.suggest_shape: the family's rules and aspect ratio)."""
    from scalinglab.architecture.shape import suggest_shape

    return suggest_shape(units.parse_number(n_params, "N (parameters)"), family)


def _memory_parsers() -> dict:
    def whole(x, what):
        return units.parse_whole(x, what)

    def share(x, what):
        return units.parse_fraction(x, what, allow_zero=True)

    return {"n_gpus": whole, "tp": whole, "pp": whole, "batch": whole, "seq": whole,
            "context": whole, "rank": whole, "zero": lambda x, w: units.parse_whole(x, w, 0),
            "overhead": share, "dropout": units.parse_probability,
            "lora_dropout": units.parse_probability,
            "reserve": units.parse_size,
            "targets": lambda x, w: units.parse_list(x, lambda t, _: t, w, "q,v")}


def memory(arch, mode="train", dtype="bf16", gpu=None, **kw):
    """Memory per GPU for training, fine-tuning (full, LoRA, QLoRA, LoRA over int8) or inference;
    with gpu, the verdict and the fewest GPUs that fit. Options as memory.estimate takes them,
    numbers or the CLI's strings ('10%' overhead, '2GiB' reserve, 'q,v' targets); options of
    another mode are refused (memory.ONLY)."""
    from scalinglab.memory import estimate_for

    parse = _memory_parsers()
    for k, v in kw.items():
        if k in parse and isinstance(v, (str, int, float)) and not isinstance(v, bool):
            kw[k] = parse[k](v, "--" + k.replace("_", "-"))
    return estimate_for(arch, mode, dtype, gpu=gpu, **kw)


def infer(arch, gpu=None, n_gpus=1, weights="bf16", kv_dtype=None, batch="1,8,64,256",
          prompt=2048, output=512, price=None, max_tpot=None, compute_dtype=None,
          compute_efficiency=None, bandwidth_efficiency=None, interconnect=None,
          allreduce_latency=None):
    """Serving speed and cost over batch sizes (scalinglab.inference.estimate): TTFT, TPOT,
    tokens/s, the bound, memory and fit, $ per million tokens; with max_tpot, the largest batch
    meeting it that fits. Strings as the CLI takes them: batch "1,8,64", prompt "2K", max_tpot
    "50ms", interconnect "450" (GB/s per direction), allreduce_latency "6us"."""
    from scalinglab import inference
    from scalinglab.errors import InputError

    if gpu is None:
        raise InputError("give --gpu (see `scalinglab gpus`)")
    whole = units.parse_whole
    batches = (units.parse_list(batch, whole, "--batch") if isinstance(batch, str) else
               [whole(b, "--batch") for b in ([batch] if isinstance(batch, (int, float)) else batch)])
    options = {k: v for k, v in dict(
        compute_efficiency=_num(compute_efficiency, "--compute-efficiency", units.parse_fraction),
        bandwidth_efficiency=_num(bandwidth_efficiency, "--bandwidth-efficiency",
                                  units.parse_fraction),
        interconnect=None if interconnect is None else 1e9 * units.parse_number(
            interconnect, "--interconnect (GB/s per direction)"),
        allreduce_latency=_num(allreduce_latency, "--allreduce-latency", units.parse_duration),
    ).items() if v is not None}
    return inference.estimate(
        arch, gpu, whole(n_gpus, "--n-gpus"), weights, kv_dtype, batch=batches,
        prompt=whole(prompt, "--prompt"), output=whole(output, "--output"),
        price=_num(price, "--price", units.parse_price),
        max_tpot=_num(max_tpot, "--max-tpot", units.parse_duration), compute_dtype=compute_dtype,
        **options)


def infer_sweeps(arch, gpus, weights=("bf16",), n_gpus=1, prompt=2048, output=512,
                 max_tpot=None, interconnect=None) -> list:
    """`plot infer`: inference.sweep (batch 1 to 2,048) for every GPU x weights."""
    from scalinglab import inference
    from scalinglab.errors import InputError

    if not gpus:
        raise InputError("`plot infer` needs --gpu (repeat it to compare accelerators)")
    kw = {} if interconnect is None else {"interconnect": 1e9 * units.parse_number(
        interconnect, "--interconnect (GB/s per direction)")}
    return [inference.sweep(arch, g, units.parse_whole(n_gpus, "--n-gpus"), w,
                            prompt=units.parse_whole(prompt, "--prompt"),
                            output=units.parse_whole(output, "--output-tokens"),
                            max_tpot=_num(max_tpot, "--max-tpot", units.parse_duration), **kw)
            for g in gpus for w in weights]


def fit(data, approach=3, bootstrap=None, seed=0, **kw):
    """Fit a law to runs (CSV path, DataFrame, dict of columns): Approach 3 with bootstrap
    intervals (4,000 resamples by default) or Approach 2 (isoFLOP)."""
    from scalinglab.fit.summary import fit_runs

    return fit_runs(data, approach, bootstrap, seed, **kw)


def plan(compute=None, n_params=None, n_tokens=None, loss=None, law=DEFAULT_LAW, arch=None,
         gpu=None, n_gpus=None, days=None, dtype="bf16", mfu=None, sparse=False, price=None,
         inference_tokens=None, unique_tokens=None, family=None, seq_len=None, micro_batch=None,
         recompute=None):
    """A whole training plan from whatever is known (scalinglab.plan.make_plan); every number
    may be given as the CLI writes it ("1e24", "3.64e3 PF-days", "7B", "40%", "$2.5")."""
    from scalinglab.plan import make_plan

    return make_plan(
        compute=_num(compute, "--compute", units.parse_flops),
        n_params=_num(n_params, "--params"), n_tokens=_num(n_tokens, "--tokens"),
        loss=_num(loss, "--loss", units.parse_loss), law=law, arch=arch, gpu=gpu,
        n_gpus=_num(n_gpus, "--n-gpus", units.parse_whole), days=_num(days, "--days"),
        dtype=dtype, mfu=_num(mfu, "--mfu", units.parse_fraction), sparse=bool(sparse),
        price=_num(price, "--price", units.parse_price),
        inference_tokens=None if inference_tokens is None else units.parse_count(
            inference_tokens, "--inference-tokens", allow_zero=True),
        unique_tokens=_num(unique_tokens, "--unique-tokens"), family=family,
        seq_len=_num(seq_len, "--seq-len", units.parse_whole),
        micro_batch=_num(micro_batch, "--micro-batch", units.parse_whole), recompute=recompute)


def explain(model=None, params=None, tokens=None, law=DEFAULT_LAW):
    """Where a catalogue model (or N and D) sits against every law's optimum, and why
    (beyond.explain): a model's N is the one `models` uses (active parameters for MoE)."""
    from scalinglab.beyond import explain as explain_nd, explain_model
    from scalinglab.errors import InputError

    if (model is not None and (params, tokens) != (None, None)) or (
            model is None and None in (params, tokens)):
        raise InputError("give a catalogue model (scalinglab explain llama-3-70b) or both --params "
                         "and --tokens")
    if model is not None:
        return explain_model(model, law)
    return explain_nd(units.parse_number(params, "--params"), units.parse_number(tokens, "--tokens"),
                      "model", law)


def laws():
    """The registered laws by id."""
    from scalinglab.laws import LAWS

    return dict(LAWS)


def accelerators():
    """The accelerator catalogue by id."""
    from scalinglab.hardware import ACCELERATORS

    return dict(ACCELERATORS)
