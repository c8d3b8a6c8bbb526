"""One shape for every result: frozen dataclasses with one serializer.

A result subclasses `Result` and declares what its dict holds:
- every dataclass field, unless its metadata says `json=False` (or gives a function that turns
  the value into what JSON shows, e.g. an Accelerator into its id);
- the properties named in the class attribute `_derived` (tokens_per_param, seconds, ...), each
  a name or a (JSON key, property) pair.
Numpy arrays become lists, numpy scalars Python numbers, nested results dicts, tuples lists: once,
here. `to_json()` is what `--json` prints (inf and nan as null); `_repr_html_` renders in Jupyter;
`to_frame()` gives a pandas DataFrame when pandas is installed.
"""

import json
import math
from dataclasses import field, fields

import numpy as np


def hidden(**kw):
    """A dataclass field left out of to_dict() (kept on the object)."""
    return field(metadata={"json": False}, **kw)


def shown_as(convert, **kw):
    """A dataclass field that to_dict() shows as convert(value)."""
    return field(metadata={"json": convert}, **kw)


def omit_none(**kw):
    """A dataclass field (default None) that to_dict() leaves out while it is None."""
    return field(default=None, metadata={"json": "omit_none"}, **kw)


def flat(**kw):
    """A dataclass field whose own dict is merged into its parent's by to_dict()."""
    return field(metadata={"json": "flat"}, **kw)


def plain(o):
    """Any result, numpy value or container as plain Python (dict, list, float, int, str, None)."""
    if isinstance(o, Result):
        return o.to_dict()
    if isinstance(o, dict):
        return {str(k): plain(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [plain(v) for v in o]
    if isinstance(o, np.ndarray):
        return plain(o.tolist())
    if isinstance(o, np.generic):
        return o.item()
    if hasattr(o, "to_dict"):  # objects that are not results but know their dict (laws)
        return plain(o.to_dict())
    return o


def finite(o):
    """JSON has no inf or nan: write them as null."""
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: finite(v) for k, v in o.items()}
    if isinstance(o, list):
        return [finite(v) for v in o]
    return o


def to_json(o, indent: int | None = 2) -> str:
    """The JSON text of a result (or any value): what every `--json` and the web API print."""
    return json.dumps(finite(plain(o)), indent=indent)


class Result:
    """Base of the library's results (subclasses are frozen dataclasses)."""

    _derived: tuple = ()  # property names to_dict() adds after the fields
    _rows: str | None = None  # a field or property holding a list of row dicts, for to_frame()

    def to_dict(self) -> dict:
        d = {}
        for f in fields(self):
            how = f.metadata.get("json", True)
            if how is False:
                continue
            v = getattr(self, f.name)
            if how == "omit_none" and v is None:
                continue
            if how == "flat":
                d.update(plain(v))
            else:
                d[f.name] = how(v) if callable(how) and v is not None else v
        for name in self._derived:  # a property name, or (JSON key, property name)
            key, attr = (name, name) if isinstance(name, str) else name
            d[key] = getattr(self, attr)
        return plain(d)

    def to_json(self, indent: int | None = 2) -> str:
        return to_json(self, indent)

    def _repr_html_(self) -> str:
        from scalinglab.report import render

        return f"<b>{type(self).__name__}</b>" + render(finite(self.to_dict()))

    def to_frame(self):
        """A pandas DataFrame: one row per entry of the result's table, else one row of scalars."""
        try:
            import pandas as pd
        except ImportError:
            from scalinglab.errors import InputError

            raise InputError("to_frame() needs pandas: pip install pandas") from None
        if self._rows is not None:
            return pd.json_normalize(finite(plain(getattr(self, self._rows))))
        return pd.json_normalize(finite(self.to_dict()), max_level=1)
