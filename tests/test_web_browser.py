"""The page in a real browser (Debian's Chromium driven by Playwright): load it, change inputs,
and check that every number it shows equals `scalinglab plan --json` for the same inputs (12 input
sets); upload a CSV and a config.json; reopen from a shared link; copy as command and run it; no
console errors; no request to any host but the local server."""

import json
import shlex
import shutil
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette")
sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip("no chromium (apt-get install chromium)", allow_module_level=True)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

from test_web_api import CHINCHILLA_CSV  # noqa: E402


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Page:
    """A page on the server that records console errors and every URL it requests."""

    def __init__(self, browser, url, **context):
        self.ctx = browser.new_context(**context)
        self.page = self.ctx.new_page()
        self.errors, self.requests = [], []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(url)
        self.wait()

    def _console(self, m):
        """Errors and warnings, less Chromium's note on each 4xx answer (the page shows those:
        an input set half-way, e.g. N typed before the architecture is cleared, is bad input)."""
        if m.type in ("error", "warning") and not m.text.startswith(
                "Failed to load resource: the server responded with a status of 4"):
            self.errors.append(m.text)

    def wait(self, before: int = 0, timeout: float = 30.0):
        """Until the page has drawn an answer after `before` draws, and has no request open
        (polled from here: the page's CSP forbids the eval that wait_for_function needs)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.page.evaluate("[Number(document.body.dataset.rendered || 0), "
                                  "document.body.classList.contains('busy')]") [0] > before \
                    and not self.page.evaluate("document.body.classList.contains('busy')"):
                return
            time.sleep(0.01)
        raise TimeoutError(f"the page drew nothing new after {before} draws in {timeout} s")

    @property
    def rendered(self) -> int:
        return int(self.page.evaluate("document.body.dataset.rendered || 0"))

    def set(self, **values):
        """Set inputs by id (None clears; True/False ticks), each one an input event, as typing does."""
        for name, v in values.items():
            n = self.rendered
            if name == "mode":
                if self.page.is_checked(f"input[name=mode][value={v}]"):
                    continue
                self.page.check(f"input[name=mode][value={v}]")
            elif isinstance(v, bool):
                if self.page.is_checked(f"#{name}") == v:
                    continue
                self.page.set_checked(f"#{name}", v)
            elif self.page.input_value(f"#{name}") == (v or ""):
                continue
            elif self.page.eval_on_selector(f"#{name}", "e => e.tagName") == "SELECT":
                self.page.select_option(f"#{name}", v or "")
            else:
                self.page.fill(f"#{name}", v or "")
            self.wait(n)

    def shown(self, doc: str = "plan") -> list:
        """(JSON path, raw value) of every number on the page from one document: the plan's,
        or `infer`'s (the serving section)."""
        return self.page.eval_on_selector_all(
            f"#sections section[data-doc={doc}] output[data-path]",
            "es => es.map(e => [e.dataset.path, e.dataset.value])")

    def error(self) -> str:
        return self.page.inner_text("#error") if self.page.is_visible("#error") else ""


def at(doc, path):
    for k in path.split("."):
        doc = doc[int(k)] if isinstance(doc, list) else doc[k]
    return doc


def assert_shows(page, doc, kind="plan"):
    shown = page.shown(kind)
    assert len(shown) > 20
    for path, raw in shown:
        assert json.loads(raw) == at(doc, path), path


