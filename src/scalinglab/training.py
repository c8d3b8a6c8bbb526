"""Wall-clock time, GPU-hours, cost, energy and CO2 of a training run, and the inverse questions.

time = C / (n_gpus * peak[dtype] * MFU)  (REFERENCES.md §5). The peak is the dense datasheet
number unless sparse=True asks for the 2:4-sparse one; MFU (model FLOPs utilisation) is always an
assumption, printed with every result. Energy = GPU-hours * board power (TDP) * PUE.
All functions broadcast over numpy arrays of flops, n_gpus, mfu, days.
"""

from dataclasses import dataclass

import numpy as np

from scalinglab import precision
from scalinglab.errors import InputError
from scalinglab.hardware import Accelerator, get_accelerator
from scalinglab.results import Result, shown_as
from scalinglab.validate import at_least, fraction, optional, out, positive, whole

Array = float | np.ndarray

# Well-run dense pretraining reaches ~0.35-0.55 MFU: PaLM 540B 46.2% (Chowdhery et al. 2022,
# Table 3), Llama 3.1 405B 38-43% (Dubey et al. 2024, Table 4). 0.4 sits in that range.
DEFAULT_MFU = 0.4
DEFAULT_DTYPE = "bf16"
# Power usage effectiveness of the datacentre (facility energy / IT energy). 1.1 is the hyperscale
# cloud figure Patterson et al. 2021 ('Carbon Emissions and Large Neural Network Training',
# arXiv:2104.10350) use for GPT-3's and Google's datacentres; the 2018 industry average was 1.58
# (Uptime Institute, as used by carbontracker). Pass pue= for yours.
DEFAULT_PUE = 1.1
SECONDS_PER_DAY = 86_400.0


def _opt_positive(x, what):
    return None if x is None else out(positive(x, what))


@dataclass(frozen=True)
class TrainingTime(Result):
    """A run of `flops` on n_gpus accelerators at a dtype, peak (dense or 2:4 sparse) and MFU."""

    flops: Array
    accelerator: Accelerator = shown_as(lambda a: a.id)
    n_gpus: Array | None  # None: GPU-hours known, the count (and so the wall-clock time) not
    dtype: str
    sparse: bool
    mfu: Array
    peak_flops: float  # per GPU, FLOP/s
    mfu_source: str = "assumed default"
    price_per_gpu_hour: float | None = None  # USD
    pue: float = DEFAULT_PUE
    power_w: float | None = None  # per GPU; None: the catalogue TDP
    grid_kg_per_kwh: float | None = None  # kg CO2e per kWh
    flops_note: str = ""  # where the FLOP come from (architecture.flops.FlopCount.describe)

    _derived = ("accelerator_name", ("peak", "peak_kind"), "seconds", "days", "gpu_hours",
                "cost_usd", ("power_w", "watts"), "energy_kwh", "co2_kg", "assumptions", "warnings")

    @property
    def accelerator_name(self) -> str:
        return self.accelerator.name

    @property
    def gpu_hours(self):
        """C / (peak x MFU) in hours: the same on any number of GPUs."""
        return out(np.asarray(self.flops) / (self.peak_flops * np.asarray(self.mfu)) / 3600.0)

    @property
    def seconds(self):
        """Wall-clock time on n_gpus; None when the GPU count is not known."""
        if self.n_gpus is None:
            return None
        return out(np.asarray(self.gpu_hours) * 3600.0 / np.asarray(self.n_gpus))

    @property
    def days(self):
        return None if self.seconds is None else out(np.asarray(self.seconds) / SECONDS_PER_DAY)

    @property
    def watts(self) -> float | None:
        return self.power_w if self.power_w is not None else self.accelerator.tdp_w

    @property
    def cost_usd(self):
        p = self.price_per_gpu_hour
        return None if p is None else out(np.asarray(self.gpu_hours) * p)

    @property
    def energy_kwh(self):
        w = self.watts
        return None if w is None else out(np.asarray(self.gpu_hours) * w / 1000.0 * self.pue)

    @property
    def co2_kg(self):
        e, g = self.energy_kwh, self.grid_kg_per_kwh
        return None if e is None or g is None else out(np.asarray(e) * g)

    @property
    def peak_kind(self) -> str:
        return "2:4-sparse" if self.sparse else "dense"

    @property
    def assumptions(self) -> tuple:
        a = self.accelerator
        lines = [f"FLOP: {self.flops_note}"] if self.flops_note else []
        lines += [
            f"peak: {self.dtype} {self.peak_kind} {self.peak_flops / 1e12:,.1f} TFLOP/s per {a.name} "
            f"(datasheet; `scalinglab gpus {a.id}` shows the source)",
            f"MFU: {_fmt(self.mfu)} ({self.mfu_source}); time = C / (n_gpus x peak x MFU)",
            "cost: " + (f"${self.price_per_gpu_hour:g} per GPU-hour (given), GPU-hours only"
                        if self.price_per_gpu_hour is not None else "no price given (--price)"),
        ]
        if self.watts is None:
            lines.append(f"energy: {a.name} has no published TDP; give a power per GPU (--power)")
        else:
            src = "given" if self.power_w is not None else "TDP, catalogue"
            lines.append(f"energy: {self.watts:g} W per GPU ({src}) x PUE {self.pue:g}; "
                         "board power only (host CPUs, network, storage not counted)")
        if self.grid_kg_per_kwh is not None:
            lines.append(f"CO2: {self.grid_kg_per_kwh:g} kg CO2e/kWh grid intensity (given)")
        if self.n_gpus is None:
            lines.append("time: GPU-hours alone do not fix the wall-clock time; give --n-gpus")
        if a.note and "UNCERTAIN" in a.note:
            lines.append(f"{a.id}: {a.note}")
        return tuple(lines)


    @property
    def warnings(self) -> tuple:
        """What makes this estimate unlike a real training run (precision.py says what trains)."""
        p = precision.get_precision(self.dtype)
        lines = []
        if not p.trains:
            lines.append(f"{p.name} does not train a model (weights, gradients and optimizer "
                         f"updates need {', '.join(trainable())}): this is the time at "
                         f"{p.name}'s peak, which no training run reaches; use --dtype bf16, or "
                         "fp8 where the accelerator has it")
        if self.sparse:
            lines.append("--sparse: the 2:4-sparse peak is reached only by 2:4 structured-sparse "
                         "matmuls, which dense pretraining does not use; this time is half a "
                         "dense run's at the same MFU")
        return tuple(lines)


