"""The `serve` verb: the planner in a browser (the web extra)."""

from typing import Annotated

import typer

from scalinglab.cli._common import verb_app

app = verb_app()


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (this machine only "
                                                     "by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port (0: any free port).")] = 8000,
    open_: Annotated[bool, typer.Option("--open", help="Open the page in a browser.")] = False,
):
    """A local web page and JSON API for plans: every number from the library (needs the web extra)."""
    from scalinglab.web import serve

    serve(host, port, open_)
