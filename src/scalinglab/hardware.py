"""The accelerator catalogue (data/accelerators.csv, one sourced row per chip) and precisions.

Peaks are DENSE datasheet numbers in FLOP/s (OP/s for integers). NVIDIA's headline numbers for
A100/H100/H200/B200 are 2:4 structured-sparse, i.e. 2x the dense peak (REFERENCES.md §5); ask for
them with `peak_flops(dtype, sparse=True)`.

Memory comes twice: `memory_bytes` is what the device reports (nvidia-smi's total in MiB, rocm-smi,
hl-smi, Google's GiB figures: H100 SXM 81,559 MiB = 85,520,809,984 B), `memory_nominal_gb` the
marketing size in decimal GB (80). Each row says where its device figure comes from and how sure it
is (`memory_source`, `memory_confidence`: datasheet | secondary | uncertain), and the same for the
row (`confidence`). Interconnect bandwidth is per chip, both directions added (NVIDIA's NVLink 900
GB/s for H100 SXM), in bytes/s.
"""

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from scalinglab import precision
from scalinglab.errors import InputError, unknown
from scalinglab.results import Result, hidden, shown_as

# The peak columns and byte widths come from the one precision table (precision.py).
DTYPES = precision.PEAKS
SPARSE_DTYPES = precision.SPARSE_PEAKS
DTYPE_BYTES = {p.name: p.bytes for p in precision.TABLE}  # incl. block constants (nf4 4.127 bits)
_VENDOR_WORDS = ("nvidia", "amd", "google", "intel", "geforce", "instinct", "tesla", "cloud")
MIB = 2**20
CONFIDENCE = ("datasheet", "secondary", "uncertain")


def parse_dtype(name) -> str:
    """'BF16', 'bfloat16', 'float32', 'e4m3' -> canonical id; unknown -> InputError with suggestions."""
    return precision.canonical(name)


@dataclass(frozen=True)
class Accelerator(Result):
    """One catalogue row. Peaks (dense) in FLOP/s per dtype; bytes, bytes/s, watts, SI units."""

    id: str
    name: str
    vendor: str
    peaks: dict = field(repr=False, metadata={"json": False})  # dtype -> dense FLOP/s
    sparse_2to4: bool
    memory_bytes: int  # as the device reports it (nvidia-smi total MiB x 2^20)
    bandwidth: float  # bytes/s
    tdp_w: float | None
    year: int
    source: str
    note: str = ""
    aliases: tuple = hidden(default=())
    memory_nominal_gb: float = 0.0  # the marketing size, decimal GB (80 for an 80 GB H100)
    memory_source: str = ""
    memory_confidence: str = "uncertain"
    interconnect: str = ""
    interconnect_bw: float | None = None  # bytes/s per chip, both directions added
    confidence: str = "uncertain"  # datasheet | secondary | uncertain

    _derived = (("peak_flops", "dense_peaks"), "memory_gib")

    @property
    def dense_peaks(self) -> dict:
        """Dense FLOP/s per dtype the chip runs, widest first (JSON: `peak_flops`)."""
        return {d: self.peaks[d] for d in self.dtypes}

    @property
    def memory_gib(self) -> float:
        return self.memory_bytes / 2**30

    @property
    def memory_label(self) -> str:
        """'80 GB nominal, 79.6 GiB reported': both sizes, units named."""
        return f"{self.memory_nominal_gb:g} GB nominal, {self.memory_gib:.1f} GiB reported"

    @property
    def dtypes(self) -> tuple:
        return tuple(d for d in DTYPES if d in self.peaks)

    def peak_flops(self, dtype: str = "bf16", sparse: bool = False) -> float:
        """Datasheet peak in FLOP/s; sparse=True is the 2:4 structured-sparsity peak (2x dense)."""
        p = precision.get_precision(dtype)
        d = p.peak
        if d is None:
            raise InputError(f"{p.name} is a storage format with no peak of its own; give the "
                             "dtype its matmuls run in (e.g. bf16)")
        if d not in self.peaks:
            via = "" if d == p.name else f" (which {p.name} runs at)"
            raise InputError(f"{self.name} has no {d} peak{via}; it runs: {', '.join(self.dtypes)}")
        if not sparse:
            return self.peaks[d]
        if not self.has_sparse(d):
            raise InputError(f"{self.name} has no 2:4-sparse {d} peak (drop --sparse)")
        return 2.0 * self.peaks[d]

    def has_sparse(self, dtype) -> bool:
        """Whether this chip has a 2:4 structured-sparsity peak for dtype (2x its dense peak)."""
        p = precision.get_precision(dtype)
        return self.sparse_2to4 and p.sparse_peak and p.peak in self.peaks



def _row(r: dict) -> Accelerator:
    for k in ("confidence", "memory_confidence"):
        if r[k] not in CONFIDENCE:
            raise InputError(f"accelerators.csv row {r['id']}: {k} must be one of "
                             f"{', '.join(CONFIDENCE)}, got {r[k]!r}")
    return Accelerator(
        id=r["id"], name=r["name"], vendor=r["vendor"],
        peaks={d: float(r[d]) * 1e12 for d in DTYPES if r[d]},
        sparse_2to4=r["sparse_2to4"] == "yes", memory_bytes=int(r["memory_mib"]) * MIB,
        bandwidth=float(r["bandwidth_tbs"]) * 1e12,
        tdp_w=float(r["tdp_w"]) if r["tdp_w"] else None, year=int(r["year"]),
        source=r["source"], note=r["note"], aliases=tuple(a for a in r["aliases"].split(";") if a),
        memory_nominal_gb=float(r["memory_nominal_gb"]), memory_source=r["memory_source"],
        memory_confidence=r["memory_confidence"], interconnect=r["interconnect"],
        interconnect_bw=float(r["interconnect_gbs_bidir"]) * 1e9 if r["interconnect_gbs_bidir"] else None,
        confidence=r["confidence"])


