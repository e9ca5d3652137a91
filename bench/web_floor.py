#!/usr/bin/env python
"""Web floor — what one HTTP round trip costs before Shanyu's app does anything.

The client is ``bench/web_overhead.py``'s (``http.client``, one kept-alive HTTP/1.1 connection,
a small JSON body, reading the JSON answer). Each server runs in a thread of this process, as in
that bench. Measured, interleaved request by request:

- ``wsgi/waitress``: a bare WSGI callable (no framework) that answers ``{"status": "ok"}``, behind
  waitress configured as ``shanyu serve`` runs it (``web.serving``);
- ``wsgi/werkzeug``: the same callable behind werkzeug's ``make_server`` (HTTP/1.1, TCP_NODELAY);
- ``flask``: a bare Flask app, one ``POST`` route answering a dict, behind waitress;
- ``apiflask``: a bare APIFlask app, one route with an input and an output schema, behind waitress;
- ``shanyu /healthz``: Shanyu's app (``web.app.create_app``), its empty round trip, behind waitress.

Also timed without any server (the WSGI callable called in-process with a prepared environ): what
each framework alone adds per request. Everything here is reported, nothing scored: the target is
``web_overhead.py``'s, and these figures say how much of it the server and the framework take.
"""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from werkzeug.serving import make_server  # noqa: E402

from bench.common import Report, header, median, ms, now_ns, parser  # noqa: E402
from bench.web_overhead import Client, KeepAlive  # noqa: E402
from bench.wsgi_bare import BODY, WSGIApp, bare_apiflask, bare_flask, bare_wsgi, in_process  # noqa: E402


def shanyu_app(directory: str) -> WSGIApp:
    from web.app import create_app
    from workflow import migrate
    from workflow.store import Database

    url = f"sqlite:///{directory}/floor.db"
    migrate.upgrade(Database(url))
    return create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret"})


class Served:
    """One app behind one server in a thread, with one client connection."""

    def __init__(self, app: WSGIApp, server: str, path: str, method: str) -> None:
        self.app, self.path, self.method = app, path, method
        if server == "waitress":
            from web.serving import Background

            self.server: Any = Background(app)
            port = self.server.port
        else:
            self.server = make_server("127.0.0.1", 0, app, request_handler=KeepAlive)
            port = self.server.server_port
            threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.kind = server
        self.client = Client(port)

    def once(self) -> int:
        t0 = now_ns()
        self.client.ok(self.method, self.path, BODY if self.method == "POST" else None)
        return now_ns() - t0

    def in_process(self) -> int:
        """The app alone: a prepared environ, no socket, no HTTP parsing."""
        return in_process(self.app, self.method, self.path)

    def close(self) -> None:
        self.client.conn.close()
        if self.kind == "waitress":
            self.server.stop()
        else:
            self.server.shutdown()
            self.server.server_close()


def main() -> int:
    p = parser(__doc__.splitlines()[1], postgres=False)
    args = p.parse_args()
    report = Report("web_floor", args)
    rounds = 200 if args.quick else 3000
    with tempfile.TemporaryDirectory(prefix="shanyu-floor-") as tmp:
        sides = {
            "bare WSGI callable, waitress": Served(bare_wsgi, "waitress", "/ping", "POST"),
            "bare WSGI callable, werkzeug": Served(bare_wsgi, "werkzeug", "/ping", "POST"),
            "bare Flask app, waitress": Served(bare_flask(), "waitress", "/ping", "POST"),
            "bare APIFlask app (input + output schema), waitress": Served(bare_apiflask(), "waitress", "/ping", "POST"),
            "Shanyu's app, GET /healthz, waitress": Served(shanyu_app(tmp), "waitress", "/healthz", "GET"),
        }
        header(f"one HTTP round trip, {rounds} per server, interleaved (keep-alive, TCP_NODELAY), and the app "
               "alone in-process")
        try:
            for side in sides.values():  # warm-up
                for _ in range(50):
                    side.once()
                    side.in_process()
            times: dict[str, list[int]] = {name: [] for name in sides}
            alone: dict[str, list[int]] = {name: [] for name in sides}
            for r in range(rounds):
                for name in (list(sides) if r % 2 == 0 else list(reversed(sides))):
                    times[name].append(sides[name].once())
                    alone[name].append(sides[name].in_process())
        finally:
            for side in sides.values():
                side.close()
    for name in sides:
        report.add(f"{name}: round trip, median", ms(median(times[name])), "ms")
        report.add(f"{name}:   the app alone (no server), median", ms(median(alone[name])), "ms")
    return report.summary()


if __name__ == "__main__":
    sys.exit(main())
