"""The plan report: one self-contained HTML file (inline SVG, no remote assets), any Plan section."""

import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings, strategies as st

from conftest import assert_one_line_error

pytest.importorskip("matplotlib")

from scalinglab.plan import make_plan  # noqa: E402
from scalinglab.report import inline_svg, render, report_html, sections_html  # noqa: E402

REMOTE = re.compile(r"""(?:src|href|xlink:href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//"""
                    r"""|url\(\s*["']?\s*(?:https?:)?//|@import|<script|<link|<iframe""", re.I)


@pytest.fixture(scope="module")
def page():
    return report_html(make_plan(n_params=70e9, n_tokens=15e12))


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def test_report_is_self_contained(page):
    assert page.startswith("<!DOCTYPE html>")
    assert not REMOTE.search(page)
    p = _Tags()
    p.feed(page)
    assert p.tags.count("svg") == 2 and "script" not in p.tags and "img" not in p.tags
    assert "<?xml" not in page and "<metadata>" not in page


def test_report_holds_the_numbers_assumptions_and_sources(page):
    assert "Training plan: 70.0B parameters on 15.0T tokens" in page
    assert "214.3 per parameter" in page  # 15T / 70B (the lecture's Llama 3 70B example)
    assert "1.857" in page  # hoffmann2022 loss at 70B, 15T (Hoffmann et al. 2022, Eq. 10)
    assert "C = 6ND (2ND forward + 4ND backward)" in page  # the plan's assumptions
    assert "arXiv:2404.10102" in page and "Epoch AI" in page  # sources


def test_report_renders_sections_it_has_never_seen():
    d = make_plan(compute=1e24).to_dict()
    d["hardware"] = {"gpu": "H100 SXM", "n_gpus": 1024, "days": 41.5, "mfu": 0.4,
                     "assumptions": ["dense BF16 peak 989.4 TFLOP/s"]}
    d["memory"] = [{"mode": "train", "per_gpu_bytes": 6.1e10, "fits": True}]
    d["architecture"] = {"layers": {"n": 80, "d_model": 8192}, "vocab": None}
    page = sections_html(d)  # the generic part of report_html (which takes a typed Plan)
    assumptions = page[page.index("<h2>Assumptions"):page.index("<h2>Every number")]
    assert "hardware" in assumptions and "dense BF16 peak 989.4 TFLOP/s" in assumptions
    for text in ("hardware", "H100 SXM", "1,024", "41.5", "dense BF16 peak 989.4 TFLOP/s",
                 "per_gpu_bytes", "61.0 GB (56.81 GiB)", "yes", "d_model", "8,192", "&ndash;"):
        assert text in page, text


@settings(max_examples=50, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
                    lambda kids: st.lists(kids, max_size=4)
                    | st.dictionaries(st.text(max_size=5), kids, max_size=4), max_leaves=20))
def test_render_takes_any_json_and_escapes_text(value):
    out = render(value)
    assert "<script" not in out.lower().replace("&lt;script", "")


def test_inline_svg_strips_prolog_and_metadata():
    svg = ('<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd">\n'
           '<svg xmlns="http://www.w3.org/2000/svg"><metadata><rdf:RDF/></metadata><g/></svg>')
    assert inline_svg(svg) == '<svg xmlns="http://www.w3.org/2000/svg"><g/></svg>'


def test_cli_plan_report(cli, tmp_path, monkeypatch):
    out = tmp_path / "plan.html"
    r = cli("plan", "--params", "70B", "--tokens", "15T", "--report", out, "--json")
    assert r.code == 0 and r.json["tokens_per_param"] == pytest.approx(214.3, abs=0.1)
    assert out.read_text().count("<svg") == 2
    monkeypatch.setattr("scalinglab.report._figures", lambda p, laws: [])  # figures checked above
    r = cli("plan", "--compute", "1e24", "--report", out)
    assert r.code == 0 and "report written to" in r.out and "1.00e24 FLOP" in out.read_text()


