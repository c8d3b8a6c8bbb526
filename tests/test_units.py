"""units: parsing what people type, formatting it back."""

import math

import pytest
from hypothesis import given, strategies as st

from scalinglab.errors import InputError
from scalinglab.units import (PF_DAY, format_count, format_flops, format_pf_days, parse_flops,
                              parse_fraction, parse_gpu_hours, parse_number)


@pytest.mark.parametrize("text, value", [
    ("7B", 7e9), ("7b", 7e9), ("7G", 7e9), ("1.5t", 1.5e12), ("15e12", 15e12), ("1,000,000", 1e6),
    ("500k", 5e5), ("2M", 2e6), ("1P", 1e15), (" 70 B ", 70e9), ("1_000", 1e3), (3, 3.0),
])
def test_parse_number(text, value):
    assert parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize("bad", ["7X", "-3B", "nan", "inf", "", "0", "1,00", "B", "1e400", "e5",
                                 "7 B B", "1.2.3", "-inf", None])
def test_parse_number_rejects_garbage_naming_it(bad):
    with pytest.raises(InputError, match=repr(bad) if bad is not None else "None"):
        parse_number(bad)


def test_parse_flops_units():
    # GPT-3: 3.64e3 PF-days = 3.14e23 FLOP (Brown et al. 2020, Table D.1)
    assert parse_flops("3.64e3 PF-days") == pytest.approx(3.14e23, rel=2e-3)
    assert parse_flops("3.64k pf-days") == pytest.approx(3.64e3 * 8.64e19)
    assert parse_flops("1.2e24 FLOP") == 1.2e24
    assert parse_flops("1e24") == 1e24
    assert PF_DAY == 8.64e19
    with pytest.raises(InputError):
        parse_flops("1e24 furlongs")


def test_parse_gpu_hours_and_fraction():
    assert parse_gpu_hours("1.3M") == 1.3e6  # Llama 3 8B model card: 1.3M H100-hours
    assert parse_gpu_hours("1.3M GPU-hours") == 1.3e6
    assert parse_fraction("40%") == pytest.approx(0.4)
    assert parse_fraction("0.4") == 0.4
    for bad in ("0", "1.5", "-0.1", "x"):
        with pytest.raises(InputError):
            parse_fraction(bad)


def test_format():
    assert format_count(7e9) == "7.00B"
    assert format_count(1.5e12) == "1.50T"
    assert format_flops(1.326e26) == "1.33e26 FLOP"
    assert format_pf_days(1534.7) == "1.53k PF-days"


@given(st.floats(min_value=1e-3, max_value=1e27, allow_nan=False, allow_infinity=False))
def test_parse_format_round_trip(x):
    assert parse_number(format_count(x, digits=12)) == pytest.approx(x, rel=1e-9)
    assert parse_number(format_count(x)) == pytest.approx(x, rel=5e-3)
    assert parse_flops(format_flops(x)) == pytest.approx(x, rel=5e-3)


@given(st.text(max_size=12))
def test_parse_never_crashes(text):
    try:
        v = parse_number(text)
    except InputError:
        return
    assert math.isfinite(v) and v > 0


# --- issue 14, item 6: one scale, significant digits ------------------------------------------

def test_energy_keeps_three_significant_figures():
    from scalinglab.units import format_energy

    # 26.0 GWh beside 51.9 GWh, never "26 GWh"; 999.9 kWh rounds up into MWh
    assert [format_energy(x) for x in (26e6, 51.9e6, 1e6, 999.9, 5, 1.5e13)] == [
        "26.0 GWh", "51.9 GWh", "1.00 GWh", "1.00 MWh", "5.00 kWh", "1.50e4 TWh"]


def test_bytes_scale_beyond_terabytes_and_one_unit_per_table():
    from scalinglab.units import bytes_unit, format_bytes

    assert format_bytes(2**19 * 1e12) == "524 PB"  # not "524288 TB"
    assert format_bytes(1.2e18) == "1.20 EB" and format_bytes(1e22) == "1.00e22 B"
    assert format_bytes(999.6e9) == "1.00 TB" and format_bytes(13476831232) == "13.5 GB"
    rows = (16.1e9, 805e6, 1.05e9)  # a memory breakdown: one scale, chosen by the largest
    unit = bytes_unit(*rows)
    assert unit == "GB" and [format_bytes(x, unit=unit) for x in rows] == ["16.1 GB", "0.805 GB", "1.05 GB"]


@given(st.floats(min_value=1e-6, max_value=1e6))
def test_ratios_never_lose_their_digits(x):
    from scalinglab.units import format_ratio

    shown = float(format_ratio(x).replace(",", ""))
    assert shown > 0 and shown == pytest.approx(x, rel=0.006)  # 3 significant figures or better


def test_ratios_below_one_in_the_cli(cli):
    # kaplan2020's optimum at 1e25: 0.0609 tokens/param (Table 6: N_opt = 1.3e9 C^0.73, C in
    # PF-days, D = C/6N); shown with its digits, never "0.0"
    c = 1e25 / 8.64e19
    n = 1.3e9 * c**0.73
    tpp = 1e25 / 6 / n / n
    r = cli("optimal", "--compute", "1e25", "--law", "kaplan2020")
    assert cli("optimal", "--compute", "1e25", "--law", "kaplan2020", "--json").json[
        "tokens_per_param"] == pytest.approx(tpp)
    assert f" {tpp:.3g} " in r.out and "0.0" not in r.out.split()
    out = cli("loss", "70B", "1B").out  # 0.0143 tokens per parameter
    assert "(0.0143 tokens/param)" in out
