"""FastAPI + uvicorn: a static page and one JSON endpoint with a pydantic body."""
import sys

import uvicorn
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

PAGE = "<!doctype html><title>t</title><p id=x>hello</p>"
app = FastAPI(docs_url=None, redoc_url=None)


class Body(BaseModel):
    compute: float | str | None = None


@app.get("/", response_class=HTMLResponse)
def page():
    return PAGE


@app.post("/api/x")
def x(body: Body):
    return {"x": body.compute}


uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
