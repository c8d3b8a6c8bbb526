"""The web API answers with exactly what the CLI prints (byte for byte), errors name their field,
uploads are limited and never touch the server's files. Runs against `scalinglab serve` on a free
loopback port (the web extra)."""

import json
import urllib.error
import urllib.request

import pytest

pytest.importorskip("starlette")

CHINCHILLA_CSV = "N,D,loss\n" + "\n".join(  # five budgets x four sizes under besiroglu2024
    f"{n:.6g},{c / (6 * n):.6g},{1.8172 + 482.01 / n ** 0.3478 + 2085.43 / (c / (6 * n)) ** 0.3658:.5f}"
    for c in (1e18, 3e18, 1e19, 3e19, 1e20) for n in (c ** 0.5 / 30, c ** 0.5 / 15, c ** 0.5 / 8, c ** 0.5 / 4))


def post(url, body, raw: bytes | None = None, ctype="application/json"):
    data = raw if raw is not None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"content-type": ctype}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


# (verb, API body, the same inputs as a command line): hand-written, not taken from the API
SAME = [
    ("plan", {"compute": "1e24"}, ["plan", "--compute", "1e24"]),
    ("plan", {"compute": 1e24, "law": "hoffmann2022"}, ["plan", "--compute", "1e24", "--law", "hoffmann2022"]),
    ("plan", {"arch": "llama-3-8b", "gpu": "h100", "n_gpus": 64, "days": 14},
     ["plan", "--arch", "llama-3-8b", "--gpu", "h100", "--n-gpus", "64", "--days", "14"]),
    ("plan", {"n_params": "70B", "n_tokens": "15T", "gpu": "a100", "mfu": "40%", "price": "$2.50",
              "inference_tokens": "2T", "unique_tokens": "5T", "sparse": True},
     ["plan", "--params", "70B", "--tokens", "15T", "--gpu", "a100", "--mfu", "40%", "--price",
      "$2.50", "--inference-tokens", "2T", "--unique-tokens", "5T", "--sparse"]),
    ("plan", {"loss": 2.1, "gpu": "h100", "dtype": "fp8"}, ["plan", "--loss", "2.1", "--gpu", "h100", "--dtype", "fp8"]),
    ("loss", {"n_params": "70B", "n_tokens": "15T", "law": "all"}, ["loss", "70B", "15T", "--law", "all"]),
    ("loss", {"n_params": 8.67e9, "n_tokens": 178e9, "unique_tokens": 25e9, "law": "muennighoff2023"},
     ["loss", "8.67e9", "178e9", "--unique-tokens", "25e9", "--law", "muennighoff2023"]),
    ("optimal", {"compute": "5.76e23", "law": "all"}, ["optimal", "--compute", "5.76e23", "--law", "all"]),
    ("optimal", {"loss": 1.947, "inference_tokens": "2e12", "law": "sardana2023"},
     ["optimal", "--loss", "1.947", "--inference-tokens", "2e12", "--law", "sardana2023"]),
    ("time", {"n_params": "1.7T", "n_tokens": "13T", "gpu": "a100", "n_gpus": 25000, "mfu": 1},
     ["time", "--params", "1.7T", "--tokens", "13T", "--gpu", "a100", "--n-gpus", "25000", "--mfu", "1"]),
    ("time", {"n_params": "8B", "n_tokens": "15T", "gpu": "h100", "gpu_hours": "1.3M"},
     ["time", "--params", "8B", "--tokens", "15T", "--gpu", "h100", "--gpu-hours", "1.3M"]),
    ("memory", {"arch": "llama-2-7b", "mode": "qlora", "gpu": "a10", "batch": 1, "seq": 512},
     ["memory", "llama-2-7b", "--mode", "qlora", "--gpu", "a10", "--batch", "1", "--seq", "512"]),
    ("memory", {"arch": "llama-3-70b", "mode": "infer", "context": 8192, "gpu": "h100"},
     ["memory", "llama-3-70b", "--mode", "infer", "--context", "8192", "--gpu", "h100"]),
    ("memory", {"arch": "mixtral-8x7b", "mode": "lora", "lora_experts": False, "dropout": 0.1},
     ["memory", "mixtral-8x7b", "--mode", "lora", "--no-lora-experts", "--dropout", "0.1"]),
    ("params", {"arch": "mixtral-8x7b"}, ["params", "mixtral-8x7b"]),
    ("infer", {"arch": "llama-3-70b", "gpu": "h100", "n_gpus": 4, "weights": "fp8", "price": 2.5,
               "max_tpot": "50ms"},
     ["infer", "llama-3-70b", "--gpu", "h100", "--n-gpus", "4", "--weights", "fp8", "--price", "2.5",
      "--max-tpot", "50ms"]),
    ("flops", {"n_tokens": "2T", "arch": "llama-2-7b", "convention": "palm"},
     ["flops", "--arch", "llama-2-7b", "--convention", "palm", "--", "2T"]),
    ("hyperparams", {"compute": "1e20"}, ["hyperparams", "--compute", "1e20"]),
    ("fit", {"dataset": "chinchilla", "bootstrap": 0, "starts": 500, "compute": "1e24"},
     ["fit", "--dataset", "chinchilla", "--bootstrap", "0", "--starts", "500", "--compute", "1e24"]),
]


