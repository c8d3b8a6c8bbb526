"""The CLI contract (DESIGN.md): every verb's --json is one JSON document with at least the
contract's keys and nothing on stderr; bad input is exit 2 and one line on stderr."""

import json
import shlex

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import assert_one_line_error
from scalinglab.cli import app

RUNS = "N,D,loss\n1e7,2e8,3.9\n3e7,6e8,3.4\n1e8,2e9,3.0\n3e8,6e9,2.75\n1e9,2e10,2.5\n3e9,6e10,2.35\n1e10,2e11,2.2\n"
FIT_KEYS = {"params", "objective", "ci"}
LAW5 = {"E", "A", "B", "alpha", "beta"}

# (command line, keys the JSON must hold); {tmp} is a temporary folder holding runs.csv and fit.json
OK = [
    ("loss 70B 15T", {"law", "n_params", "n_tokens", "loss", "terms"}),
    ("loss 1M 20M --law hoffmann2022", {"law", "n_params", "n_tokens", "loss", "terms"}),
    ("loss 70B 15T --law all", {"laws", "n_params", "n_tokens"}),
    ("loss 8.67e9 178e9 --unique-tokens 25e9 --law muennighoff2023", {"law", "loss", "terms"}),
    ("loss 70B 15T --law {tmp}/fit.json", {"law", "n_params", "n_tokens", "loss", "terms"}),
    ("optimal --compute 1e24", {"n_params", "n_tokens", "tokens_per_param", "loss", "flops"}),
    ("optimal --compute '3.64e3 PF-days'", {"n_params", "n_tokens", "tokens_per_param", "loss", "flops"}),
    ("optimal --compute 1e30", {"n_params", "n_tokens", "tokens_per_param", "loss", "flops"}),
    ("optimal --loss 2.0", {"n_params", "n_tokens", "tokens_per_param", "loss", "flops"}),
    ("optimal --compute 1e24 --law {tmp}/fit.json", {"n_params", "n_tokens", "loss", "flops"}),
    ("optimal --loss 1.947 --inference-tokens 2e12 --law sardana2023",
     {"n_params", "n_tokens", "tokens_per_param", "loss", "flops"}),
    ("optimal --compute 1e24 --law all", {"laws"}),
    ("flops 1.7T 13T", {"flops", "forward_flops", "backward_flops", "pf_days"}),
    ("flops 7B 1T --arch llama-2-7b --convention palm", {"flops", "forward_flops", "backward_flops", "pf_days"}),
    ("time --params 1.7T --tokens 13T --gpu a100 --n-gpus 25000 --mfu 1",
     {"days", "gpu_hours", "mfu", "peak_flops", "cost_usd", "energy_kwh"}),
    ("time --flops 1e24 --gpu h100 --mfu 40% --price $2.50",
     {"days", "gpu_hours", "mfu", "peak_flops", "cost_usd", "energy_kwh"}),
    ("time --params 8B --tokens 15T --gpu h100 --gpu-hours 1.3M", {"days", "gpu_hours", "mfu"}),
    ("time --flops '3.64e3 PF-days' --gpu 'tpu v5e' --n-gpus 1K", {"days", "gpu_hours", "mfu"}),
    ("gpus", {"accelerators"}),
    ("gpus --compare h100 a100", {"accelerators"}),
    ("gpus --vendor amd --min-memory 80GB --sort memory", {"accelerators"}),
    ("precision --gpu h100", {"dtypes"}),
    ("laws", {"laws"}),
    ("params mixtral-8x7b", {"total", "active", "non_embedding", "breakdown"}),
    ("params --d-model 512 --layers 8 --heads 8 --d-ff 2048 --vocab 32000",
     {"total", "active", "non_embedding", "breakdown"}),
    ("memory llama-2-7b", {"weights_bytes", "kv_cache_bytes", "per_gpu_bytes", "fits", "min_gpus", "breakdown"}),
    ("memory llama-2-7b --mode qlora --gpu a10 --batch 1 --seq 512",
     {"weights_bytes", "per_gpu_bytes", "fits", "min_gpus", "breakdown"}),
    ("memory llama-3-70b --mode infer --context 8192 --gpu h100",
     {"weights_bytes", "kv_cache_bytes", "per_gpu_bytes", "fits", "min_gpus", "breakdown"}),
    ("memory mixtral-8x7b --mode lora --zero 3 --n-gpus 8", {"per_gpu_bytes", "fits", "breakdown"}),
    ("fit {tmp}/runs.csv --starts 50 --bootstrap 20", FIT_KEYS),
    ("fit --dataset chinchilla --approach 2", FIT_KEYS),
    ("hyperparams --compute 1e20", {"batch_tokens", "learning_rate"}),
    ("models --sort flops", {"models"}),
    ("models --law {tmp}/fit.json", {"models"}),
    ("explain llama-3-70b", {"n_params", "n_tokens", "tokens_per_param"}),
    ("explain --params 70B --tokens 15T", {"n_params", "n_tokens", "tokens_per_param"}),
    ("plan --compute 1e24", {"n_params", "n_tokens", "flops", "pf_days", "loss"}),
    ("plan --params 70B --tokens 15T --law {tmp}/fit.json", {"n_params", "n_tokens", "flops", "loss"}),
    ("plan --arch llama-3-8b --gpu h100 --n-gpus 64 --days 14",
     {"n_params", "n_tokens", "flops", "loss", "memory"}),
    ("plan --arch llama-3-8b --gpu h100 --n-gpus 64 --days 14 --inference-tokens 1T",
     {"n_params", "n_tokens", "flops", "loss", "memory", "inference", "serving"}),
    ("infer llama-2-7b --gpu a100", {"rows"}),
    ("infer mixtral-8x7b --gpu h100 --n-gpus 2 --interconnect 450 --weights int4 --kv-dtype fp8 "
     "--batch 1,8,64,256 --prompt 2K --output 512 --price 2.5 --max-tpot 50ms", {"rows"}),
]

