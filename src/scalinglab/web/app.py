"""The HTTP JSON API over the CLI's verbs, and the page (Starlette; served by uvicorn).

POST /api/VERB takes the verb's inputs as a JSON object (make_plan's names for plan; numbers or
the texts the CLI reads, "7B", "1e24", "40%") and answers with exactly what `scalinglab VERB
--json` prints. POST /api/VERB/command gives that command line. POST /api/page is the page's one
call: the plan document, the command, what the page shows (view.py) and the charts (charts.py).
GET /openapi.json describes it all. Bad input: 4xx {"error": one line, "field": its name}.
Nothing here reads or writes the server's files (uploads arrive as JSON text)."""

import json
import sys
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from scalinglab import __version__
from scalinglab.results import to_json
from scalinglab.web import charts, view
from scalinglab.web.fits import Fits
from scalinglab.web.verbs import VERBS, FieldError, Verbs

STATIC = Path(__file__).parent / "static"
MAX_BODY = 1024 * 1024  # bytes of a request body (an uploaded CSV or config.json travels in it)
LISTS = {"laws": ["laws"], "gpus": ["gpus"], "presets": ["params", "--list"],
         "precision": ["precision"]}
SECURITY = {  # the page may talk to this server only: no CDN, no fonts, no other host
    "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}


def _error(status: int, message: str, field: str | None = None, where: str | None = None):
    body = {"error": " ".join(str(message).split()), "field": field}
    if where:
        body["in"] = where
    return JSONResponse(body, status_code=status, headers=SECURITY)


def _json(text: str) -> Response:
    return Response(text + "\n", media_type="application/json", headers=SECURITY)


async def _body(request: Request):
    """The JSON body, at most MAX_BODY bytes (a FieldError or an error response otherwise)."""
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if ctype != "application/json":
        return _error(415, f"send the inputs as application/json, not {ctype}")
    size = request.headers.get("content-length")
    if size is not None and (not size.isdigit() or int(size) > MAX_BODY):
        return _error(413, f"request body over {MAX_BODY // 1024} KiB (uploads are limited to that)")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            return _error(413, f"request body over {MAX_BODY // 1024} KiB (uploads are limited to that)")
    try:
        return json.loads(raw.decode("utf-8") if raw else "{}")
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        return _error(400, f"the request body is not valid JSON ({e})")


def create_app(host: str = "127.0.0.1") -> Starlette:
    """The app; requests must name this machine (or `host`) in their Host header, so that a web
    page elsewhere cannot reach it through a DNS name that resolves to 127.0.0.1."""
    verbs = Verbs()
    fits = Fits(verbs)

    async def run(call, *args):
        try:
            return await run_in_threadpool(call, *args)
        except FieldError as e:
            return _error(400, str(e), e.field)

    async def api(request: Request):
        verb = request.path_params["verb"]
        if verb not in VERBS:
            return _error(404, f"no verb {verb!r}; one of: {', '.join(VERBS)}")
        body = await _body(request)
        if isinstance(body, Response):
            return body
        if request.path_params.get("what") == "command":
            out = await run(lambda: {"command": verbs.command(verb, body), "argv": verbs.argv(verb, body)})
            return out if isinstance(out, Response) else JSONResponse(out, headers=SECURITY)
        doc = await run(verbs.run, verb, body)
        return doc if isinstance(doc, Response) else _json(to_json(doc))

    async def listing(request: Request):
        name = request.url.path.rsplit("/", 1)[-1]
        return _json(to_json(await run_in_threadpool(verbs.run_argv, LISTS[name])))

    async def page(request: Request):
        body = await _body(request)
        if isinstance(body, Response):
            return body
        parts = {"plan", "fit", "infer"}
        if not isinstance(body, dict) or set(body) - parts:
            extra = sorted(set(body) - parts) if isinstance(body, dict) else [None]
            return _error(400, "the page sends {\"plan\": {...}, \"fit\": {...}, \"infer\": {...}}",
                          extra[0])
        try:
            out = await run_in_threadpool(page_data, body.get("plan", {}), body.get("fit"),
                                          body.get("infer"))
        except _Where as e:
            return _error(400, str(e.error), e.error.field, e.where)
        return _json(to_json(out, indent=None))

    def page_data(plan_body, fit_body, infer_body) -> dict:
        try:
            doc = json.loads(to_json(verbs.run("plan", plan_body)))  # as printed
        except FieldError as e:
            raise _Where(e, "plan") from None
        out = {"plan": doc, "command": verbs.command("plan", plan_body), "fit": None}
        overlay = None
        if fit_body is not None:
            try:
                fit_doc, overlay = fits.get(fit_body)
            except FieldError as e:
                raise _Where(e, "fit") from None
            out["fit"] = {"doc": json.loads(to_json(fit_doc)), "command": verbs.command("fit", fit_body),
                          "view": view.fit_view(json.loads(to_json(fit_doc)))}
        serving = None
        if infer_body is not None:
            try:
                serving = json.loads(to_json(verbs.run("infer", infer_body)))
            except FieldError as e:
                raise _Where(e, "infer") from None
            out["infer"] = {"doc": serving, "command": verbs.command("infer", infer_body)}
        out.update(view=view.plan_view(doc, serving), charts=charts.plan_charts(doc, overlay))
        return out

    async def openapi(request: Request):
        return JSONResponse(schema(verbs), headers=SECURITY)

    async def index(request: Request):
        return FileResponse(STATIC / "index.html", headers={**SECURITY, "cache-control": "no-cache"})

    async def not_found(request: Request, exc):
        status = getattr(exc, "status_code", 404)
        return _error(status, getattr(exc, "detail", None) or "not found")

    async def server_error(request: Request, exc):
        print(f"scalinglab serve: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return _error(500, f"internal error ({type(exc).__name__}); please report it")

    routes = [Route("/", index), Route("/openapi.json", openapi),
              Route("/api/page", page, methods=["POST"]),
              *(Route(f"/api/{name}", listing) for name in LISTS),
              Route("/api/{verb}", api, methods=["POST"]),
              Route("/api/{verb}/{what:str}", api, methods=["POST"]),
              Mount("/static", StaticFiles(directory=STATIC), name="static")]
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    hosts = ["*"] if host in ("0.0.0.0", "::", "") else ["127.0.0.1", "localhost", "[::1]", "::1", host]
    return Starlette(routes=routes, middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts)],
                     exception_handlers={404: not_found, 405: not_found, Exception: server_error})


