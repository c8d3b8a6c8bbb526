"""`scalinglab serve`: the planner in a browser. app.py is the HTTP API over the CLI's verbs
(verbs.py), view.py and charts.py what the page shows, fits.py a fit to uploaded runs, static/ the
page itself. Nothing here is imported unless `serve` runs; starlette and uvicorn come with the
`web` extra."""

import socket
import sys

from scalinglab.errors import InputError

EXTRA = "serve needs the web extra: pip install 'scalinglab[web]' (starlette and uvicorn)"


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False) -> None:
    """Serve the page and the API on host:port until Ctrl+C (port 0: any free port)."""
    try:
        import starlette  # noqa: F401
        import uvicorn
    except ImportError:
        raise InputError(EXTRA) from None
    if not 0 <= port <= 65535:
        raise InputError(f"--port {port} must be between 0 and 65535")
    sock = bind(host, port)
    from scalinglab.web.app import create_app

    url = f"http://{host if ':' not in host else f'[{host}]'}:{sock.getsockname()[1]}/"
    config = uvicorn.Config(create_app(host), log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    print(f"scalinglab: serving on {url} (Ctrl+C to stop)", file=sys.stderr, flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"scalinglab: warning: {host} is not this machine's loopback address: anyone who "
              "can reach it can use this server", file=sys.stderr)
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(0.5, webbrowser.open, (url,)).start()
    server.run(sockets=[sock])


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or one line saying why not (a port in use)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as e:
        raise InputError(f"cannot serve on {host!r}: {getattr(e, 'strerror', None) or e}") from None
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as e:
        sock.close()
        hint = f" (another server is there: try --port {port + 1}, or --port 0 for any free port)" \
            if e.errno in (98, 48, 10048) else ""
        raise InputError(f"cannot serve on {host}:{port}: {e.strerror or e}{hint}") from None
    sock.set_inheritable(True)
    return sock