BAD = [
    "loss 70X 15T", "loss 0 15T", "flops 1e300 1e300", "plan --params 1e300 --tokens 1e300", "loss nan 15T", "loss 70B 15T --law nope", "loss 70B",
    "loss 70B 15T --law {tmp}/missing.json", "loss 70B 15T --law {tmp}/runs.csv",
    "loss 70B 15T --unique-tokens 0", "optimal", "optimal --compute 0", "optimal --compute 1e24 --loss 2",
    "optimal --loss 1.0", "optimal --compute 1e24 --inference-tokens -1", "flops 0 1T",
    "flops 1B 1T --convention nope", "flops 1B 1T --arch nope", "flops 1B 1T --arch llama-2-7b --seq-len 0",
    "time --flops 1e24 --gpu h900", "time --flops 1e24 --gpu a100 --dtype fp8", "time --flops 1e24",
    "time --flops 1e24 --gpu h100 --mfu 0", "time --flops 1e24 --gpu h100 --mfu 150%",
    "time --flops 1e24 --gpu h100 --mfu abc", "time --flops 1e24 --gpu h100 --n-gpus 1.5",
    "time --flops 1e24 --gpu h100 --pue 0.5", "time --flops 1e24 --gpu h100 --gpu-hours 1",
    "time --gpu h100", "time --flops 1e24 --gpu h100 --sparse --dtype fp32",
    "gpus --compare h100 nope", "gpus --vendor nope", "gpus --dtype nope", "gpus --min-memory abc",
    "gpus --sort nope", "precision --gpu nope", "laws --nope", "serve --port 99999",
    "params nope", "params {tmp}/missing.json", "params {tmp}/runs.csv", "params --d-model 512",
    "params --d-model 512 --layers 8 --heads 8 --d-ff 2048 --vocab 32000 --kv-heads 3",
    "params --d-model 512 --layers 8 --heads 7 --d-ff 2048 --vocab 32000",
    "memory nope", "memory llama-2-7b --mode nope", "memory llama-2-7b --dtype nope",
    "memory llama-2-7b --gpu nope", "memory llama-2-7b --zero 4", "memory llama-2-7b --batch 0",
    "memory llama-2-7b --tp 3", "memory llama-2-7b --optimizer nope", "memory llama-2-7b --overhead -1",
    "memory llama-2-7b --mode train --dtype int4", "memory {tmp}/runs.csv",
    "fit", "fit --dataset nope", "fit {tmp}/missing.csv", "fit {tmp}/fit.json", "fit {tmp}/runs.csv --approach 5",
    "fit {tmp}/runs.csv --bootstrap -1", "fit {tmp}/runs.csv --delta 0", "fit {tmp}/runs.csv --loss-col nope",
    "fit {tmp}/runs.csv --approach 2", "fit {tmp}/runs.csv --plot {tmp}/x.txt",
    "hyperparams --compute 0", "hyperparams --compute 1e20 --seq-len 0",
    "models --sort nope", "models --law nope", "explain nope", "explain --params 70B",
    "explain llama-3-70b --law nope", "plan", "plan --compute 0", "plan --days 14",
    "plan --compute 1e24 --gpu nope", "plan --compute 1e24 --arch nope", "plan --compute 1e24 --law nope",
    "plan --compute 1e24 --report {tmp}/nodir/x.html",
    "plot nope -o {tmp}/x.png", "plot isoflop", "plot isoflop -o {tmp}/x.txt", "plot isoflop -o {tmp}/nodir/x.png",
    "plot isoflop -o {tmp}/x.png -c 0", "plot contour -o {tmp}/x.png --law all", "plot fit -o {tmp}/x.png",
    "plot fit {tmp}/missing.csv -o {tmp}/x.png", "plot plan -o {tmp}/x.png",
    "infer llama-2-7b", "infer nope --gpu a100", "infer llama-2-7b --gpu a100 --batch 0",
    "infer llama-2-7b --gpu a100 --weights fp8", "infer llama-2-7b --gpu a100 --max-tpot 5m",
    "infer llama-2-7b --gpu nope", "plot infer -o {tmp}/x.png --gpu a100",
]


