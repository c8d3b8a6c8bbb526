"""Named architectures (data/architectures.toml) and load_spec: a preset name or a config.json path."""

import tomllib
from functools import cache
from importlib.resources import files
from pathlib import Path

from scalinglab.architecture.hf import load_config, spec_from_config
from scalinglab.architecture.spec import TransformerSpec
from scalinglab.errors import InputError, unknown


def _key(name: str) -> str:
    return "-".join(str(name).strip().lower().replace("_", " ").split())


@cache
def _rows() -> dict:
    return tomllib.loads(files("scalinglab.data").joinpath("architectures.toml").read_text())


def _spec(name: str, row: dict) -> TransformerSpec:
    if "config" in row:
        return spec_from_config(row["config"], name=name, source=row["source"], where=f"preset {name}")
    if "spec" in row:
        return TransformerSpec(**row["spec"], name=name, source=row["source"])
    raise InputError(f"preset {name}: needs a [config] or [spec] table")


PRESETS: dict[str, TransformerSpec] = {name: _spec(name, row) for name, row in _rows().items()}
ALIASES: dict[str, str] = {_key(a): name for name, row in _rows().items() for a in row.get("aliases", ())}
PUBLISHED: dict[str, dict] = {name: {k: row[k] for k in ("published", "published_active") if k in row}
                              for name, row in _rows().items()}


def get_preset(name: str) -> TransformerSpec:
    """A preset by name or alias (case, '_' and ' ' ignored); unknown -> InputError with suggestions."""
    k = _key(name)
    k = ALIASES.get(k, k)
    if k not in PRESETS:
        raise unknown("architecture", name, list(PRESETS))
    return PRESETS[k]


def load_spec(name_or_path) -> TransformerSpec:
    """A TransformerSpec from a preset name, a config.json path, or a spec (returned as is)."""
    if isinstance(name_or_path, TransformerSpec):
        return name_or_path
    s = str(name_or_path)
    if s.endswith(".json") or Path(s).is_dir() or Path(s).is_file():
        return load_config(s)
    return get_preset(s)
