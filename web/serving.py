"""The HTTP server ``shanyu serve`` runs: waitress, configured here once, so that the benches
(``bench/web_overhead.py``, ``bench/web_floor.py``) measure the server the command runs, as it
runs it.

waitress's own settings were measured for the API's latency (``bench/web_floor.py``: a bare WSGI
callable, 1, 4 and 8 threads, ``asyncore_use_poll``, ``channel_request_lookahead``): none moved a
round trip's median by more than the noise, so only the thread count is set.
"""

from __future__ import annotations

from typing import Any

THREADS = 8


def options() -> dict[str, Any]:
    """waitress's settings for Shanyu (``waitress.adjustments.Adjustments``)."""
    return {"threads": THREADS, "ident": "shanyu"}


def create_server(app: Any, *, host: str, port: int) -> Any:
    """A waitress server for ``app`` on ``host:port`` (port 0: any free port), not yet running."""
    from waitress.server import create_server as waitress_server

    return waitress_server(app, host=host, port=port, **options())


def serve(app: Any, *, host: str, port: int) -> None:
    """Serve ``app`` until interrupted (what ``shanyu serve`` runs)."""
    from waitress import serve as waitress_serve

    waitress_serve(app, host=host, port=port, **options())
