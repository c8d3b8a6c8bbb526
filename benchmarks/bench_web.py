"""`scalinglab serve`: time from an input change to the updated numbers on the page, measured in
Chromium, and the server's start-up time; each against a baseline measured in the same run.

    python benchmarks/bench_web.py [--changes 40] [--repeat 5]

- update: performance.now() from the input event on #days (or #compute) to the page having drawn
  the server's answer (all sections, both charts); target <= 150 ms median on 2 cores. Baseline: a
  fetch of a static file from the same server and one DOM write, the floor of any update.
- start-up: from spawning `scalinglab serve --port 0` to the first 200 on GET /. Baseline:
  `python -m http.server` (the standard library's server) to its first 200.
Needs the web extra, playwright and Debian's chromium.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

CHANGE = """async ([id, value]) => {
  const n = Number(document.body.dataset.rendered || 0);
  const done = new Promise((resolve) => {
    const seen = new MutationObserver(() => {
      if (Number(document.body.dataset.rendered || 0) > n) { seen.disconnect(); resolve(); }
    });
    seen.observe(document.body, { attributes: true });
  });
  const t0 = performance.now();
  const input = document.getElementById(id);
  input.value = value;
  input.dispatchEvent(new Event("input", { bubbles: true }));
  await done;
  await new Promise(requestAnimationFrame);  // drawn, not only in the DOM
  return performance.now() - t0;
}"""
FLOOR = """async () => {
  const t0 = performance.now();
  const r = await fetch("/static/style.css", { cache: "no-store" });
  document.getElementById("status").textContent = String((await r.text()).length);
  await new Promise(requestAnimationFrame);
  return performance.now() - t0;
}"""


def first_200(cmd, url_of, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd(), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        url = url_of(p)
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5):
                    break
            except OSError:
                time.sleep(0.005)
        times.append(time.perf_counter() - t0)
        p.terminate()
        p.wait()
    return statistics.median(times)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_url(p):
    return p.stderr.readline().split("serving on ")[1].split()[0]


def _runs_csv() -> str:
    import tempfile
    from importlib import resources

    path = Path(tempfile.mkdtemp()) / "chinchilla_runs.csv"
    path.write_text((resources.files("scalinglab") / "data" / "chinchilla_isoflop_epoch.csv").read_text())
    return str(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--changes", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    ports = []
    base = first_200(lambda: [sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                              str(ports.append(free_port()) or ports[-1])],
                     lambda p: f"http://127.0.0.1:{ports[-1]}/", args.repeat)
    ours = first_200(lambda: [sys.executable, "-m", "scalinglab", "serve", "--port", "0"], serve_url,
                     args.repeat)
    print(f"start-up: python -m http.server      {base * 1e3:7.0f} ms (median of {args.repeat})")
    print(f"start-up: scalinglab serve            {ours * 1e3:7.0f} ms   ratio {ours / base:.1f}x")

    server = subprocess.Popen([sys.executable, "-m", "scalinglab", "serve", "--port", "0"], env=ENV,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = serve_url(server)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            full = ("?mode=cluster&days=14&arch=llama-3-8b&gpu=h100-sxm&n_gpus=64&price=2.5"
                    "&inference_tokens=2T&unique_tokens=1T")
            days = [str(7 + i % 50) for i in range(args.changes)]
            cases = {
                "FLOPs, no hardware": ("?mode=compute&compute=1e24", None, "compute",
                                       [f"{1 + i % 9}e{21 + i % 5}" for i in range(args.changes)]),
                "GPUs x days, llama-3-8b on h100 (every section)": (full, None, "days", days),
                "the same with a fit to Chinchilla's 245 runs": (full, _runs_csv(), "days", days),
            }
            results = {}
            for name, (query, csv, field, values) in cases.items():
                page.goto(url.rstrip("/") + "/" + query)
                page.wait_for_selector("body[data-rendered]")
                if csv:
                    page.set_input_files("#csv", csv)
                    page.wait_for_selector("#fit section", timeout=60_000)
                for v in values[:3]:  # warm up
                    page.evaluate(CHANGE, [field, v])
                results[name] = [page.evaluate(CHANGE, [field, v]) for v in values]
            floor = statistics.median([page.evaluate(FLOOR) for _ in range(20)])
            print(f"update: baseline (fetch a static file, one DOM write, one frame): median {floor:6.1f} ms")
            for name, times in results.items():
                med, p90 = statistics.median(times), sorted(times)[int(0.9 * len(times))]
                print(f"update: {name:48s} median {med:6.1f} ms, p90 {p90:6.1f} ms, "
                      f"{med / floor:4.1f}x baseline; <= 150 ms: {'met' if med <= 150 else 'NOT met'}")
            browser.close()
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
