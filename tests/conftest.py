"""Shared test helpers: run the CLI in-process and in a subprocess."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scalinglab.cli import main

SRC = str(Path(__file__).resolve().parents[1] / "src")
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"


class Result:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err

    @property
    def json(self):
        return json.loads(self.out)


@pytest.fixture
def cli(capsys):
    """cli("loss", "70B", "15T") -> Result(code, out, err), in-process."""

    def run(*args):
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def run_subprocess(*args, code: str | None = None, env: dict | None = None):
    """Run `python -m scalinglab ARGS` (or `python -c CODE`) with this checkout on the path
    (and `env` added to the environment)."""
    env = {**os.environ, **(env or {}),
           "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "scalinglab", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def assert_one_line_error(result):
    """Bad input: exit 2, exactly one line on stderr, nothing on stdout, no traceback."""
    assert result.code == 2, (result.code, result.out, result.err)
    assert result.err.strip().count("\n") == 0, result.err
    assert "Traceback" not in result.err
    assert result.err.startswith("scalinglab: error:")


HEAVY = ("scipy", "matplotlib", "pandas", "torch", "transformers")


def heavy_imports_after(*args) -> list:
    """The heavy modules that running `scalinglab ARGS` (in a fresh interpreter) imported."""
    code = ("import sys; from scalinglab.cli import main\n"
            f"try:\n    main({[str(a) for a in args]!r})\nexcept SystemExit: pass\n"
            f"print('HEAVY', [m for m in {HEAVY!r} if m in sys.modules])")
    r = run_subprocess(code=code)
    assert r.returncode == 0, r.stderr
    return ast.literal_eval(r.stdout.split("HEAVY", 1)[1].strip())


@pytest.fixture(scope="module")
def web_server():
    """`scalinglab serve --port 0` in a subprocess: yields its base URL (http://127.0.0.1:PORT)."""
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.Popen([sys.executable, "-m", "scalinglab", "serve", "--port", "0"], env=env,
                         stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    line = p.stderr.readline()
    if "serving on" not in line:
        p.kill()
        raise RuntimeError(f"serve did not start: {line}{p.stderr.read()}")
    url = line.split("serving on ")[1].split()[0].rstrip("/")
    yield url
    p.terminate()
    p.wait(timeout=10)
