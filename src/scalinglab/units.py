"""Parse the numbers people type ("7B", "1.5t", "3.64e3 PF-days") and format them back.

Inside the library every quantity is a plain float in SI base units (parameters, tokens, FLOP,
seconds, bytes). Strings exist only at the edges: here and in the CLI.
"""

import math
import re

from scalinglab.errors import InputError

SUFFIXES = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12, "p": 1e15}
PF_DAY = 1e15 * 86_400  # FLOP in one petaFLOP/s-day = 8.64e19 (Kaplan et al. 2020, Sec. 1.3)

_NUMBER = re.compile(
    r"^\s*(?P<num>[+-]?(?=\.?\d)(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:e[+-]?\d+)?)\s*(?P<rest>[a-z /_%-]*)$",
    re.IGNORECASE,
)
_FLOP_UNITS = {"flop": 1.0, "flops": 1.0, "pf-day": PF_DAY, "pf-days": PF_DAY, "pfday": PF_DAY,
               "pfdays": PF_DAY, "pf day": PF_DAY, "pf days": PF_DAY, "petaflop-days": PF_DAY,
               "petaflop/s-days": PF_DAY, "pf/s-days": PF_DAY}
_HOUR_UNITS = {"gpu-hours": 1.0, "gpu-hour": 1.0, "gpu hours": 1.0, "gpuh": 1.0, "h": 1.0,
               "hours": 1.0, "gpu-h": 1.0}


def _split(text, what: str, units=()) -> tuple[float, str]:
    """Return (value, unit) for text like '1.5T', '1,000,000', '3.64e3 PF-days'.

    A trailing word is a unit when it is one of `units`, else a K/M/B/G/T/P suffix (and a unit).
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text), ""
    s = str(text).strip().replace("_", "")
    m = _NUMBER.match(s)
    if not s or not m or not any(ch.isdigit() for ch in m.group("num")):
        raise InputError(f"{what}: cannot read {text!r} as a number (try 7B, 1.5T, 1e24, 1,000,000)")
    value = float(m.group("num").replace(",", ""))
    rest = m.group("rest").strip().lower()
    if rest and rest not in units and rest[0] in SUFFIXES:
        value *= SUFFIXES[rest[0]]
        rest = rest[1:].strip()
    return value, rest


def _positive(value: float, text, what: str) -> float:
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{what}: {text!r} must be a positive finite number")
    return value


def parse_number(text, what: str = "value") -> float:
    """A positive finite count such as '7B', '1.5t', '15e12', '1,000,000' (K M B/G T P suffixes)."""
    value, unit = _split(text, what)
    if unit:
        raise InputError(f"{what}: cannot read {text!r} as a number (try 7B, 1.5T, 1e24, 1,000,000)")
    return _positive(value, text, what)


def parse_flops(text, what: str = "compute") -> float:
    """Compute in FLOP: '1e24', '1.2e24 FLOP', '3.64e3 PF-days', '3.64k pf-days'."""
    value, unit = _split(text, what, _FLOP_UNITS)
    if unit and unit not in _FLOP_UNITS:
        raise InputError(f"{what}: unknown unit {unit!r} in {text!r} (use FLOP or PF-days)")
    return _positive(value * _FLOP_UNITS.get(unit, 1.0), text, what)


def parse_gpu_hours(text, what: str = "GPU-hours") -> float:
    """GPU-hours: '1.3M', '1.3M GPU-hours', '30.84e6'."""
    value, unit = _split(text, what, _HOUR_UNITS)
    if unit and unit not in _HOUR_UNITS:
        raise InputError(f"{what}: unknown unit {unit!r} in {text!r} (use GPU-hours)")
    return _positive(value, text, what)


def parse_fraction(text, what: str = "fraction", allow_zero: bool = False) -> float:
    """A number in (0, 1] ([0, 1] with allow_zero), e.g. an MFU of '0.4' or '40%'."""
    s = str(text).strip()
    pct = s.endswith("%")
    value, unit = _split(s[:-1] if pct else s, what)
    value = value / 100 if pct else value
    if unit or not ((0 <= value if allow_zero else 0 < value) and value <= 1):
        span = "[0, 1]" if allow_zero else "(0, 1]"
        raise InputError(f"{what}: {text!r} must be in {span} (a fraction or a percent: 0.4 or 40%)")
    return value


def parse_probability(text, what: str = "probability") -> float:
    """A probability in [0, 1) such as a dropout rate: '0.1' or '10%'."""
    s = str(text).strip()
    pct = s.endswith("%")
    value, unit = _split(s[:-1] if pct else s, what)
    value = value / 100 if pct else value
    if unit or not 0 <= value < 1:
        raise InputError(f"{what}: {text!r} must be a probability in [0, 1) (0.1 or 10%)")
    return value


def parse_loss(text, what: str = "loss") -> float:
    """A loss in nats per token: a positive finite number ('1.95')."""
    value, unit = _split(text, what)
    if unit:
        raise InputError(f"{what}: {text!r} must be a plain number of nats per token (e.g. 1.95)")
    return _positive(value, text, what)


def parse_count(text, what: str = "count", allow_zero: bool = False) -> float:
    """A count with suffixes ('1T', '500B'); '0' too where zero means none (allow_zero)."""
    if allow_zero:
        value, unit = _split(text, what)
        if value == 0 and not unit:
            return 0.0
    return parse_number(text, what)


def parse_whole(text, what: str = "count", minimum: int = 1) -> int:
    """A whole number >= minimum: '8', '2K', '1,024'."""
    if minimum == 0 and _split(text, what) == (0.0, ""):
        return 0
    value = parse_number(text, what)
    if value != int(value) or value < minimum:
        raise InputError(f"{what}: {text!r} must be a whole number of at least {minimum}")
    return int(value)


def parse_price(text, what: str = "--price (USD per GPU-hour)") -> float:
    """USD per GPU-hour: '2.5', '$2.50', '$2.50/h', '2.5/hr'."""
    s = str(text).strip().lstrip("$").strip()
    for tail in ("/gpu-hour", "/gpu-h", "/hour", "/hr", "/h"):
        s = s.removesuffix(tail)
    return parse_number(s, what)


_BYTES = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 2**10, "mib": 2**20,
          "gib": 2**30, "tib": 2**40}


def parse_bytes(text, what: str = "memory") -> float:
    """A memory size: '80GB' (decimal, 80e9), '80GiB' (binary, 80 x 2^30), '81920MiB', '24e9'."""
    value, unit = _split(text, what, _BYTES)
    if unit and unit not in _BYTES:
        raise InputError(f"{what}: unknown unit {unit!r} in {text!r} (use B, kB, MB, GB, TB, "
                         "KiB, MiB, GiB or TiB)")
    return _positive(value * _BYTES.get(unit, 1.0), text, what)


_SECONDS = {"": 1.0, "s": 1.0, "sec": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "min": 60.0,
            "h": 3600.0}
_DURATION = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)\s*([a-z]*)\s*$", re.I)


def parse_duration(text, what: str = "duration") -> float:
    """A duration in seconds: '50ms', '0.05s', '6us', '2 min'; a bare number is seconds. Only
    time units: '5m' is an error, not 5 million seconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return _positive(float(text), text, what)
    m = _DURATION.match(str(text))
    if not m or m.group(2).lower() not in _SECONDS:
        raise InputError(f"{what}: cannot read {text!r} as a duration (use ms, s, us or min: "
                         "50ms, 0.05s)")
    return _positive(float(m.group(1)) * _SECONDS[m.group(2).lower()], text, what)