@pytest.fixture(scope="module")
def tmp(tmp_path_factory):
    d = tmp_path_factory.mktemp("contract")
    (d / "runs.csv").write_text(RUNS)
    (d / "fit.json").write_text(json.dumps({"E": 1.8, "A": 480.0, "B": 2000.0, "alpha": 0.35, "beta": 0.36}))
    return d


def _args(line, tmp):
    return shlex.split(line.replace("{tmp}", str(tmp)))


def test_every_verb_is_covered():
    verbs = {c.name or c.callback.__name__ for c in app.registered_commands}
    covered = {line.split()[0] for line, _ in OK} | {"plot", "serve"}  # serve: tests/test_web_api.py
    assert verbs <= covered, verbs - covered


@pytest.mark.parametrize("line,keys", OK, ids=[line for line, _ in OK])
def test_json_contract(cli, tmp, line, keys):
    r = cli(*_args(line, tmp), "--json")
    assert r.code == 0, r.err
    assert r.err == ""
    data = json.loads(r.out)  # exactly one document: json.loads rejects trailing text
    assert keys <= set(data), keys - set(data)
    if keys is FIT_KEYS and "approach 2" not in line:
        assert LAW5 <= set(data["params"])


FIGURES = [(f, fmt) for f in ("isoflop", "contour", "history", "plan") for fmt in ("png", "svg", "pdf")]


@pytest.mark.parametrize("figure,fmt", FIGURES + [("frontier", "png"), ("fit", "pdf")])
def test_plot_every_figure(cli, tmp, figure, fmt):
    pytest.importorskip("matplotlib")
    extra = {"fit": [str(tmp / "runs.csv")], "plan": ["--compute", "1e24"]}.get(figure, [])
    out = tmp / f"{figure}.{fmt}"
    r = cli("plot", figure, *extra, "-o", out, "--json")
    assert r.code == 0, r.err
    assert r.err == ""
    assert json.loads(r.out)["path"] and out.stat().st_size > 1000


@pytest.mark.parametrize("line", BAD)
def test_bad_input_is_one_line(cli, tmp, line):
    for json_flag in ((), ("--json",)):
        assert_one_line_error(cli(*_args(line, tmp), *json_flag))


