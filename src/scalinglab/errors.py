"""One error type for bad input, and 'did you mean' suggestions for unknown names."""


class InputError(ValueError):
    """Bad user input: the CLI prints the message on one line and exits with code 2."""


def unknown(kind: str, name: str, choices) -> InputError:
    """An InputError for an unknown name, listing the closest valid ones."""
    import difflib

    choices = sorted(choices)
    close = difflib.get_close_matches(str(name).lower(), [c.lower() for c in choices], n=3, cutoff=0.4)
    close = [c for c in choices if c.lower() in close] or choices[:8]
    return InputError(f"unknown {kind} {name!r}; did you mean: {', '.join(close)}?")
