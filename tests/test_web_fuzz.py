"""The API fuzzed against its own OpenAPI schema (schemathesis): for every operation, requests
that follow the schema and requests that break it; each gets a JSON answer, a bad one a 4xx
naming the field, never a 5xx or a traceback. Bounded: EXAMPLES per operation and mode, a few
hundred requests in all, derandomized (the same requests every run)."""

import json

import pytest

pytest.importorskip("starlette")
schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402

from scalinglab.web.app import schema  # noqa: E402
from scalinglab.web.verbs import Verbs  # noqa: E402

EXAMPLES = 8
SENT = {}  # status class -> requests sent


def teardown_module():
    print(f"\nfuzzing: {sum(SENT.values())} requests, by status class: {SENT}")
OPERATIONS = [r.ok() for r in schemathesis.openapi.from_dict(schema(Verbs())).get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("op", OPERATIONS, ids=[o.label for o in OPERATIONS])
def test_no_request_breaks_the_server(web_server, op, mode):
    if op.method.upper() == "GET" and mode == GenerationMode.NEGATIVE:
        return  # a listing takes no input: nothing to get wrong
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(op.as_strategy(mode))
    def check(case):
        response = case.call(base_url=web_server, timeout=60)
        SENT[response.status_code // 100] = SENT.get(response.status_code // 100, 0) + 1
        assert response.status_code < 500, (case.path, case.body, response.text[:500])
        body = json.loads(response.text)  # always JSON
        if response.status_code >= 400:
            assert set(body) >= {"error", "field"}, body
            assert "Traceback" not in body["error"] and "\n" not in body["error"]
            if response.status_code == 400 and isinstance(case.body, dict) and case.body \
                    and not op.path.endswith("/page"):
                assert body["field"] is not None, (case.path, case.body, body)  # names its field

    check()
