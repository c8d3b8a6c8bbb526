"""What a plan with an architecture needs from it: the exact N, and what it rests on."""

from dataclasses import dataclass

from scalinglab.architecture.params import count_params
from scalinglab.architecture.presets import load_spec
from scalinglab.errors import InputError
from scalinglab.results import Result


@dataclass(frozen=True)
class ArchInfo(Result):
    """The architecture behind a plan's N: exact counts and where they come from."""

    name: str
    n_params: int  # active (= total for a dense model): the N of the laws that count all of it
    total: int
    non_embedding: int  # active non-embedding: Kaplan's N
    source: str
    assumptions: tuple


def arch_for_plan(arch, n_params=None) -> ArchInfo:
    """The exact counts of `arch`; N is the active parameter count (= total for a dense model)."""
    if n_params is not None:
        raise InputError("give --params or --arch, not both (--arch sets N exactly)")
    spec = load_spec(arch)
    c = count_params(spec)
    lines = [f"N: exact active parameter count of {spec.name} ({spec.source}), embeddings included",
             f"FLOP: the 6N convention on that N (6 N D); attention and other conventions: "
             f"`scalinglab flops D --arch {spec.name} --convention palm|megatron|chinchilla`"]
    if spec.is_moe:
        lines.append(f"MoE: the laws are fitted on dense models; N = {c.active:,} active of "
                     f"{c.total:,} total parameters is an assumption")
    non_embedding = c.non_embedding - (c.total - c.active)  # routed experts not used per token
    return ArchInfo(spec.name, c.active, c.total, non_embedding, spec.source, tuple(lines))
