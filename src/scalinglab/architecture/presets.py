"""Named architectures (data/architectures.toml) and load_spec: a preset name or a config.json path."""

import json
from functools import cache
from pathlib import Path

from scalinglab.architecture.hf import load_config, spec_from_config
from scalinglab.architecture.spec import TransformerSpec
from scalinglab.errors import InputError, unknown


def _key(name: str) -> str:
    return "-".join(str(name).strip().lower().replace("_", " ").split())


DATA = Path(__file__).resolve().parents[1] / "data" / "architectures.toml"


@cache
def _rows() -> dict:
    """The TOML rows; `config_json` (a hub config.json verbatim, nulls kept) becomes `config`."""
    import tomllib

    rows = tomllib.loads(DATA.read_text())
    for row in rows.values():
        if "config_json" in row:
            row["config"] = json.loads(row.pop("config_json"))
    return rows


def _spec(name: str, row: dict) -> TransformerSpec:
    if "config" in row:
        return spec_from_config(row["config"], name=name, source=row["source"], where=f"preset {name}")
    if "spec" in row:
        return TransformerSpec(**row["spec"], name=name, source=row["source"])
    raise InputError(f"preset {name}: needs a [config] or [spec] table")


@cache
def _tables() -> dict:
    """PRESETS (name -> TransformerSpec), ALIASES (alias -> name), PUBLISHED (name -> counts)."""
    rows = _rows()
    return {"PRESETS": {name: _spec(name, row) for name, row in rows.items()},
            "ALIASES": {_key(a): name for name, row in rows.items() for a in row.get("aliases", ())},
            "PUBLISHED": {name: {k: row[k] for k in ("published", "published_active") if k in row}
                          for name, row in rows.items()}}


def __getattr__(name: str):
    """PRESETS, ALIASES and PUBLISHED are read on first use, so importing the CLI stays cheap."""
    if name in ("PRESETS", "ALIASES", "PUBLISHED"):
        return _tables()[name]
    raise AttributeError(name)


def get_preset(name: str) -> TransformerSpec:
    """A preset by name or alias (case, '_' and ' ' ignored); unknown -> InputError with suggestions."""
    presets, k = _tables()["PRESETS"], _key(name)
    k = _tables()["ALIASES"].get(k, k)
    if k not in presets:
        raise unknown("architecture", name, list(presets), "`scalinglab params --list`, or a config.json path")
    return presets[k]


def load_config_dict(name_or_path) -> dict:
    """The Hugging Face config dict behind a preset name or a config.json path (for --exact)."""
    s = str(name_or_path)
    if s.endswith(".json") or Path(s).is_dir() or Path(s).is_file():
        p = Path(s) / "config.json" if Path(s).is_dir() else Path(s)
        load_config(p)  # validates, with the same errors as load_spec
        return json.loads(p.read_text())
    name = get_preset(s).name
    if "config" not in _rows()[name]:
        raise InputError(f"preset {name} has no Hugging Face config (no transformers model to build)")
    return dict(_rows()[name]["config"])


def unknown_type_config(name_or_path) -> dict | None:
    """The config dict when name_or_path is a config.json of a model_type with no closed form."""
    from scalinglab.architecture.hf import MODEL_TYPES

    if isinstance(name_or_path, TransformerSpec):  # a spec given as such (the web's uploads)
        return None
    s = str(name_or_path)
    if not (s.endswith(".json") or Path(s).is_dir() or Path(s).is_file()):
        return None
    p = Path(s) / "config.json" if Path(s).is_dir() else Path(s)
    try:
        cfg = json.loads(p.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None  # load_spec says what is wrong
    t = cfg.get("model_type") if isinstance(cfg, dict) else None
    return cfg if isinstance(t, str) and t not in MODEL_TYPES else None


def load_spec(name_or_path) -> TransformerSpec:
    """A TransformerSpec from a preset name, a config.json path, a parameter count ('13B': the
    shape `scalinglab shape 13B` suggests, llama family), or a spec (returned as is)."""
    if isinstance(name_or_path, TransformerSpec):
        return name_or_path
    s = str(name_or_path)
    if s.endswith(".json") or Path(s).is_dir() or Path(s).is_file():
        return load_config(s)
    from scalinglab.architecture.shape import is_size, suggest_shape

    if is_size(s):
        return suggest_shape(s).spec
    return get_preset(s)
