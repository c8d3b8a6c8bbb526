"""Transformer architectures: exact parameter and FLOP counts from a spec, a preset or a config.json."""

from scalinglab.architecture.hf import MODEL_TYPES, load_config, spec_from_config
from scalinglab.architecture.params import ParamCount, count_params
from scalinglab.architecture.presets import get_preset, load_config_dict, load_spec
from scalinglab.architecture.spec import TransformerSpec

__all__ = ["MODEL_TYPES", "PRESETS", "PUBLISHED", "ParamCount", "TransformerSpec", "count_params",
           "get_preset", "load_config", "load_config_dict", "load_spec", "spec_from_config"]


def __getattr__(name: str):  # PRESETS and PUBLISHED load lazily (see presets.py)
    from scalinglab.architecture import presets

    return getattr(presets, name)
