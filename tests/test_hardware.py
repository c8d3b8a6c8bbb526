"""The accelerator catalogue: names, per-dtype peaks, sparsity, precisions, and the CLI views."""

import csv

import pytest
from hypothesis import given, strategies as st

from conftest import REFERENCE, assert_one_line_error
from scalinglab import hardware as hw
from scalinglab.errors import InputError

ISSUE_CHIPS = ["V100", "T4", "A10", "A10G", "L4", "L40S", "RTX 3090", "RTX 4090", "A100 SXM",
               "A100 PCIe", "H100 SXM", "H100 PCIe", "H200", "B200", "GB200", "MI250X", "MI300X",
               "TPU v4", "TPU v5e", "TPU v5p", "TPU v6e"]


ISSUE_13_IDS = ("h800", "h20", "a100-40gb", "a40", "rtx-a6000", "rtx5090", "mi325x", "mi355x",
                "gaudi2", "gaudi3", "tpu7x")


@pytest.mark.parametrize("name", ISSUE_CHIPS + ["H800", "H20", "A100 40GB", "A40", "RTX A6000",
                                               "RTX 5090", "MI325X", "MI355X", "Gaudi 2", "Gaudi 3",
                                               "Ironwood", "TPU7x"])
def test_catalogue_has_every_chip_the_issue_lists(name):
    a = hw.get_accelerator(name)
    assert a.source and a.memory_bytes > 0 and a.bandwidth > 0 and 2016 < a.year < 2027
    assert a.peaks  # at least one dtype


@pytest.mark.parametrize("name", ["h100", "H100-SXM", "nvidia h100 80gb", "NVIDIA H100 SXM5 80GB",
                                  "h100 sxm5", "H100_SXM"])
def test_forgiving_names(name):
    assert hw.get_accelerator(name).id == "h100-sxm"


def test_unknown_name_suggests_closest():
    with pytest.raises(InputError, match="did you mean: .*h100"):
        hw.get_accelerator("h10")
    # the 40 GB A100 is its own row (1.555 TB/s), never silently the 80 GB one
    assert hw.get_accelerator("a100 40gb").id == "a100-40gb"
    assert hw.get_accelerator("a100 40gb").bandwidth == 1.555e12


def test_datasheet_peaks_dense():
    # REFERENCES.md §5: A100 SXM FP32 19.5, TF32 156, BF16 312, INT8 624; H100 SXM BF16 989.4
    a100, h100 = hw.get_accelerator("a100"), hw.get_accelerator("h100")
    assert a100.peak_flops("fp32") == 19.5e12 and a100.peak_flops("bf16") == 312e12
    assert a100.peak_flops("int8") == 624e12 and a100.peak_flops("tf32") == 156e12
    assert h100.peak_flops("bfloat16") == 989.4e12 and h100.peak_flops("fp8") == 1978.9e12
    # NVIDIA's headline numbers are the 2:4-sparse ones: A100 BF16 624, H100 BF16 1978.9 TFLOP/s
    assert a100.peak_flops("bf16", sparse=True) == 624e12
    assert h100.peak_flops("bf16", sparse=True) == pytest.approx(1978.8e12)


def test_h100_over_a100_lecture_ratios():
    # lecture "H100 is ~3.4x A100 in FP32": 66.9 / 19.5 = 3.43; dense BF16 989.4 / 312 = 3.17
    r = hw.compare("H100 SXM", "A100").ratios
    assert r["fp32"] == pytest.approx(3.43, abs=0.005)
    assert r["bf16"] == pytest.approx(3.17, abs=0.005)
    assert "fp8" not in r  # A100 has no fp8
    assert hw.compare("H100 PCIe", "A100").ratios["fp32"] == pytest.approx(2.63, abs=0.005)


def test_missing_dtype_and_sparsity_are_errors():
    with pytest.raises(InputError, match="no fp8"):
        hw.get_accelerator("a100").peak_flops("fp8")
    with pytest.raises(InputError, match="2:4"):
        hw.get_accelerator("mi250x").peak_flops("bf16", sparse=True)
    with pytest.raises(InputError, match="2:4"):
        hw.get_accelerator("h100").peak_flops("fp32", sparse=True)  # sparsity is tensor-core only
    with pytest.raises(InputError, match="dtype"):
        hw.get_accelerator("h100").peak_flops("fp7")


def test_catalogue_matches_shared_reference():
    """Every dense peak, memory, bandwidth and TDP equals reference/accelerators.csv."""
    if not (REFERENCE / "accelerators.csv").exists():
        pytest.skip("../shared/reference is not beside this checkout")
    ref = list(csv.DictReader(open(REFERENCE / "accelerators.csv")))
    old = [a for a in hw.ACCELERATORS.values() if a.id not in ISSUE_13_IDS]
    assert len(ref) == len(old)  # the reference's 21 chips, in order; issue 13 added the rest
    for r, a in zip(ref, old):
        for d in ("fp32", "tf32", "fp16", "bf16", "fp8", "int8", "int4"):
            assert a.peaks.get(d) == (float(r[d]) * 1e12 if r[d] else None), (a.id, d)
        assert a.memory_nominal_gb == float(r["memory_gb"])  # the nominal size; memory_bytes is
        # what the device reports (tests below)
        assert a.bandwidth == pytest.approx(float(r["bandwidth_tbs"]) * 1e12)
        assert a.tdp_w == (float(r["tdp_w"]) if r["tdp_w"] else None)


