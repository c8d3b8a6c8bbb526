"""Starlette + uvicorn: a static page and one JSON endpoint."""
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

PAGE = "<!doctype html><title>t</title><p id=x>hello</p>"
app = Starlette(routes=[Route("/", lambda r: HTMLResponse(PAGE)),
                        Route("/api/x", lambda r: JSONResponse({"x": 1}), methods=["POST"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
