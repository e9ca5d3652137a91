#!/usr/bin/env python
"""Web overhead — claim + complete through the JSON API (real HTTP) vs the engine commands.

One database (SQLite in WAL mode; PostgreSQL too with ``--postgres``), one process. The **API** side is the app of ``web.app.create_app`` served
on 127.0.0.1 in a thread by waitress, the server ``shanyu serve`` runs (``--server werkzeug``: by
werkzeug's ``make_server``) (HTTP/1.1, one kept-alive connection, as a
client program would hold it); the client signs in once (``POST /api/login``) and sends
``POST /api/tasks/N/claim`` then ``POST /api/tasks/N/complete`` with ``{"data": …}`` and the bearer
token, reading each JSON answer. The **engine** side runs the same two commands as the pages and
the CLI do: ``with db.write(): engine.claim(…)``, then ``with db.write(): engine.complete(…)``.

Both sides work cases of the same diagram (N sequential user tasks in the lane ``bench``), started
beforehand by the same side (the API's cases through ``POST /api/instances``), so that each side's
engine has its cases cached; they alternate step by step, and which side goes first alternates.
Timed per task: claim + complete, from the first request sent to the second answer read.
Reported too: the time the two requests spent inside the Flask app (a WSGI wrapper around it:
everything but werkzeug's HTTP parsing, the sockets and the client), and an empty round trip
(``GET /healthz``) on the same connection, and the floor of the server itself: a bare WSGI callable
(no framework, no database: ``bench/web_floor.py``'s) behind the same server on a connection of its
own, measured in the same rounds. Two of those round trips plus the engine's commands are the best
any WSGI app could reach behind this server, reported as a ratio of its own.

Target (issue 11): API / engine ≤ 2 (medians).
"""

from __future__ import annotations

import http.client
import json
import socket
import sys
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from werkzeug.serving import WSGIRequestHandler, make_server  # noqa: E402

from bench.common import (  # noqa: E402
    WORKER,
    Report,
    database,
    deploy_sequential,
    header,
    median,
    ms,
    new_clock,
    now_ns,
    parser,
    ready_task,
)
from bench.wsgi_bare import bare_apiflask, bare_wsgi, in_process  # noqa: E402
from web.app import create_app  # noqa: E402
from web.serving import Background  # noqa: E402
from workflow.clock import FakeClock  # noqa: E402
from workflow.engine import Engine  # noqa: E402
from workflow.store import Database  # noqa: E402
from workflow.users import add_user  # noqa: E402

TARGET = 2.0
PASSWORD = "bench-password"
DATA = {"approved": True, "comment": "同意", "score": 90}


class KeepAlive(WSGIRequestHandler):
    """HTTP/1.1 with Nagle's algorithm off, as production servers set their sockets: werkzeug
    writes a response's headers and body in two sends, and with Nagle the second waits for the
    client's delayed acknowledgement of the first."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_request(self, *args: Any, **kwargs: Any) -> None:  # quiet
        pass


class Client:
    """One HTTP/1.1 connection to the server, with the bearer token."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port)
        self.token = ""

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        answer = self.conn.getresponse()
        return answer.status, json.loads(answer.read())

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, found = self.call(method, path, body)
        assert status in (200, 201), (method, path, status, found)
        return found


