"""What a plan with an architecture needs from it: the exact N, and what it rests on."""

from scalinglab.architecture.params import count_params
from scalinglab.architecture.presets import load_spec
from scalinglab.errors import InputError


def arch_for_plan(arch, n_params=None) -> tuple[float, dict]:
    """(N, info): N is the exact active parameter count (= total for a dense model)."""
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
    return float(c.active), {"name": spec.name, "n_params": c.active, "total": c.total,
                             "non_embedding": c.non_embedding, "source": spec.source,
                             "assumptions": lines}