@pytest.mark.parametrize("path", ["plan.txt", "/no/such/dir/plan.html"])
def test_cli_plan_report_bad_path(cli, path):
    assert_one_line_error(cli("plan", "--compute", "1e24", "--report", path))


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_report_loads_in_headless_chromium_without_console_errors(page, tmp_path):
    html = tmp_path / "plan.html"
    html.write_text(page)
    r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                        "--enable-logging=stderr", "--v=0", "--dump-dom", html.as_uri()],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Training plan: 70.0B parameters" in r.stdout and r.stdout.count("<svg") == 2
    console = [line for line in r.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []


def test_report_with_a_saved_fit_names_its_source(cli, tmp_path, monkeypatch):
    monkeypatch.setattr("scalinglab.report._figures", lambda p, laws: [])  # drawn in test_plots
    fit = tmp_path / "myfit.json"
    fit.write_text('{"E": 1.8, "A": 480, "B": 2000, "alpha": 0.35, "beta": 0.36}')
    out = tmp_path / "plan.html"
    r = cli("plan", "--compute", "1e23", "--law", fit, "--report", out)
    assert r.code == 0, r.err
    page = out.read_text()
    assert "myfit: fit saved in myfit.json" in page


# --- issue 14, item 10: the headline, the command line, a formatted dump ---------------------------

def test_report_headline_has_every_main_fact_with_its_unit(cli, tmp_path, monkeypatch):
    monkeypatch.setattr("scalinglab.report._figures", lambda p, laws: [])  # drawn above
    out = tmp_path / "plan.html"
    r = cli("plan", "--arch", "llama-3-8b", "--gpu", "h100", "--n-gpus", "64", "--days", "14",
            "--price", "2.5", "--report", out)
    assert r.code == 0, r.err
    page = out.read_text()
    head = page[:page.index("<h2>")]
    # 64 H100 x 14 days = 21,504 GPU-hours; x $2.5 = $53,760; x 0.7 kW x PUE 1.1 = 16.6 MWh
    for text in ("8.03B parameters (8,030,261,248), llama-3-8b", "636B tokens (79.2 per parameter)",
                 "3.06e22 FLOP (355 PF-days)", "2.0906 nats/token",
                 "14.0 days on 64 x NVIDIA H100 SXM5 80GB at MFU 0.4", "21.5k GPU-hours",
                 "$53,760.00 at $2.5/GPU-hour", "16.6 MWh (TDP x PUE 1.1)", "FITS: 20.2 GB"):
        assert text in head, text
    for row in ("time", "GPU-hours", "cost", "energy", "memory"):
        assert f"<th>{row}</th>" in head
    assert "scalinglab plan --gpu h100 --n-gpus 64 --days 14 --price 2.5 --arch llama-3-8b" in page
    assert "--report" not in page[page.index("Made by"):page.index("Figures") if "Figures" in page
                                  else page.index("<h2>Assumptions")]


def test_report_without_a_gpu_says_what_is_missing():
    from scalinglab.report import headline

    h = headline(make_plan(n_params=70e9, n_tokens=15e12))
    assert h["time"] == h["GPU-hours"] == h["cost"] == h["energy"] == "n/a (plan with --gpu)"
    assert h["memory"].startswith("n/a")
    assert h["model size N"].startswith("70.0B parameters (70,000,000,000), shape 8192 x 81")


def test_report_dump_shows_bytes_dollars_and_energy_in_units():
    from scalinglab.report import sections_html

    p = make_plan(arch="llama-3-8b", gpu="h100", n_gpus=64, days=14, price=2.5)
    page = sections_html(p.to_dict())
    dump = page[page.index("Every number"):]
    assert "16.1 GB (14.96 GiB)" in dump  # weights_bytes: 2 x 8,030,261,248 bytes
    assert "$53,760.00" in dump and "$2.50" in dump  # cost_usd, price_per_gpu_hour
    assert "16.6 MWh" in dump  # energy_kwh
    assert "3.064e22 FLOP" in dump and "9.894e14 FLOP/s" in dump  # flops, peak_flops
    assert 'title="16060522496.0"' in dump  # the raw value on hover
    memory = dump[dump.index("breakdown"):dump.index("weights_bytes")]
    assert "MB" not in memory  # one scale for the whole breakdown table (GB)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_report_headline_in_headless_chromium(tmp_path):
    html = tmp_path / "plan.html"
    html.write_text(report_html(make_plan(arch="llama-3-8b", gpu="h100", n_gpus=64, days=14,
                                          price=2.5), figures=False,
                                inputs={"--arch": "llama-3-8b", "--gpu": "h100"}))
    r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                        html.as_uri()], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    for text in ("$53,760.00", "21.5k GPU-hours", "FITS: 20.2 GB",
                 "scalinglab plan --arch llama-3-8b --gpu h100"):
        assert text in r.stdout, text
