"""One error type for bad input, and 'did you mean' suggestions for unknown names."""

import re


class InputError(ValueError):
    """Bad user input: the CLI prints the message on one line and exits with code 2."""


def _norm(name) -> str:
    """'Llama 3 70B', 'llama-3-70b' -> 'llama370b': names compared without case or punctuation."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def unknown(kind: str, name, choices, hint: str = "", cutoff: float = 0.6) -> InputError:
    """An InputError for an unknown name: the valid names that look like it, best first; every
    valid name when there are few; else how many there are and where they are listed (hint)."""
    import difflib

    choices = sorted(str(c) for c in choices)
    keys = {}
    for c in choices:
        keys.setdefault(_norm(c), c)
    close = difflib.get_close_matches(_norm(name), list(keys), n=3, cutoff=cutoff)
    if close:
        return InputError(f"unknown {kind} {name!r}; did you mean: "
                          f"{', '.join(keys[k] for k in close)}?")
    if len(choices) <= 16:
        return InputError(f"unknown {kind} {name!r}; did you mean one of: {', '.join(choices)}?")
    where = f" ({hint})" if hint else f": {', '.join(choices[:8])}, ..."
    return InputError(f"unknown {kind} {name!r}: no {kind} name looks like it; did you mean one "
                      f"of the {len(choices)}{where}?")
