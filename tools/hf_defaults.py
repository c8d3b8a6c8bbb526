"""Regenerate src/scalinglab/data/hf_defaults.json from the installed transformers.

For every model_type scalinglab reads: the config class's file, its attribute_map (alias ->
attribute), the defaults of its fields that can change a parameter count (ints, bools, strings,
lists and None; floats such as eps or dropout never do), and for multimodal wrappers the model
type and defaults their text_config falls back to. Run: python tools/hf_defaults.py
(tests/test_architecture_configs.py checks the file against the installed transformers).
"""

import dataclasses
import json
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "scalinglab" / "data" / "hf_defaults.json"
SKIP = re.compile(r"dropout|eps$|epsilon|initializer|token_id|token_index|use_cache|^rope_|no_rope|rotary|output_|"
                  r"_coef|aux_loss|_act$|activation|dtype|torchscript|chunk_size|return_dict|"
                  r"pruned|problem_type|architectures|finetuning|label|tokenizer|prefix|"
                  r"task_specific|is_encoder|is_decoder|add_cross|cross_attention|decoder_start|"
                  r"_implementation|transformers_version|model_type|base_model|sub_configs|"
                  r"id2label|name_or_path|_commit_hash|tf_legacy|use_bfloat16|torch_dtype|"
                  r"vision_|image_|projector|spatial|multimodal|boi|eoi|mm_|audio|"
                  r"sliding_window_pattern|attn_logit|final_logit|logits_|_multiplier|_scaling|"
                  r"query_pre_attn|max_window|use_sliding|router_jitter|z_loss")


def table(model_types) -> dict:
    import transformers
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    out = {}
    for t in model_types:
        cls = CONFIG_MAPPING[t]
        defaults = {}
        for f in dataclasses.fields(cls):
            if SKIP.search(f.name):
                continue
            v = f.default if f.default is not dataclasses.MISSING else (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
            if v is None or isinstance(v, (bool, int, str)) and not isinstance(v, float) or (
                    isinstance(v, list) and all(isinstance(x, (int, str)) for x in v)):
                defaults[f.name] = v
        row = {"file": "transformers/" + cls.__module__.removeprefix("transformers.").replace(".", "/")
                       + ".py", "class": cls.__name__,
               "attribute_map": dict(getattr(cls, "attribute_map", {})), "defaults": defaults}
        spec = getattr(cls, "sub_configs_defaults", {}).get("text_config")
        if spec is not None:
            sub = spec.model_type or getattr(spec.config_class, "model_type", "")
            row["text_config"] = {"model_type": sub, "init_kwargs": {
                k: v for k, v in spec.init_kwargs.items() if not isinstance(v, float)}}
        out[t] = row
    return {"generated_from": f"transformers {transformers.__version__}", "types": out}


def main() -> None:
    sys.path.insert(0, str(OUT.parents[2]))
    from scalinglab.architecture.hf import HF_TYPES

    OUT.write_text(json.dumps(table(HF_TYPES), indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
