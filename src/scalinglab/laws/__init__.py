"""Published scaling laws, registered by id (REFERENCES.md §1), and user fits saved as JSON.

Every law is a laws.base.Law: ask it what it can do (`law.can("loss")`) rather than its type.
"""

import json
import math
from pathlib import Path

from scalinglab.errors import InputError, unknown
from scalinglab.laws.approach1 import HOFFMANN2022_APPROACH1, AllocationLaw, from_isoflop
from scalinglab.laws.base import Law, Optimum
from scalinglab.laws.inference_aware import SARDANA2023
from scalinglab.laws.kaplan import KAPLAN2020, KaplanLaw
from scalinglab.laws.parametric import PARAMS, ParametricLaw

DEFAULT_LAW = "besiroglu2024"

LAWS: dict = {
    law.id: law
    for law in (
        ParametricLaw(
            "hoffmann2022", E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28,
            source="Hoffmann et al. 2022, 'Training Compute-Optimal LLMs' (Chinchilla), "
                   "arXiv:2203.15556 Sec. 3.3 / Eq. 10 (rounded)",
            note="the constants quoted everywhere; their optimum gives ~93 tokens/param at 5.76e23",
        ),
        ParametricLaw(
            "hoffmann2022-exact", E=1.6934, A=406.40, B=410.72, alpha=0.33917084, beta=0.2849083,
            source="Hoffmann et al. 2022, unrounded from the paper's TeX source, as quoted in "
                   "epoch-research/analyzing-chinchilla",
            note="E=e^0.5267228, A=e^6.0073404, B=e^6.0179186",
        ),
        ParametricLaw(
            "besiroglu2024", E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658,
            source="Besiroglu et al. 2024, 'Chinchilla Scaling: A replication attempt' (Epoch AI), "
                   "arXiv:2404.10102 Table 1",
            note="refit of Chinchilla's own data; reproduces the ~20 tokens/param rule",
        ),
        ParametricLaw(  # exact exponentials of the published logs: the README's losses need them
            "muennighoff2023", E=math.exp(0.6254804), A=math.exp(6.255414), B=math.exp(7.3049974),
            alpha=0.3526596, beta=0.3526596,
            source="Muennighoff et al. 2023, 'Scaling Data-Constrained Language Models', "
                   "arXiv:2305.16264 (C4 fit, huggingface/datablations README)",
            note="E=e^0.6254804, A=e^6.255414, B=e^7.3049974; fresh-data form (no repetition)",
            data="C4",
        ),
        SARDANA2023,
        KAPLAN2020,
        HOFFMANN2022_APPROACH1,
    )
}


def get_law(name) -> Law:
    """A registered law by id, a law saved as JSON (a path ending in .json), or a Law as is."""
    if isinstance(name, Law):
        return name
    name = str(name)
    if name.lower().endswith(".json"):
        return load_law(name)
    law = LAWS.get(name.lower())
    if law is None:
        raise unknown("law", name, LAWS)
    return law


def get_laws(name) -> list:
    """'all' -> every registered law; else [get_law(name)]."""
    return list(LAWS.values()) if str(name).lower() == "all" else [get_law(name)]


def load_law(path) -> Law:
    """Read a law saved by `scalinglab fit -o fit.json` (Approach 3: E, A, B, alpha, beta;
    Approach 2: the optimum N* = k C^a only) or any JSON object with E, A, B, alpha, beta.
    Every field is checked: a bad file is one InputError naming it."""
    p = Path(path)
    where = f"law file {str(p)!r}"
    try:
        doc = json.loads(p.read_text())
    except FileNotFoundError:
        raise InputError(f"{where} does not exist") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise InputError(f"{where} is not valid JSON ({' '.join(str(e).split())})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{where} must hold a JSON object")
    source = f"fit saved in {p.name}"
    if doc.get("approach") == 2:
        a, k = doc.get("a"), doc.get("n_opt_coefficient")
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, k)):
            raise InputError(f"{where} holds an Approach 2 fit without numbers 'a' and "
                             "'n_opt_coefficient'")
        return from_isoflop(p.stem, a, k, source)
    fields = doc.get("law", doc.get("params", doc))
    if not isinstance(fields, dict):
        raise InputError(f"{where}: 'law' must be an object with {', '.join(PARAMS)}")
    return ParametricLaw.from_dict({"source": source, **fields, "id": p.stem}, where)


__all__ = ["DEFAULT_LAW", "LAWS", "AllocationLaw", "KaplanLaw", "Law", "Optimum",
           "ParametricLaw", "get_law", "get_laws", "load_law"]