def _load() -> dict:
    with open(Path(__file__).parent / "data" / "accelerators.csv", newline="") as f:
        return {a.id: a for a in map(_row, csv.DictReader(f))}


ACCELERATORS: dict = _load()


def _key(name: str) -> str:
    s = str(name).lower()
    for w in _VENDOR_WORDS:
        s = s.replace(w, "")
    return re.sub(r"[^a-z0-9]", "", s)


def _index() -> dict:
    idx = {}
    for a in ACCELERATORS.values():
        for alias in (a.id, a.name, *a.aliases):
            k = _key(alias)
            idx[k] = a
            idx[k + f"{a.memory_nominal_gb:g}gb"] = a  # "nvidia h100 80gb"
    return idx


_INDEX = _index()
_SHORT_NAMES = sorted({*ACCELERATORS, *(x for a in ACCELERATORS.values() for x in a.aliases
                                        if "gb" not in x)})


def get_accelerator(name) -> Accelerator:
    """A catalogue row by forgiving name: 'h100', 'H100-SXM', 'nvidia h100 80gb', 'tpu v5e'."""
    if isinstance(name, Accelerator):
        return name
    a = _INDEX.get(_key(name))
    if a is None:
        raise unknown("accelerator", name, _SHORT_NAMES, "`scalinglab gpus` lists them")
    return a


def runs(dtype: str) -> list:
    """Ids of the accelerators with a peak for this dtype."""
    d = precision.get_precision(dtype).peak
    return [a.id for a in ACCELERATORS.values() if d in a.peaks]


@dataclass(frozen=True)
class Comparison(Result):
    """Accelerator a over accelerator b: peak ratio per dtype both run, and memory, bandwidth."""

    a: Accelerator = shown_as(lambda x: x.id)
    b: Accelerator = shown_as(lambda x: x.id)

    _derived = (("peak_ratio", "ratios"), "memory_ratio", "bandwidth_ratio")

    @property
    def ratios(self) -> dict:
        return {d: self.a.peaks[d] / self.b.peaks[d] for d in DTYPES
                if d in self.a.peaks and d in self.b.peaks}

    @property
    def memory_ratio(self) -> float:
        return self.a.memory_bytes / self.b.memory_bytes

    @property
    def bandwidth_ratio(self) -> float:
        return self.a.bandwidth / self.b.bandwidth


def compare(a, b) -> Comparison:
    """Per-dtype dense peak ratios a/b (H100 SXM / A100: fp32 3.43, bf16 3.17)."""
    return Comparison(get_accelerator(a), get_accelerator(b))


def precision_table(accelerator=None) -> list[dict]:
    """One row per dtype: bytes per value, bit layout, which accelerators run it; with an
    accelerator, its dense and 2:4-sparse peaks for each."""
    a = None if accelerator is None else get_accelerator(accelerator)
    rows = []
    for p in precision.TABLE:
        row = {"dtype": p.name, "bytes": p.bytes, "bits": p.bits, "format": p.format,
               "peak": p.peak, "trains": p.trains, "source": p.source,
               "accelerators": runs(p.name) if p.peak else []}
        if a is not None:
            on = p.peak in a.peaks
            row["peak_flops"] = a.peaks[p.peak] if on else None
            row["sparse_peak_flops"] = a.peak_flops(p.name, sparse=True) if on and a.has_sparse(p.name) else None
        rows.append(row)
    return rows


SORTS = {"memory": "memory_bytes", "bandwidth": "bandwidth", "year": "year"}
VENDORS = ("NVIDIA", "AMD", "Google")


def select(vendor=None, dtype=None, min_memory=None, sort=None) -> list:
    """Catalogue rows of a vendor, with a peak for dtype, at least min_memory bytes, sorted by
    a dtype's peak or by memory, bandwidth or year (largest first)."""
    accs = list(ACCELERATORS.values())
    if vendor is not None:
        vendors = {a.vendor.lower(): a.vendor for a in accs}
        if str(vendor).lower() not in vendors:
            raise unknown("vendor", vendor, sorted(vendors.values()))
        accs = [a for a in accs if a.vendor.lower() == str(vendor).lower()]
    if dtype is not None:
        peak = precision.get_precision(dtype).peak
        accs = [a for a in accs if peak in a.peaks]
    if min_memory is not None:
        accs = [a for a in accs if a.memory_bytes >= min_memory]
    if sort is not None:
        attr = SORTS.get(str(sort).lower())
        if attr is None:
            try:
                peak = precision.get_precision(sort).peak
            except InputError:
                raise unknown("sort key", sort, [*SORTS, *DTYPES]) from None
        accs.sort(key=lambda a: getattr(a, attr) if attr else a.peaks.get(peak, 0.0), reverse=True)
    return accs