def parse_list(text, parse, what: str = "list", example: str = "1,8,64") -> list:
    """'1,8,64' -> [parse(each)]; an empty list is an error."""
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    if not items:
        raise InputError(f"{what}: {text!r} is empty; give comma-separated values (e.g. {example})")
    return [parse(t, what) for t in items]


_SIZE_UNITS = {"b": 1.0, "byte": 1.0, "bytes": 1.0, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
               "kib": 2.0**10, "mib": 2.0**20, "gib": 2.0**30, "tib": 2.0**40}


def parse_size(text, what: str = "size") -> float:
    """A size in bytes, zero or more: '1343MiB', '1.5 GB' (decimal), '2GiB' (binary), '0', '512'."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value, unit = float(text), ""
    else:
        m = re.match(r"^\s*([+-]?[0-9]*\.?[0-9]+(?:e[+-]?\d+)?)\s*([a-z]*)\s*$", str(text), re.I)
        if not m:
            raise InputError(f"{what}: cannot read {text!r} as a size (try 1343MiB, 1.5GB, 2GiB)")
        value, unit = float(m.group(1)), m.group(2).lower()
    if unit and unit not in _SIZE_UNITS:
        raise InputError(f"{what}: unknown unit {unit!r} in {text!r} (use B, kB, MB, GB, TB, "
                         "KiB, MiB, GiB, TiB)")
    value *= _SIZE_UNITS.get(unit, 1.0)
    if not math.isfinite(value) or value < 0:
        raise InputError(f"{what}: {text!r} must be zero or a positive size")
    return value


# --- formatting -------------------------------------------------------------------------------

def format_count(x: float, digits: int = 3) -> str:
    """7e9 -> '7.00B', 1.5e12 -> '1.50T', 512 -> '512', 1e30 -> '1.00e30'."""
    x = float(x)
    if abs(x) >= 1e18:
        return format_sci(x, digits)
    for suffix, scale in (("P", 1e15), ("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"{x / scale:.{_decimals(x / scale, digits)}f}{suffix}"
    if x == int(x):
        return f"{int(x)}"
    return f"{x:.{digits}g}" if abs(x) < 1 else f"{x:.{_decimals(x, digits)}f}"


def _decimals(v: float, digits: int) -> int:
    """Decimals that show `digits` significant figures of v (|v| < 1000)."""
    v = abs(v)
    lead = 1 if v < 10 else 2 if v < 100 else 3
    return max(digits - lead, 0)


def format_sci(x: float, digits: int = 3) -> str:
    """1.326e26 -> '1.33e26'."""
    if not math.isfinite(float(x)):
        return str(float(x))
    mant, exp = f"{float(x):.{digits - 1}e}".split("e")
    return f"{mant}e{int(exp)}"


def format_flops(x: float, digits: int = 3) -> str:
    """1.326e26 -> '1.33e26 FLOP'."""
    return f"{format_sci(x, digits)} FLOP"


def format_pf_days(pf_days: float, digits: int = 3) -> str:
    """1534.7 -> '1.53k PF-days'."""
    return f"{format_count(pf_days, digits)} PF-days"


_BYTE_UNITS = (("EB", 1e18), ("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3),
               ("B", 1.0))


def _rounded(x: float, digits: int = 3) -> float:
    """x at `digits` significant figures (999.6e9 -> 1e12: the unit follows what is shown)."""
    return float(f"{abs(float(x)):.{digits}g}")


def bytes_unit(*values, digits: int = 3) -> str:
    """The decimal unit that shows the largest of `values` (one scale for a whole table)."""
    top = max([_rounded(v, digits) for v in values if v is not None and math.isfinite(float(v))]
              or [0])
    return next((u for u, scale in _BYTE_UNITS if top >= scale), "B")


def format_bytes(n: float, digits: int = 3, unit: str | None = None) -> str:
    """Decimal units, as GPU datasheets use: 13476831232 -> '13.5 GB'; up to EB, then 1.23e21 B.
    unit: one scale for every row of a table (bytes_unit of its values): '0.805 GB', not '805 MB'."""
    n = float(n)
    if not math.isfinite(n):
        return f"{n} B"
    if unit is None and abs(n) >= 1e21:
        return f"{format_sci(n, digits)} B"
    unit = unit or bytes_unit(n, digits=digits)
    v = n / dict(_BYTE_UNITS)[unit]
    if unit == "B" and v == int(v):
        return f"{int(v)} B"
    return f"{_fixed(v, digits)} {unit}"


def _fixed(v: float, digits: int) -> str:
    """v with `digits` significant figures in fixed notation (0.805, 13.5, 524); none lost above."""
    a = abs(v)
    if a >= 1000 or a == 0:
        return f"{v:,.0f}"
    if a < 1e-3:
        return format_sci(v, digits)
    lead = math.floor(math.log10(_rounded(a, digits))) + 1  # digits before the point (<= 0: 0.0x)
    return f"{v:.{max(digits - lead, 0)}f}"


_ENERGY_UNITS = (("TWh", 1e9), ("GWh", 1e6), ("MWh", 1e3), ("kWh", 1.0))


def format_energy(kwh: float, digits: int = 3) -> str:
    """kWh in the largest sensible unit, always `digits` significant figures: 26e6 -> '26.0 GWh'
    (never '26 GWh' beside '51.9 GWh'); above 1,000 TWh in scientific notation of TWh."""
    kwh = float(kwh)
    if not math.isfinite(kwh):
        return f"{kwh} kWh"
    for unit, scale in _ENERGY_UNITS:
        if _rounded(kwh, digits) >= scale or unit == "kWh":
            v = kwh / scale
            if unit == "TWh" and abs(v) >= 1e4:
                return f"{format_sci(v, digits)} TWh"
            return f"{_fixed(v, digits)} {unit}"


def format_ratio(x: float, digits: int = 3) -> str:
    """A ratio (tokens per parameter, x the optimum): `digits` significant figures below 10, so
    that 0.0494 is '0.0494' and 1 is '1.00', never '0.0'; one decimal from 10 up ('214.3')."""
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if abs(x) >= 1e6:
        return format_sci(x, digits)
    return f"{x:#.{digits}g}".rstrip(".") if abs(x) < 10 else f"{x:,.1f}"


def format_share(x: float) -> str:
    """A share as a percent with one decimal; a small nonzero share is '<0.1%', never '0.0%'."""
    x = float(x)
    return "<0.1%" if 0 < x < 0.0005 else f"{x:.1%}"


def format_times(x: float, digits: int = 3) -> str:
    """A multiple: '0.284x', '12.4x', '102.5x'."""
    return f"{format_ratio(x, digits)}x"


def format_gib(n: float) -> str:
    """Binary units, as nvidia-smi and torch report device memory: 51539607552 -> '48.00 GiB'."""
    return f"{float(n) / 2**30:,.2f} GiB"


def format_duration(seconds: float) -> str:
    """Seconds as the largest sensible unit: '196.8 days', '3.2 hours', '41 s'."""
    s = float(seconds)
    if s >= 2 * 365.25 * 86400:
        return f"{s / (365.25 * 86400):,.1f} years"
    if s >= 2 * 86400:
        return f"{s / 86400:.1f} days"
    if s >= 2 * 3600:
        return f"{s / 3600:.1f} hours"
    if s >= 120:
        return f"{s / 60:.1f} min"
    return f"{s:.3g} s"
