"""The checks every layer shares (library, CLI, web): one place, one wording.

Each takes a float or an array and returns a numpy array (or a Python number where it says so);
bad values raise errors.InputError naming `what` and the value. `out` turns a 0-d array back
into a float so that scalar calls give scalar results.
"""

import numpy as np

from scalinglab.errors import InputError


def out(x):
    """A float for scalar results, the array otherwise."""
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


def _show(x: np.ndarray):
    return x.tolist() if x.ndim else float(x)


def _array(x, what: str) -> np.ndarray:
    try:
        return np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number, got {x!r}") from None


def positive(x, what: str) -> np.ndarray:
    """x > 0 and finite, everywhere."""
    a = _array(x, what)
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise InputError(f"{what} must be positive and finite, got {_show(a)!r}")
    return a


def nonnegative(x, what: str) -> np.ndarray:
    """x >= 0 and finite, everywhere."""
    a = _array(x, what)
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise InputError(f"{what} must be zero or positive and finite, got {_show(a)!r}")
    return a


def fraction(x, what: str, allow_zero: bool = False) -> np.ndarray:
    """A share in (0, 1] ([0, 1] with allow_zero): MFU, efficiency, overhead."""
    a = _array(x, what)
    low_ok = (a >= 0) if allow_zero else (a > 0)
    if not np.all(np.isfinite(a)) or not np.all(low_ok) or np.any(a > 1):
        span = "[0, 1]" if allow_zero else "(0, 1]"
        raise InputError(f"{what} must be in {span}, got {_show(a)!r} (a fraction: 0.4, not 40)")
    return a


def at_least(x, low: float, what: str, why: str = "") -> np.ndarray:
    """x >= low and finite (PUE >= 1)."""
    a = _array(x, what)
    if not np.all(np.isfinite(a)) or np.any(a < low):
        raise InputError(f"{what} must be at least {low:g}, got {_show(a)!r}" + (f" ({why})" if why else ""))
    return a


def whole(x, what: str, minimum: int = 1):
    """A whole number >= minimum; an int for scalars, an integer-valued float array otherwise."""
    a = _array(x, what)
    if not np.all(np.isfinite(a)) or np.any(a != np.round(a)) or np.any(a < minimum):
        raise InputError(f"{what} must be a whole number of at least {minimum}, got {_show(a)!r}")
    return int(a) if a.ndim == 0 else a


def optional(check, x, what: str, *args):
    """check(x, what, *args), or None when x is None."""
    return None if x is None else check(x, what, *args)


def finite_or_raise(x, what: str) -> np.ndarray:
    """Results that overflowed (6ND of absurd inputs) are an error, not inf."""
    a = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(a)):
        raise InputError(f"{what} overflows a float (above 1.8e308): the inputs are too large")
    return a