def trainable() -> list:
    """The precisions a model can be trained in (precision.py's `trains`)."""
    return [p.name for p in precision.TABLE if p.trains]


def _fmt(x) -> str:
    x = np.asarray(x)
    return f"{float(x):.3g}" if x.ndim == 0 else f"{x.min():.3g}..{x.max():.3g}"


def _n_gpus(n) -> np.ndarray:
    return np.asarray(whole(n, "n_gpus"), dtype=float)


def _setup(accelerator, dtype, sparse):
    a = get_accelerator(accelerator)
    d = precision.canonical(dtype)
    return a, d, a.peak_flops(d, sparse)


def training_time(flops, accelerator, n_gpus=1, dtype=DEFAULT_DTYPE, mfu=None, sparse=False,
                  price=None, pue=DEFAULT_PUE, power_w=None, grid=None,
                  mfu_source=None, flops_note="") -> TrainingTime:
    """Time, GPU-hours, cost, energy of `flops` FLOP on n_gpus of `accelerator` at `dtype`.

    mfu=None assumes DEFAULT_MFU (0.4) and says so; price in USD per GPU-hour; power_w per GPU
    (default: the catalogue TDP); grid in kg CO2e per kWh. n_gpus=None: GPU-hours, cost and
    energy only (no wall-clock time). A dtype that does not train, or the sparse peak, is carried
    as a warning on the result.
    """
    a, d, peak = _setup(accelerator, dtype, sparse)
    src = mfu_source or ("given" if mfu is not None else "assumed default")
    mfu = DEFAULT_MFU if mfu is None else mfu
    n = None if n_gpus is None else _n_gpus(n_gpus)
    return TrainingTime(out(positive(flops, "flops")), a,
                        None if n is None else int(n) if n.ndim == 0 else n, d,
                        bool(sparse), out(fraction(mfu, "MFU")), peak, src,
                        _opt_positive(price, "price per GPU-hour"),
                        float(at_least(pue, 1.0, "PUE", "facility energy / IT energy")),
                        _opt_positive(power_w, "power per GPU (W)"),
                        _opt_positive(grid, "grid intensity (kg CO2e/kWh)"), flops_note)


def implied_mfu(flops, gpu_hours, accelerator, dtype=DEFAULT_DTYPE, sparse=False):
    """MFU = C / (GPU-hours * 3600 * peak): what a reported run actually achieved.

    Llama 3 8B: 6 x 8e9 x 15e12 FLOP in 1.3M H100-hours at 989.4 TFLOP/s -> 0.156.
    """
    _, _, peak = _setup(accelerator, dtype, sparse)
    return out(positive(flops, "flops") / (positive(gpu_hours, "GPU-hours") * 3600.0 * peak))


def time_from_gpu_hours(flops, gpu_hours, accelerator, n_gpus=None, dtype=DEFAULT_DTYPE,
                        sparse=False, **kw) -> TrainingTime:
    """A reported run (FLOP and GPU-hours): solve for MFU, then everything else follows; the
    wall-clock time only with n_gpus (GPU-hours alone do not fix it)."""
    m = implied_mfu(flops, gpu_hours, accelerator, dtype, sparse)
    if np.any(np.asarray(m) > 1):
        raise InputError(f"{float(np.max(m)):.3g} MFU implied: that many FLOP cannot run in those "
                         "GPU-hours at this peak (check the FLOP, GPU-hours, dtype or --sparse)")
    return training_time(flops, accelerator, n_gpus, dtype, m, sparse,
                         mfu_source="implied by the given GPU-hours", **kw)


def budget_flops(accelerator, n_gpus, days, dtype=DEFAULT_DTYPE, mfu=None, sparse=False):
    """The inverse: n_gpus x days x peak x MFU -> a FLOP budget (then plan a compute-optimal run)."""
    _, _, peak = _setup(accelerator, dtype, sparse)
    mfu = DEFAULT_MFU if mfu is None else mfu
    return out(_n_gpus(n_gpus) * positive(days, "days") * SECONDS_PER_DAY * peak
               * fraction(mfu, "MFU"))