class _Where(Exception):
    def __init__(self, error: FieldError, where: str):
        self.error, self.where = error, where


def schema(verbs: Verbs) -> dict:
    """The OpenAPI 3.1 document: one request schema per verb, from the CLI command's signature."""
    err = {"description": "bad input: one line naming the field", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}}
    errors = {"400": err, "413": err, "415": err}
    ok = {"description": "what `scalinglab VERB --json` prints", "content": {"application/json": {
        "schema": {"type": "object"}}}}
    paths = {}
    for name in VERBS:
        v = verbs[name]
        req = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{name}"}}}}
        paths[f"/api/{name}"] = {"post": {
            "operationId": name, "summary": " ".join((v.command.help or name).split()),
            "requestBody": req, "responses": {"200": ok, **errors}}}
        paths[f"/api/{name}/command"] = {"post": {
            "operationId": f"{name}_command", "summary": f"The `scalinglab {name}` command line",
            "requestBody": req, "responses": {"200": {"description": "the command", "content": {
                "application/json": {"schema": {"type": "object", "properties": {
                    "command": {"type": "string"}, "argv": {"type": "array",
                                                            "items": {"type": "string"}}}}}}},
                **errors}}}
    for name in LISTS:
        paths[f"/api/{name}"] = {"get": {"operationId": f"list_{name}",
                                         "summary": f"`scalinglab {' '.join(LISTS[name])} --json`",
                                         "responses": {"200": ok}}}
    paths["/api/page"] = {"post": {
        "operationId": "page", "summary": "What the page shows for a plan (a fit, the serving cost)",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": False, "properties": {
                "plan": {"$ref": "#/components/schemas/plan"},
                "fit": {"$ref": "#/components/schemas/fit"},
                "infer": {"$ref": "#/components/schemas/infer"}}}}}},
        "responses": {"200": {"description": "plan, command, view, charts, fit", "content": {
            "application/json": {"schema": {"type": "object"}}}}, **errors}}}
    components = {name: verbs[name].schema() for name in VERBS}
    components["Error"] = {"type": "object", "required": ["error", "field"], "properties": {
        "error": {"type": "string"}, "field": {"type": ["string", "null"]},
        "in": {"type": "string"}}}
    return {"openapi": "3.1.0", "info": {"title": "scalinglab", "version": __version__,
                                         "description": __doc__.split("\n\n")[0]},
            "paths": paths, "components": {"schemas": components}}
