"""Screenshots of `scalinglab serve` for docs/ (laptop and phone width), with Chromium:

    python scripts/web_screenshots.py [--out docs]

Plans Llama-3-8B on 64 H100s for 14 days at $2.50/GPU-hour, with Chinchilla's runs (Epoch AI's
digitisation, shipped in the package) uploaded as a CSV, so that the charts show a fit and its
bootstrap bands."""

import argparse
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PLAN = "/?mode=cluster&days=14&arch=llama-3-8b&gpu=h100-sxm&n_gpus=64&price=2.5&inference_tokens=2T"
SIZES = {"laptop": (1366, 900), "phone": (390, 844)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "docs"))
    out = Path(ap.parse_args().out)
    from playwright.sync_api import sync_playwright

    env = {"PYTHONPATH": str(ROOT / "src")}
    server = subprocess.Popen([sys.executable, "-m", "scalinglab", "serve", "--port", "0"],
                              stderr=subprocess.PIPE, text=True, env={**__import__("os").environ, **env})
    url = server.stderr.readline().split("serving on ")[1].split()[0].rstrip("/")
    csv = Path(tempfile.mkdtemp()) / "chinchilla_runs.csv"
    csv.write_text((resources.files("scalinglab") / "data" / "chinchilla_isoflop_epoch.csv").read_text())
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for name, (w, h) in SIZES.items():
                page = browser.new_page(viewport={"width": w, "height": h}, device_scale_factor=1)
                page.goto(url + PLAN)
                page.wait_for_selector("body[data-rendered]")
                page.set_input_files("#csv", str(csv))
                page.wait_for_selector("#fit section", timeout=60_000)
                time.sleep(0.3)
                path = out / f"web-{name}.png"
                page.screenshot(path=str(path), full_page=True)
                print(path)
            browser.close()
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