# (inputs set on the page, the same plan as a command line), hand-written
CASES = [
    (dict(mode="cluster", n_gpus="64", days="14", arch="llama-3-8b", gpu="h100-sxm"),
     ["--arch", "llama-3-8b", "--gpu", "h100-sxm", "--n-gpus", "64", "--days", "14"]),
    (dict(days="30", price="2.5"),
     ["--arch", "llama-3-8b", "--gpu", "h100-sxm", "--n-gpus", "64", "--days", "30", "--price", "2.5"]),
    (dict(mfu="55%", dtype="fp8"),
     ["--arch", "llama-3-8b", "--gpu", "h100-sxm", "--n-gpus", "64", "--days", "30", "--price", "2.5",
      "--mfu", "55%", "--dtype", "fp8"]),
    (dict(mode="compute", compute="1e24", arch="", dtype="bf16", mfu="", price=""),
     ["--compute", "1e24", "--gpu", "h100-sxm", "--n-gpus", "64"]),
    (dict(law="hoffmann2022"),
     ["--compute", "1e24", "--gpu", "h100-sxm", "--n-gpus", "64", "--law", "hoffmann2022"]),
    (dict(compute="3.64e3 PF-days", gpu="a100-sxm", sparse=True),
     ["--compute", "3.64e3 PF-days", "--gpu", "a100-sxm", "--n-gpus", "64", "--sparse", "--law", "hoffmann2022"]),
    (dict(mode="nd", n_params="70B", n_tokens="15T", sparse=False, law="besiroglu2024"),
     ["--params", "70B", "--tokens", "15T", "--gpu", "a100-sxm", "--n-gpus", "64"]),
    (dict(inference_tokens="2T", unique_tokens="5T"),
     ["--params", "70B", "--tokens", "15T", "--gpu", "a100-sxm", "--n-gpus", "64",
      "--inference-tokens", "2T", "--unique-tokens", "5T"]),
    (dict(n_gpus="", gpu="", inference_tokens="", unique_tokens=""), ["--params", "70B", "--tokens", "15T"]),
    (dict(n_params="", arch="mixtral-8x7b", gpu="h200", n_tokens="2T"),
     ["--arch", "mixtral-8x7b", "--tokens", "2T", "--gpu", "h200"]),
    (dict(mode="cluster", n_gpus="2048", days="90", arch="llama-3-70b", gpu="mi300x", price="$3"),
     ["--arch", "llama-3-70b", "--gpu", "mi300x", "--n-gpus", "2048", "--days", "90", "--price", "$3"]),
    (dict(arch="gpt-2", n_gpus="1", days="1", gpu="a10", price="", law="muennighoff2023"),
     ["--arch", "gpt-2", "--gpu", "a10", "--n-gpus", "1", "--days", "1", "--law", "muennighoff2023"]),
]


@pytest.fixture(scope="module")
def planner(browser, web_server):
    p = Page(browser, web_server + "/")
    yield p
    p.ctx.close()


def test_page_numbers_equal_the_cli_json(planner, cli):
    for inputs, argv in CASES:  # each step changes some inputs of the one before, as a person does
        planner.set(**inputs)
        assert planner.error() == "", (inputs, planner.error())
        expected = cli("plan", "--json", *argv)
        assert expected.code == 0, expected.err
        assert_shows(planner, expected.json)
        assert planner.page.inner_text("#command") != ""
    assert planner.errors == []


def test_the_view_reads_as_the_cli_does(planner, cli):
    from scalinglab.units import format_bytes, format_count, format_flops

    planner.set(mode="cluster", arch="llama-3-8b", gpu="h100-sxm", n_gpus="64", days="14", price="",
                law="besiroglu2024", mfu="", dtype="bf16")
    doc = cli("plan", "--json", "--arch", "llama-3-8b", "--gpu", "h100-sxm", "--n-gpus", "64",
              "--days", "14").json
    text = planner.page.inner_text("#sections")
    for words in (format_flops(doc["flops"]), format_count(doc["n_params"]), format_count(doc["n_tokens"]),
                  f"{doc['tokens_per_param']:,.1f}", f"{doc['hardware']['days']:,.1f} days",
                  format_count(doc["hardware"]["gpu_hours"]), "FITS on NVIDIA H100",
                  format_bytes(doc["memory"]["per_gpu_bytes"]), f"{doc['loss']:.4f}",
                  "assumptions", "MFU: 0.4 (assumed default)"):
        assert words in text, words
    assert "3.06e22 FLOP" in text and "14.0 days" in text  # 64 x 989.4 TFLOP/s x 0.4 x 14 days


def test_bad_input_is_shown_on_its_field(planner):
    planner.set(mode="compute", compute="lots")
    assert "cannot read 'lots'" in planner.error()
    assert planner.page.get_attribute("#compute", "aria-invalid") == "true"
    planner.set(compute="1e24")
    assert planner.error() == "" and planner.page.get_attribute("#compute", "aria-invalid") is None


def test_shared_link_reopens_the_same_plan(browser, web_server, planner, cli):
    planner.set(mode="nd", n_params="7B", n_tokens="2T", arch="", gpu="h100-sxm", mfu="0.5",
                inference_tokens="1T", law="hoffmann2022-exact")
    link, before = planner.page.url, planner.shown()
    other = Page(browser, link)
    assert other.shown() == before
    assert other.page.inner_text("#command") == planner.page.inner_text("#command")
    assert other.page.input_value("#mfu") == "0.5" and other.page.is_checked("input[value=nd]")
    other.ctx.close()


