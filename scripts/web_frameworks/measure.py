"""Measure candidate web stacks for `scalinglab serve` (docs/web.md): install size, start-up time,
what the served page loads from outside the server. Each stack lives in its own fresh venv under
ROOT (base is an empty one, the baseline for sizes):

    for spec in "base:" "starlette:starlette uvicorn" "fastapi:fastapi uvicorn" "nicegui:nicegui" \
                "shiny:shiny"; do
      name=${spec%%:*}; python3 -m venv --clear /tmp/fw/$name
      [ -n "${spec#*:}" ] && /tmp/fw/$name/bin/pip install -q --no-cache-dir ${spec#*:}
    done
    python scripts/web_frameworks/measure.py /tmp/fw
"""
import json
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).parent
STACKS = {"starlette": "starlette_app.py", "fastapi": "fastapi_app.py", "nicegui": "nicegui_app.py",
          "shiny": "shiny_app.py"}


def site_bytes(venv: Path) -> int:
    sp = next(venv.glob("lib/python*/site-packages"))
    return sum(f.stat().st_size for f in sp.rglob("*") if f.is_file())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_once(python: Path, script: Path) -> tuple[float, str]:
    port = free_port()
    t0 = time.perf_counter()
    p = subprocess.Popen([str(python), str(script), str(port)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    body = r.read().decode()
                return time.perf_counter() - t0, body
            except OSError:
                if p.poll() is not None:
                    raise RuntimeError(p.stderr.read().decode()[-2000:])
                time.sleep(0.01)
    finally:
        p.terminate()
        p.wait()


def external(html: str) -> list:
    """URLs in the page that point off the server."""
    return sorted(set(re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", html)))


def main(root: Path, repeats: int = 5):
    base = site_bytes(root / "base")
    out = {}
    for name, script in STACKS.items():
        venv = root / name
        if not venv.exists():
            continue
        py = venv / "bin" / "python"
        n_pkgs = len(json.loads(subprocess.check_output([str(py), "-m", "pip", "list", "--format",
                                                         "json"], stderr=subprocess.DEVNULL)))
        times, html = [], ""
        for _ in range(repeats):
            t, html = start_once(py, HERE / script)
            times.append(t)
        out[name] = {"install_mb": round((site_bytes(venv) - base) / 1e6, 1),
                     "packages": n_pkgs - 1,  # less pip
                     "start_s_median": round(statistics.median(times), 3),
                     "start_s_min": round(min(times), 3), "page_bytes": len(html),
                     "external_urls": external(html)}
        print(name, out[name], flush=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
