"""The one table of number formats: names and aliases, bits per stored value (block constants
included), whether a model can be trained in it, and which accelerator peak its matmuls run at.

Every dtype that enters the library (CLI, API, config files) goes through `get_precision` once;
below that, code compares canonical names or reads the Precision's fields, never raw strings.
"""

import re
from dataclasses import dataclass

from scalinglab.errors import InputError, unknown
from scalinglab.results import Result

# Accelerator peak columns (data/accelerators.csv), widest first.
PEAKS = ("fp64", "fp32", "tf32", "fp16", "bf16", "fp8", "int8", "int4", "fp4")
# dtypes with a 2:4 structured-sparsity tensor-core peak (2x dense) on chips that have one
# (NVIDIA Ampere/Hopper/Blackwell whitepapers: not fp64 or fp32 CUDA-core math).
SPARSE_PEAKS = frozenset({"tf32", "fp16", "bf16", "fp8", "int8", "int4", "fp4"})


@dataclass(frozen=True)
class Precision(Result):
    """A number format. bits: memory per stored value, including shared block scales."""

    name: str
    bits: float
    peak: str | None  # the accelerator peak its matmuls use (None: none, e.g. a custom width)
    trains: bool  # weights, gradients and matmuls can train a model in it
    master: bool  # training in it keeps an fp32 master copy (mixed precision)
    format: str  # bit layout
    aliases: tuple = ()
    source: str = ""

    _derived = ("bytes",)

    @property
    def bytes(self) -> float:
        return self.bits / 8

    @property
    def sparse_peak(self) -> bool:
        """Whether tensor cores have a 2:4-sparse peak for it."""
        return self.peak in SPARSE_PEAKS


_IEEE = "IEEE 754"
_GGUF = "llama.cpp ggml-common.h: bytes of one block x 8 / weights per block"


def _gguf(name: str, block_bytes: int, per_block: int) -> Precision:
    return Precision(name, block_bytes * 8 / per_block, "fp16", False, False,
                     f"GGUF block: {block_bytes} B per {per_block} weights", (), _GGUF)


TABLE = (
    Precision("fp64", 64, "fp64", True, False, "1/11/52", ("float64", "double"), _IEEE),
    Precision("fp32", 32, "fp32", True, False, "1/8/23", ("float32", "float", "single"), _IEEE),
    Precision("tf32", 32, "tf32", True, False, "1/8/10 (in a 32-bit slot)", ("tensorfloat32",),
              "NVIDIA Ampere whitepaper: fp32 storage, 10-bit mantissa in the tensor cores"),
    Precision("bf16", 16, "bf16", True, True, "1/8/7", ("bfloat16", "brainfloat16"),
              "Google brain float; mixed precision keeps fp32 master weights (Micikevicius 2018)"),
    Precision("fp16", 16, "fp16", True, True, "1/5/10", ("float16", "half"), _IEEE),
    Precision("fp8", 8, "fp8", True, True, "E4M3 1/4/3 or E5M2 1/5/2",
              ("float8", "e4m3", "e5m2", "fp8e4m3", "fp8e5m2", "float8e4m3fn", "float8e5m2"),
              "Micikevicius et al. 2022 'FP8 Formats for Deep Learning'; trained with scaling and "
              "higher-precision master weights (DeepSeek-V3 2024)"),
    Precision("int8", 8, "int8", False, False, "integer", ("i8",), "two's complement"),
    Precision("int4", 4, "int4", False, False, "integer", ("i4",),
              "two's complement; group scales not included (see int4 formats with scales)"),
    Precision("int4-g128", 4 + (16 + 4) / 128, "fp16", False, False,
              "4-bit integers + an fp16 scale and a 4-bit zero point per 128 weights (W4A16)",
              ("awq", "gptq", "w4a16", "int4-awq", "int4-gptq"),
              "AutoAWQ awq/modules/linear/gemm.py WQLinear_GEMM @d9dc8e5: int32-packed 4-bit "
              "qweight, fp16 scales and int32-packed 4-bit qzeros per 128 inputs: 4 + (16 + 4) / "
              "128 = 4.156 bits (AutoGPTQ packs the same); dequantised to fp16 for the matmuls"),
    Precision("fp4", 4, "fp4", False, False, "E2M1 1/2/1 (element only)", ("float4", "e2m1"),
              "OCP Microscaling Formats (MX) v1.0 element; block scales not included"),
    Precision("nvfp4", 4 + 8 / 16, "fp4", False, False, "E2M1 + an E4M3 scale per 16 values", (),
              "NVIDIA Blackwell NVFP4: fp8 block scale per 16 elements (+ one fp32 per tensor)"),
    Precision("mxfp4", 4 + 8 / 32, "fp4", False, False, "E2M1 + an E8M0 scale per 32 values", (),
              "OCP Microscaling Formats (MX) v1.0: 8-bit shared exponent per 32 elements"),
    Precision("nf4", 4 + 8 / 64 + 32 / (64 * 256), "bf16", False, False,
              "4-bit index into 16 normal quantiles + double-quantised block constants", (),
              "Dettmers et al. 2023 (QLoRA) Sec. 3: 4 + 8/64 + 32/(64 x 256) = 4.127 bits; "
              "dequantised to bf16 for the matmuls"),
    _gguf("q8_0", 34, 32), _gguf("q5_1", 24, 32), _gguf("q5_0", 22, 32), _gguf("q4_1", 20, 32),
    _gguf("q4_0", 18, 32), _gguf("q6_k", 210, 256), _gguf("q5_k", 176, 256),
    _gguf("q4_k", 144, 256), _gguf("q3_k", 110, 256), _gguf("q2_k", 84, 256),
)
PRECISIONS: dict = {p.name: p for p in TABLE}


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


_INDEX = {_norm(a): p for p in TABLE for a in (p.name, *p.aliases)}
_BPW = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?\d+)?)\s*(bpw|bits?)\s*$", re.IGNORECASE)


def get_precision(name) -> Precision:
    """A precision by name or alias ('BF16', 'bfloat16', 'e4m3', 'q4_K'), or a custom width
    written as bits per weight ('4.85bpw': stored only, no peak, cannot train)."""
    if isinstance(name, Precision):
        return name
    if isinstance(name, (int, float)) and not isinstance(name, bool):  # a number: bits per value
        name = f"{name!r}bpw"
    p = _INDEX.get(_norm(name))
    if p is not None:
        return p
    m = _BPW.match(str(name))
    if m:
        bits = float(m.group(1))
        if not 0 < bits <= 64:
            raise InputError(f"dtype {name!r}: bits per weight must be in (0, 64]")
        return Precision(f"{bits:g}bpw", bits, None, False, False, "custom bits per weight", (),
                         "given")
    if re.fullmatch(r"\s*[0-9.]+\s*", str(name)):
        raise InputError(f"dtype {name!r}: write bits per weight as e.g. '4.85bpw'")
    raise unknown("dtype", name, [a for p in TABLE for a in (p.name, *p.aliases)] + ["<bits>bpw"],
                  "`scalinglab precision` lists them")


def canonical(name) -> str:
    """The canonical name of a dtype: 'bfloat16' -> 'bf16'."""
    return get_precision(name).name


def bits(name) -> float:
    return get_precision(name).bits


def bytes_per_value(name) -> float:
    return get_precision(name).bytes