def test_copy_as_command_round_trip(browser, web_server, cli):
    p = Page(browser, web_server + "/?mode=cluster&n_gpus=16&days=7&arch=mistral-7b&gpu=h100-sxm&price=2",
             permissions=["clipboard-read", "clipboard-write"])
    p.page.click("#copy")
    p.page.wait_for_selector("#copied:not(:empty)")
    copied = p.page.evaluate("navigator.clipboard.readText()")
    assert copied == p.page.inner_text("#command")
    argv = shlex.split(copied)
    assert argv[:2] == ["scalinglab", "plan"]
    doc = cli(*argv[1:2], "--json", *argv[2:]).json
    assert_shows(p, doc)
    assert p.errors == []
    p.ctx.close()


def test_upload_csv_and_config(browser, web_server, cli, tmp_path, monkeypatch):
    from scalinglab.architecture import load_config_dict

    (tmp_path / "runs.csv").write_text(CHINCHILLA_CSV)
    (tmp_path / "mymodel.json").write_text(json.dumps(load_config_dict("llama-2-7b")))
    monkeypatch.chdir(tmp_path)
    p = Page(browser, web_server + "/?mode=nd&n_tokens=2T&gpu=h100-sxm&n_gpus=8")
    n = p.rendered
    p.page.set_input_files("#config", str(tmp_path / "mymodel.json"))
    p.wait(n)
    assert "--arch mymodel.json" in p.page.inner_text("#command")
    assert_shows(p, cli("plan", "--json", "--arch", "mymodel.json", "--tokens", "2T", "--gpu", "h100-sxm",
                             "--n-gpus", "8").json)
    assert "6,738,415,616" in p.page.inner_text("#s-model")  # Llama-2-7B, exact
    n = p.rendered
    p.page.set_input_files("#csv", str(tmp_path / "runs.csv"))
    p.wait(n)
    fit = cli("fit", "runs.csv", "--json").json
    shown = p.page.eval_on_selector_all("#fit output[data-path]", "es => es.map(e => [e.dataset.path, e.dataset.value])")
    assert {path for path, _ in shown} >= {"params.E", "params.alpha", "params.beta", "objective"}
    for path, raw in shown:
        assert json.loads(raw) == at(fit, path), path
    series = p.page.eval_on_selector_all("#isoflop .legend li", "es => es.map(e => e.textContent)")
    assert "your runs" in series and any("your fit" in s for s in series)
    assert p.page.locator("#isoflop polygon.band").count() >= 1  # bootstrap bands
    assert p.page.locator("#frontier circle.runs").count() == 20  # the 20 runs
    # the shared link keeps the uploaded config (not the runs)
    other = Page(browser, p.page.url)
    assert other.shown() == [s for s in p.shown()]
    assert "mymodel.json" in other.page.inner_text("#config-state")
    assert p.errors == [] and other.errors == []
    other.ctx.close()
    p.ctx.close()


def test_serving_cost_equals_infer(planner, cli):
    planner.set(mode="nd", n_params="", n_tokens="2T", arch="llama-3-70b", gpu="h100-sxm", n_gpus="",
                price="2.5", serve_gpus="4", inference_tokens="", unique_tokens="")
    assert planner.error() == "", planner.error()
    doc = cli("infer", "--json", "llama-3-70b", "--gpu", "h100-sxm", "--price", "2.5", "--n-gpus", "4").json
    assert_shows(planner, doc, "infer")
    text = planner.page.inner_text("#s-serving")
    assert "scalinglab infer --gpu h100-sxm --price 2.5 --n-gpus 4 llama-3-70b" in text
    assert f"${doc['rows'][0]['usd_per_million_output_tokens']:.3g}"[:4] in text
    planner.set(serve_gpus="")


def test_charts_hover_and_keyboard(planner):
    planner.set(mode="compute", compute="1e23", arch="", gpu="")
    chart = planner.page.locator("#isoflop")
    chart.locator("circle.hit").nth(10).hover(force=True)  # curves cross: the top one answers
    assert ": N = " in chart.locator(".readout").inner_text() and ", loss " in chart.locator(".readout").inner_text()
    chart.focus()
    planner.page.keyboard.press("End")
    last = chart.locator(".readout").inner_text()
    planner.page.keyboard.press("ArrowLeft")
    assert chart.locator(".readout").inner_text() not in ("", last)
    planner.page.keyboard.press("Tab")  # focus moves on through the page


def test_every_input_is_labelled_and_keyboard_reachable(planner):
    unlabelled = planner.page.eval_on_selector_all(
        "input, select", "es => es.filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.id || e.name)")
    assert unlabelled == []
    planner.page.focus("#law")
    planner.page.keyboard.press("Tab")
    assert planner.page.evaluate("document.activeElement.id") == "arch"


def test_no_request_leaves_the_server(planner, web_server):
    assert planner.requests and all(u.startswith(web_server + "/") or u.startswith("data:")
                                    for u in planner.requests), planner.requests