def test_dtype_bytes():
    assert hw.DTYPE_BYTES["fp32"] == 4 and hw.DTYPE_BYTES["bf16"] == 2 and hw.DTYPE_BYTES["int8"] == 1
    # nf4 counts its double-quantised block constants: 4.127 bits (QLoRA Sec. 3), one table for
    # hardware and memory since issue 11 (it used to be 4 bits here and 4.127 in memory.BITS)
    assert hw.DTYPE_BYTES["int4"] == 0.5 and hw.DTYPE_BYTES["nf4"] == (4 + 8 / 64 + 32 / 16384) / 8
    assert set(hw.DTYPES) <= set(hw.DTYPE_BYTES)


@given(st.sampled_from(sorted(hw.DTYPE_BYTES)), st.sampled_from(["", " ", "-", "_"]),
       st.booleans())
def test_parse_dtype_case_and_separators(d, sep, upper):
    text = (d[:2] + sep + d[2:])
    assert hw.parse_dtype(text.upper() if upper else text) == d


@given(st.sampled_from(sorted(hw.ACCELERATORS)), st.booleans())
def test_every_id_and_name_resolves_to_itself(aid, by_name):
    a = hw.ACCELERATORS[aid]
    assert hw.get_accelerator(a.name if by_name else aid.upper()) is a


def test_precision_table_lists_who_runs_what():
    rows = {r["dtype"]: r for r in hw.precision_table()}
    assert "a100-sxm" not in rows["fp8"]["accelerators"] and "h100-sxm" in rows["fp8"]["accelerators"]
    assert rows["fp4"]["accelerators"] == ["rtx5090", "b200", "gb200", "mi355x"]  # +2 in issue 13
    assert rows["bf16"]["bytes"] == 2 and rows["int4"]["bits"] == 4


@given(st.text(max_size=30))
def test_any_name_resolves_or_is_an_input_error(text):
    try:
        assert isinstance(hw.get_accelerator(text), hw.Accelerator)
    except InputError as e:
        assert "did you mean" in str(e) and "\n" not in str(e)


# --- issue 13: memory as the device reports it, interconnect, confidence ---------------------------

@pytest.mark.parametrize("name,mib,nominal", [
    ("a100", 81_920, 80),       # nvidia-smi on A100/A800-SXM4-80GB: 81920MiB (dexmal/dexbotic#41)
    ("a100-40gb", 40_960, 40),  # nvidia-smi A100-SXM4-40GB: 40960MiB (bottlerocket-core-kit#834)
    ("h100", 81_559, 80),       # nvidia-smi 'NVIDIA H100 80GB HBM3': 81559MiB
    ("rtx4090", 24_564, 24),    # nvidia-smi: 24564MiB (RLinf/RLinf#255)
    ("rtx5090", 32_607, 32),    # nvidia-smi: 32607MiB (noonghunna/club-3090#617)
    ("tpu-v5p", 95 * 1024, 95),  # Google: 95 GiB HBM per chip
])
def test_memory_as_the_device_reports_it(name, mib, nominal):
    a = hw.get_accelerator(name)
    assert a.memory_bytes == mib * 2**20 and a.memory_nominal_gb == nominal
    assert a.memory_source and a.memory_confidence in hw.CONFIDENCE


def test_a100_80gb_is_80_gib_not_80_gb():
    a = hw.get_accelerator("a100")
    assert a.memory_bytes == 85_899_345_920 and a.memory_gib == 80.0
    assert a.memory_label == "80 GB nominal, 80.0 GiB reported"
    assert hw.get_accelerator("h100").memory_label == "80 GB nominal, 79.6 GiB reported"


def test_every_row_has_source_confidence_and_interconnect():
    for a in hw.ACCELERATORS.values():
        assert a.source and a.confidence in hw.CONFIDENCE and a.interconnect, a.id
        assert a.memory_nominal_gb > 0 and a.memory_bytes > 0.85 * a.memory_nominal_gb * 1e9, a.id
        assert a.interconnect_bw is None or a.interconnect_bw > 0


def test_new_chips_peaks():
    # H800: H100 SXM's tensor peaks with NVLink capped at 400 GB/s (DeepSeek-V3's GPU)
    h800, h100 = hw.get_accelerator("h800"), hw.get_accelerator("h100")
    assert h800.peak_flops("bf16") == h100.peak_flops("bf16") == 989.4e12
    assert h800.peak_flops("fp8") == 1978.9e12 and h800.interconnect_bw == 400e9
    assert h100.interconnect_bw == 900e9
    # TPU7x (Ironwood): docs.cloud.google.com/tpu/docs/tpu7x, BF16 2307, FP8 4614 TFLOP/s
    tpu = hw.get_accelerator("ironwood")
    assert tpu.peak_flops("bf16") == 2307e12 and tpu.peak_flops("fp8") == 4614e12
    assert hw.get_accelerator("MI325X").peak_flops("bf16") == hw.get_accelerator("mi300x").peak_flops("bf16")
    assert hw.get_accelerator("gaudi 3").peak_flops("bf16") == 1835e12
    with pytest.raises(InputError, match="2:4"):
        hw.get_accelerator("gaudi2").peak_flops("bf16", sparse=True)


def test_cli_gpus_prints_both_memory_units(cli):
    out = cli("gpus", "h100").out
    assert "80 GB nominal, 79.6 GiB reported" in out and "85,520,809,984 B" in out
    d = cli("gpus", "h800", "--json").json["accelerators"][0]
    assert d["memory_bytes"] == 81_559 * 2**20 and d["memory_nominal_gb"] == 80
    assert d["interconnect_bw"] == 400e9 and d["confidence"] == "secondary"
    assert "GiB: as the device reports it" in cli("gpus").out
