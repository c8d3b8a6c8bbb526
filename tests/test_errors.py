"""Error wording (issue 14, item 7): each bad input says what is wrong and what would be valid."""

import json

import pytest
from hypothesis import given, strategies as st

from conftest import assert_one_line_error
from scalinglab.errors import InputError, unknown


@pytest.mark.parametrize("args, bad", [
    (("loss", "-7B", "15T"), "-7B"), (("loss", "7B", "-15T"), "-15T"),
    (("flops", "-1e9", "1T"), "-1e9"), (("loss", "70B", "-.5T"), "-.5T"),
])
def test_negative_numbers_say_so(cli, args, bad):
    # click would read '-7B' as the options -7 and -B ("No such option: -7")
    r = cli(*args)
    assert_one_line_error(r)
    assert f"'{bad}': negative values are invalid" in r.err and "No such option" not in r.err


def test_unknown_options_still_read_as_options(cli):
    r = cli("loss", "7B", "15T", "--nope")
    assert_one_line_error(r)
    assert "No such option: --nope" in r.err


def test_sort_keys_are_named(cli):
    r = cli("gpus", "--sort", "nope")
    assert_one_line_error(r)
    for key in ("bandwidth", "memory", "year", "bf16", "fp8"):
        assert key in r.err
    r = cli("models", "--sort", "nope")
    assert_one_line_error(r)
    for key in ("flops", "params", "tokens-per-param", "year", "loss"):
        assert key in r.err


def test_model_suggestions_look_alike(cli):
    r = cli("explain", "lama-3-70b")
    assert_one_line_error(r)
    assert "did you mean: Llama 3 70B," in r.err  # the closest first
    r = cli("explain", "nope")  # nothing looks like it: no unrelated name is offered
    assert_one_line_error(r)
    assert "Gopher" not in r.err and "no model name looks like it" in r.err
    assert "`scalinglab models`" in r.err


def test_suggestions_best_first():
    e = unknown("law", "besiroglu", ["hoffmann2022", "besiroglu2024", "kaplan2020"])
    assert str(e) == "unknown law 'besiroglu'; did you mean: besiroglu2024?"
    e = unknown("figure", "nope", ["isoflop", "frontier", "plan"])  # few: all of them
    assert str(e) == "unknown figure 'nope'; did you mean one of: frontier, isoflop, plan?"


@given(st.text(max_size=20))
def test_unknown_is_one_line(name):
    e = unknown("model", name, [f"Model {i}" for i in range(30)], "`scalinglab models`")
    assert isinstance(e, InputError) and "\n" not in str(e)


@pytest.mark.parametrize("field, value", [
    ("hidden_size", "4096"), ("num_hidden_layers", 32.5), ("num_key_value_heads", "8"),
    ("tie_word_embeddings", "yes"), ("intermediate_size", [1]),
])
def test_config_field_of_the_wrong_type_names_it(cli, tmp_path, field, value):
    cfg = {"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 32,
           "num_attention_heads": 32, "intermediate_size": 11008, "vocab_size": 32000, field: value}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    r = cli("params", path)
    assert_one_line_error(r)
    assert f"config field {field!r}" in r.err and repr(value) in r.err


def test_text_config_field_names_its_place(cli, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": "llama4", "text_config": {"hidden_size": "x"}}))
    r = cli("params", path)
    assert_one_line_error(r)
    assert "text_config" in r.err and "'hidden_size'" in r.err