@pytest.mark.parametrize("verb,body,argv", SAME, ids=[f"{s[0]}-{i}" for i, s in enumerate(SAME)])
def test_api_answers_what_the_cli_prints(web_server, cli, verb, body, argv):
    status, text = post(f"{web_server}/api/{verb}", body)
    expected = cli(argv[0], "--json", *argv[1:])
    assert expected.code == 0, expected.err
    assert status == 200, text
    assert text == expected.out  # byte for byte: the same verb, the same serializer


def test_command_is_the_cli_line(web_server, cli):
    status, text = post(f"{web_server}/api/plan/command", {"compute": 1e24, "gpu": "h100", "mfu": "40%"})
    assert status == 200
    assert json.loads(text) == {"command": "scalinglab plan --compute 1e24 --gpu h100 --mfu 40%",
                                "argv": ["plan", "--compute", "1e24", "--gpu", "h100", "--mfu", "40%"]}


def test_uploaded_config_equals_the_file(web_server, cli, tmp_path, monkeypatch):
    from scalinglab.architecture import load_config_dict

    cfg = load_config_dict("llama-2-7b")
    (tmp_path / "mymodel.json").write_text(json.dumps(cfg))
    monkeypatch.chdir(tmp_path)
    for verb, body, argv in (
            ("params", {}, ["params", "mymodel.json"]),
            ("memory", {"gpu": "a10", "mode": "infer"}, ["memory", "mymodel.json", "--gpu", "a10", "--mode", "infer"]),
            ("infer", {"gpu": "l4", "price": "0.8"}, ["infer", "mymodel.json", "--gpu", "l4", "--price", "0.8"]),
            ("plan", {"n_tokens": "2T", "gpu": "h100", "n_gpus": 8},
             ["plan", "--arch", "mymodel.json", "--tokens", "2T", "--gpu", "h100", "--n-gpus", "8"])):
        status, text = post(f"{web_server}/api/{verb}", {**body, "config": cfg, "config_name": "mymodel.json"})
        assert status == 200, text
        assert text == cli(*argv, "--json").out
    assert json.loads(text)["arch"]["n_params"] == 6_738_415_616  # Llama-2-7B, transformers numel


def test_uploaded_csv_equals_the_file(web_server, cli, tmp_path, monkeypatch):
    (tmp_path / "runs.csv").write_text(CHINCHILLA_CSV)
    monkeypatch.chdir(tmp_path)
    body = {"csv": CHINCHILLA_CSV, "csv_name": "runs.csv", "bootstrap": 200, "compute": "1e22"}
    status, text = post(f"{web_server}/api/fit", body)
    assert status == 200, text
    assert text == cli("fit", "runs.csv", "--bootstrap", "200", "--compute", "1e22", "--json").out
    fitted = json.loads(text)["params"]  # noiseless runs from besiroglu2024 give its constants back
    assert fitted["alpha"] == pytest.approx(0.3478, rel=1e-3) and fitted["E"] == pytest.approx(1.8172, rel=1e-3)


BAD = [  # (verb, body, status, field)
    ("plan", {"compute": "abc"}, 400, "compute"),
    ("plan", {"compute": "1e24", "mfu": "140%"}, 400, "mfu"),  # --mfu needs --gpu first? either names it
    ("plan", {"compute": "1e24", "gpu": "h900"}, 400, "gpu"),
    ("plan", {"compute": "1e24", "gpu": "a100", "dtype": "fp8"}, 400, "dtype"),
    ("plan", {"compute": "1e24", "days": 3, "gpu": "h100"}, 400, "days"),
    ("plan", {"compute": [1]}, 400, "compute"),
    ("plan", {"sparse": "yes"}, 400, "sparse"),
    ("plan", {"bogus": 1}, 400, "bogus"),
    ("plan", {"arch": "llama-3-8b", "n_params": "7B"}, 400, "n_params"),
    ("plan", {"law": "/etc/passwd.json", "compute": 1e24}, 400, "law"),
    ("plan", {"arch": "/etc/passwd", "compute": 1e24}, 400, "arch"),
    ("memory", {}, 400, "arch"),
    ("memory", {"arch": "llama-2-7b", "zero": 7}, 400, "zero"),
    ("memory", {"arch": "llama-2-7b", "n_gpus": 3, "tp": 2}, 400, "n_gpus"),
    ("loss", {"n_params": "-7B", "n_tokens": "1T"}, 400, "n_params"),
    ("infer", {"arch": "llama-3-8b", "gpu": "h100", "max_tpot": "fast"}, 400, "max_tpot"),
    ("infer", {"arch": "llama-3-8b"}, 400, "gpu"),
    ("fit", {"csv": "a,b\n1,2\n"}, 400, "csv"),
    ("fit", {"csv": "N,D,loss\n1,2\n"}, 400, "csv"),
    ("fit", {"csv": 5}, 400, "csv"),
    ("fit", {"csv": "N,D,loss\n" + "1e6,1e9,3\n" * 3000}, 400, "csv"),
    ("fit", {"dataset": "chinchilla", "bootstrap": 10 ** 9}, 400, "bootstrap"),
    ("params", {"config": {"model_type": "llama", "hidden_size": "big"}}, 400, "config"),
    ("params", {"config": "not an object"}, 400, "config"),
    ("params", {"config": {"model_type": "nope"}}, 400, "config"),
    ("params", {"config_name": "x.json"}, 400, "config_name"),
]