TOKENS = st.sampled_from(["70B", "15T", "0", "-1", "1e30", "abc", "40%", "1.5", "h100", "nope", "all",
                          "--law", "--gpu", "--mfu", "--compute", "--n-gpus", "--dtype", "--json", "fp8",
                          "--mode", "infer", "llama-2-7b", "--unique-tokens", "--loss", "2.0", ",", "",
                          "--params", "--tokens", "--days", "--arch", "--context", "--seq", "1e-300", "1e400",
                          "1T", "--sparse", "--inference-tokens", "mixtral-8x7b", "--zero", "3", "--batch",
                          "--max-tpot", "50ms", "--weights", "int4", "--prompt", "--output", "1,8"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(verb=st.sampled_from(["loss", "optimal", "flops", "time", "memory", "hyperparams", "gpus", "plan", "params",
                              "explain", "models", "precision", "infer"]),
       words=st.lists(TOKENS, max_size=6))
def test_random_arguments_never_traceback(cli, verb, words):
    r = cli(verb, *words)
    assert r.code in (0, 2), (r.code, r.err)
    assert "Traceback" not in r.err
    if r.code == 2:
        assert_one_line_error(r)


def test_huge_counts_print_in_scientific_notation(cli):
    # 1e30 parameters once printed as '1000000000000000P'
    r = cli("loss", "1e30", "1e30")
    assert "N = 1.00e30 parameters" in r.out and "000000P" not in r.out


def test_bootstrap_with_degenerate_resamples_keeps_stderr_empty(tmp):
    # 7 made-up runs: some resamples reach beta = 0, whose G = inf used to print numpy warnings
    from conftest import run_subprocess

    r = run_subprocess("fit", str(tmp / "runs.csv"), "--bootstrap", "200", "--seed", "1",
                       "--json")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    json.loads(r.stdout)


def test_kaplan_optimum_does_not_claim_the_chinchilla_closed_form(cli):
    # kaplan2020's optimum is Table 6's N_opt = 1.3e9 C^0.73, not G (C/6)^a
    r = cli("optimal", "--compute", "1e24", "--law", "kaplan2020")
    assert r.code == 0 and "G (C/6)^a" not in r.out and "C^0.73" in r.out
    assert "G (C/6)^a" in cli("optimal", "--compute", "1e24", "--law", "all").out


def test_energy_reads_in_plain_units_at_any_scale(cli):
    # 1e30 FLOP on one H100 at 40% MFU x 700 W x PUE 1.1 = 5.4e11 kWh (once printed '5.4e+05 GWh')
    assert "energy       540 TWh" in cli("time", "--flops", "1e30", "--gpu", "h100").out
    assert "e+" not in cli("time", "--flops", "1e10", "--gpu", "h100").out


def test_long_runs_also_show_years(cli):
    # Llama 3 8B's 1.3M H100-hours on one GPU: 54,166.7 days = 148.3 years
    out = cli("time", "--params", "8B", "--tokens", "15T", "--gpu", "h100", "--gpu-hours", "1.3M",
              "--n-gpus", "1").out
    assert "54,166.7 days (148.3 years)" in out


def test_custom_heads_of_another_width_need_head_dim(cli):
    # 512 / 7 heads used to floor to 73-wide heads silently (attention of 511, not 512)
    assert_one_line_error(cli("params", "--d-model", "512", "--layers", "8", "--heads", "7", "--d-ff", "2048",
                              "--vocab", "32000"))
    r = cli("params", "--d-model", "512", "--layers", "8", "--heads", "7", "--head-dim", "64", "--d-ff", "2048",
            "--vocab", "32000", "--json")
    assert r.code == 0  # explicit head width: 8 x (4 x 512 x 448) attention weights
    assert r.json["breakdown"]["attention"] == 8 * 4 * 512 * 448


@pytest.mark.parametrize("figure", ["isoflop", "contour"])
def test_kaplan_figures_state_kaplans_form(cli, tmp, figure):
    # kaplan2020 is [(Nc/N)^(aN/aD) + Dc/D]^aD (Kaplan et al. 2020 Eq. 1.5), not E + A/N^a + B/D^b
    pytest.importorskip("matplotlib")
    out = tmp / f"kaplan-{figure}.svg"
    assert cli("plot", figure, "--law", "kaplan2020", "-o", out).code == 0
    text = out.read_text()
    assert "Dc/D" in text and "E + A/N^alpha" not in text


def test_kaplan_contour_levels_span_its_losses():
    # kaplan2020 has E = 0: levels from E + 0.02 to E + 2.2 left most of the map one colour
    pytest.importorskip("matplotlib")
    from scalinglab import plots

    fig = plots.contour_figure("kaplan2020")
    cs = [c for c in fig.axes[0].get_children() if hasattr(c, "levels")][0]
    assert cs.levels[0] >= 1.0 and cs.levels[-1] >= 3.0  # losses on the grid: 1.16 .. 3.3


def test_fit_bound_warning_names_the_parameter_and_its_box(cli, tmp):
    # 7 made-up runs with no loss floor: log E runs into its lower bound -10 (was printed as 'bound: e')
    r = cli("fit", tmp / "runs.csv", "--starts", "200")
    assert r.code == 0 and "(log E in [-10.0, 5.0])" in r.out


def test_inference_header_prints_flop_as_elsewhere(cli):
    # '1.00e24 FLOP', not Python's '1e+24'
    out = cli("optimal", "--compute", "1e24", "--inference-tokens", "1e12").out
    assert "for C = 1.00e24 FLOP of training" in out and "e+" not in out


def test_gpus_say_when_no_accelerator_matches_and_int_peaks_are_ops(cli):
    assert "No accelerator" in cli("gpus", "--vendor", "google", "--dtype", "fp64").out
    assert "int8       624 TOP/s dense" in cli("gpus", "a100").out  # A100 datasheet: INT8 624 TOPS


def test_overflowing_inputs_print_inf_without_warnings():
    # a micro-batch of 1e300 sequences: the memory is inf (JSON null), not numpy warnings on stderr
    from conftest import run_subprocess

    r = run_subprocess("memory", "llama-2-7b", "--batch", "1e300", "--gpu", "h100", "--json")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert json.loads(r.stdout)["fits"] is False


@pytest.mark.parametrize("config", [
    {"model_type": "llama", "hidden_size": "abc", "num_hidden_layers": 2, "num_attention_heads": 2,
     "intermediate_size": 10, "vocab_size": 10},
    {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 0,
     "intermediate_size": 10, "vocab_size": 10},
    {"model_type": "gemma3", "text_config": 5},
    {"model_type": ["llama"]},
], ids=["string-width", "zero-heads", "text-config-not-object", "model-type-list"])
@pytest.mark.parametrize("verb", [["params"], ["memory"], ["plan", "--compute", "1e20", "--arch"]])
def test_malformed_config_json_is_one_line(cli, tmp_path, config, verb):
    # these raised TypeError / ZeroDivisionError tracebacks from the config reader
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    assert_one_line_error(cli(*verb, path))


@pytest.mark.parametrize("losses", [[3.9] * 6, [3.0] * 6, [2, 3, 4, 5, 6, 7]],
                         ids=["identical-runs", "flat-loss", "rising-loss"])
def test_fit_without_a_falling_loss_is_one_line(cli, tmp_path, losses):
    # alpha = beta = 0 used to raise ZeroDivisionError in a = beta / (alpha + beta)
    same = losses == [3.9] * 6
    rows = [(1e7, 2e8) if same else (10 ** (7 + i / 2), 20 * 10 ** (7 + i / 2)) for i in range(6)]
    path = tmp_path / "runs.csv"
    path.write_text("N,D,loss\n" + "".join(f"{n},{d},{l}\n" for (n, d), l in zip(rows, losses)))
    assert_one_line_error(cli("fit", path))


def test_kaplan_loss_terms_are_explained(cli):
    # kaplan2020's columns are not E + A/N^a + B/D^b terms: the table says what they are
    out = cli("loss", "70B", "15T", "--law", "kaplan2020").out
    assert "not additive" in out and "non-embedding" in out
    assert "not additive" not in cli("loss", "70B", "15T").out