class Sides:
    def __init__(self, db: Database, n: int, server: str = "waitress") -> None:
        self.db, self.n = db, n
        self.clock: FakeClock = new_clock()
        self.engine = Engine()
        self.pid = deploy_sequential(self.engine, db, self.clock, n)
        with db.write() as session:
            add_user(session, WORKER.name, sorted(WORKER.roles), password=PASSWORD, now=self.clock.now())
        self.app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "bench-secret"}, clock=self.clock)
        self.app.extensions["shanyu"]["db"].dispose()
        self.app.extensions["shanyu"]["db"] = db  # on PostgreSQL, a schema the URL alone does not name
        self.servers: list[Any] = []
        self.in_app: list[int] = []  # time inside the WSGI app per request (no HTTP parsing or sockets)
        wsgi = self.timed(self.app.wsgi_app)
        self.kind = server
        self.client = Client(self.serve(wsgi))
        self.floor = Client(self.serve(bare_wsgi))
        self.framework = bare_apiflask()
        self.client.token = self.client.ok("POST", "/api/login", {"username": WORKER.name, "password": PASSWORD})["token"]

    def serve(self, wsgi: Any) -> int:
        """``wsgi`` served in a thread by the chosen server; returns its port."""
        if self.kind == "waitress":  # what `shanyu serve` runs, configured as it does
            server: Any = Background(wsgi)
            port = server.port
        else:
            server = make_server("127.0.0.1", 0, wsgi, request_handler=KeepAlive)
            port = server.server_port
            threading.Thread(target=server.serve_forever, daemon=True).start()
        self.servers.append(server)
        return int(port)

    def timed(self, app: Any) -> Any:
        def wsgi(environ: Any, start_response: Any) -> Any:
            t0 = now_ns()
            try:
                return app(environ, start_response)
            finally:
                self.in_app.append(now_ns() - t0)

        return wsgi

    def close(self) -> None:
        self.client.conn.close()
        self.floor.conn.close()
        for server in self.servers:
            if self.kind == "waitress":
                server.stop()
            else:
                server.shutdown()
                server.server_close()

    def start_engine_case(self) -> int:
        with self.db.write() as session:
            return self.engine.start(session, self.pid, {"district": "310101"}, actor=WORKER, now=self.clock.now())

    def start_api_case(self) -> int:
        return int(self.client.ok("POST", "/api/instances", {"process_id": self.pid, "data": {"district": "310101"}})["id"])

    def engine_step(self, instance_id: int) -> int:
        found = ready_task(self.db, instance_id)
        assert found is not None
        t0 = now_ns()
        with self.db.write() as session:
            self.engine.claim(session, found[0], actor=WORKER, now=self.clock.now())
        with self.db.write() as session:
            self.engine.complete(session, found[0], DATA, actor=WORKER, now=self.clock.now())
        return now_ns() - t0

    def api_step(self, instance_id: int) -> int:
        found = ready_task(self.db, instance_id)
        assert found is not None
        t0 = now_ns()
        claimed = self.client.ok("POST", f"/api/tasks/{found[0]}/claim")
        done = self.client.ok("POST", f"/api/tasks/{found[0]}/complete", {"data": DATA})
        elapsed = now_ns() - t0
        assert claimed["claimed_by"] == WORKER.name and done["state"] == "completed"
        self.app_times.append(sum(self.in_app[-2:]))
        return elapsed

    def compare(self, rounds: int) -> dict[str, list[int]]:
        times: dict[str, list[int]] = {"api": [], "engine": [], "healthz": [], "in_app": [], "floor": [],
                                     "framework": []}
        self.app_times = times["in_app"]
        for r in range(rounds):
            cases = {"api": self.start_api_case(), "engine": self.start_engine_case()}
            for k in range(self.n):
                self.clock.advance(seconds=1)
                for side in ("api", "engine") if (k + r) % 2 == 0 else ("engine", "api"):
                    step = self.api_step if side == "api" else self.engine_step
                    times[side].append(step(cases[side]))
                t0 = now_ns()
                self.client.ok("GET", "/healthz")
                times["healthz"].append(now_ns() - t0)
                t0 = now_ns()
                self.floor.ok("POST", "/ping", {"data": DATA})
                times["floor"].append(now_ns() - t0)
                times["framework"].append(in_process(self.framework))
            assert all(ready_task(self.db, iid) is None for iid in cases.values())
        return times


def measure(backend: str, pg_url: str | None, n: int, rounds: int, report: Report, server: str) -> None:
    label = ("SQLite" if backend == "sqlite" else "PostgreSQL") + f" ({server})"
    header(f"{label}: {n} sequential user tasks, {rounds} cases per side: claim + complete through HTTP "
           f"({server}, HTTP/1.1 keep-alive) vs the engine commands, interleaved")
    with database(backend, pg_url) as db:
        sides = Sides(db, n, server)
        try:
            sides.compare(1)  # warm-up: imports, specs parsed, statements prepared on both sides
            times = sides.compare(rounds)
        finally:
            sides.close()
    api, engine, healthz, in_app, floor, framework = (
        ms(median(times[k])) for k in ("api", "engine", "healthz", "in_app", "floor", "framework"))
    report.add(f"{label} engine claim + complete (two transactions), median", engine, "ms")
    report.add(f"{label} API claim + complete (two HTTP requests), median", api, "ms")
    report.add(f"{label}   of which inside the Flask app, median", in_app, "ms",
               detail=f"{in_app / engine:.2f}× the engine")
    report.add(f"{label}   of which the server, sockets and client (API − inside the app)", api - in_app, "ms")
    report.add(f"{label}   of which the framework: 2 × a bare APIFlask request in-process", 2 * framework, "ms")
    report.add(f"{label}   of which Shanyu's app (inside the app − framework − engine)", in_app - 2 * framework - engine,
               "ms", detail="token, user, task row, drafts, answer")
    report.add(f"{label} empty HTTP round trip (GET /healthz), median", healthz, "ms",
               detail="Shanyu's app, one database read")
    report.add(f"{label} bare WSGI callable round trip, median", floor, "ms",
               detail="the server's floor per request, no framework")
    report.add(f"{label} floor of any WSGI app: (engine + 2 bare round trips) / engine", (engine + 2 * floor) / engine,
               "×", detail="behind this server, with no framework at all")
    report.add(f"{label} floor of an APIFlask app: (engine + 2 bare round trips + 2 bare APIFlask requests) / engine",
               (engine + 2 * floor + 2 * framework) / engine, "×", detail="behind this server")
    report.add(f"{label} API / engine", api / engine, "×", target=f"≤ {TARGET:g}", passed=api / engine <= TARGET)


def main() -> int:
    p = parser(__doc__.splitlines()[1])
    p.add_argument("--server", choices=["waitress", "werkzeug"], default="waitress",
                   help="the HTTP server: waitress, which `shanyu serve` runs (default), or werkzeug's")
    args = p.parse_args()
    report = Report("web_overhead", args)
    n, rounds = (5, 2) if args.quick else (20, 10)
    if not args.postgres:
        report.note("PostgreSQL not measured: pass --postgres URL or set SHANYU_BENCH_POSTGRES_URL")
    for backend in ["sqlite", "postgresql"] if args.postgres else ["sqlite"]:
        measure(backend, args.postgres, n, rounds, report, args.server)
    return report.summary()


if __name__ == "__main__":
    sys.exit(main())