@pytest.mark.parametrize("verb,body,status,field", BAD, ids=[f"{b[0]}-{b[3]}-{i}" for i, b in enumerate(BAD)])
def test_bad_input_is_a_4xx_naming_the_field(web_server, verb, body, status, field):
    got, text = post(f"{web_server}/api/{verb}", body)
    assert got == status, text
    err = json.loads(text)
    assert err["field"] == field, err
    assert "\n" not in err["error"] and "Traceback" not in err["error"]


def too_big(web_server, declared: bool) -> int:
    """The status of a 1 MiB + 1 byte body: announced by Content-Length (answered before it is
    sent), or streamed in chunks (counted as it arrives)."""
    import http.client
    from urllib.parse import urlsplit

    u = urlsplit(web_server)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    body = b"x" * (1024 * 1024 + 1)
    if declared:
        c.putrequest("POST", "/api/fit")
        c.putheader("content-type", "application/json")
        c.putheader("content-length", str(len(body)))
        c.endheaders()
    else:
        c.request("POST", "/api/fit", body=iter([body[:65536]] * 16 + [b"x"]), encode_chunked=True,
                  headers={"content-type": "application/json"})
    status = c.getresponse().status
    c.close()
    return status


def test_bodies_that_are_not_inputs(web_server):
    assert too_big(web_server, declared=True) == 413
    assert too_big(web_server, declared=False) == 413
    assert post(f"{web_server}/api/plan", None, raw=b"{")[0] == 400
    assert post(f"{web_server}/api/plan", None, raw=b"[1, 2]")[0] == 400
    assert post(f"{web_server}/api/plan", None, raw=b"{}", ctype="text/plain")[0] == 415
    assert post(f"{web_server}/api/nope", {})[0] == 404
    status, text = post(f"{web_server}/api/page", {"plan": {"compute": "x"}})
    err = json.loads(text)
    assert status == 400 and err["field"] == "compute" and err["in"] == "plan"
    assert "cannot read 'x' as a number" in err["error"]


def test_the_page_is_served_with_its_assets_and_nothing_remote(web_server):
    import re

    with urllib.request.urlopen(web_server + "/") as r:
        html = r.read().decode()
        assert "default-src 'self'" in r.headers["content-security-policy"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/") or a.startswith("data:") for a in assets), assets
    for a in assets:
        if a.startswith("/static/"):
            with urllib.request.urlopen(web_server + a) as r:
                text = r.read().decode()
            assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text), a  # no remote URLs


def test_requests_must_name_this_machine(web_server):
    req = urllib.request.Request(web_server + "/api/laws", headers={"host": "evil.example"})
    with pytest.raises(urllib.error.HTTPError) as e:  # DNS rebinding: a page elsewhere cannot call it
        urllib.request.urlopen(req)
    assert e.value.code == 400


def test_openapi_schema_lists_every_verb(web_server):
    with urllib.request.urlopen(web_server + "/openapi.json") as r:
        doc = json.load(r)
    assert doc["openapi"].startswith("3.1")
    for verb in ("plan", "loss", "optimal", "time", "memory", "params", "fit"):
        assert f"/api/{verb}" in doc["paths"]
    plan = doc["components"]["schemas"]["plan"]["properties"]
    assert {"compute", "n_params", "n_tokens", "loss", "law", "arch", "gpu", "n_gpus", "days", "dtype",
            "mfu", "sparse", "price", "inference_tokens", "unique_tokens", "config"} <= set(plan)


def test_serve_without_the_extra_is_one_line(tmp_path):
    from conftest import assert_one_line_error, run_subprocess

    r = run_subprocess(code="import sys; sys.modules['uvicorn'] = None\n"
                            "from scalinglab.cli import main; main(['serve'])")
    r.code = r.returncode
    r.err = r.stderr
    r.out = r.stdout
    assert_one_line_error(r)
    assert "pip install 'scalinglab[web]'" in r.err


def test_serve_on_a_port_in_use_is_one_line():
    import socket

    from conftest import assert_one_line_error, run_subprocess

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        r = run_subprocess("serve", "--port", str(s.getsockname()[1]))
    r.code, r.err, r.out = r.returncode, r.stderr, r.stdout
    assert_one_line_error(r)
    assert "in use" in r.err
