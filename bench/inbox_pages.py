#!/usr/bin/env python
"""Inbox page — the server time of the staff's inbox page (GET /), 1,000 vs 100,000 open tasks.

The two data sets of ``bench/inbox_scaling.py`` (its ``build``: rows **bulk-inserted** with SQL
into ``instance`` and ``human_task``, not through the engine; 16 districts, several lanes, some
tasks claimed, some with a due time), each behind its own app (``web.app.create_app``, SQLite
files or PostgreSQL schemas). Signed in through the sign-in page, each user asks for the inbox
page as a browser does, through Flask's test client: the whole request inside the server
(session, the tab counts, the page's query, the due dates in working days, the template) without
the network. Requests alternate between the sets and the users; p95 over the repetitions.

Users: a district user (区有关部门, 310101) and a municipal user (市有关部门, every district), whose
inboxes are the same 23 tasks in both sets, so their page may grow only with the table; and the
admin, who sees every open task (1,000 against 100,000): the page shows 25 of them and how many
there are, so it too must not grow with the table.

Target (issue 11): p95(100,000) ≤ 2 × p95(1,000) for each user.
"""

from __future__ import annotations

import re
import sys
from contextlib import ExitStack
from html import unescape
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402

from bench.common import Report, database, header, median, ms, new_clock, now_ns, parser, percentile  # noqa: E402
from bench.inbox_scaling import CITY_ROLE, DISTRICT_ROLE, build  # noqa: E402
from web.app import create_app  # noqa: E402
from workflow.store import Database  # noqa: E402
from workflow.users import add_user  # noqa: E402

TARGET = 2.0
PASSWORD = "bench-password"
USERS = {  # who: (user name, roles, district)
    "district user": ("huangpu", [DISTRICT_ROLE], "310101"),
    "municipal user": ("city", [CITY_ROLE], None),
    "admin": ("bench-admin", ["admin"], None),
}
WARM_UP = 10
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def app_on(db: Database) -> Flask:
    """An app on ``db`` (whose schema the URL alone may not name) at the data sets' time."""
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "bench-secret", "LOGIN_LIMIT_ACCOUNT": "1000 per minute"},
                     clock=new_clock())
    app.extensions["shanyu"]["db"].dispose()
    app.extensions["shanyu"]["db"] = db
    return app


def signed_in(app: Flask, name: str) -> FlaskClient:
    client = app.test_client()
    token = unescape(CSRF.search(client.get("/login").get_data(as_text=True)).group(1))  # type: ignore[union-attr]
    answer = client.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 302, f"{name} could not sign in ({answer.status_code})"
    return client


def task_rows(html: str) -> int:
    return html.count('data-task="')


def measure_backend(backend: str, pg_url: str | None, reps: int, quick: bool, report: Report) -> None:
    sizes = {"small": 10 if quick else 100, "large": 1000 if quick else 10_000}
    label = "SQLite" if backend == "sqlite" else "PostgreSQL"
    with ExitStack() as stack:
        dbs = {size: stack.enter_context(database(backend, pg_url)) for size in sizes}
        t0 = now_ns()
        built = {size: build(db, sizes[size], seed=7) for size, db in dbs.items()}
        for db in dbs.values():
            with db.write() as session:
                for name, roles, district in USERS.values():
                    add_user(session, name, roles, district=district, password=PASSWORD, now=new_clock().now())
        n_small, n_large = (f"{built[s]['open']:,}" for s in sizes)
        header(f"{label}: the inbox page (GET /) at {n_small} and {n_large} open tasks (bulk-inserted, "
               f"{ms(now_ns() - t0) / 1000:.1f} s); Flask test client, server time")
        apps = {size: app_on(db) for size, db in dbs.items()}
        clients = {(size, who): signed_in(apps[size], name) for size in sizes for who, (name, _r, _d) in USERS.items()}
        for (size, who), client in clients.items():  # the answer: the same rows for the two users in both sets
            html = client.get("/").get_data(as_text=True)
            expected = 23 if who != "admin" else 25
            assert task_rows(html) == expected, f"{who} at {size}: {task_rows(html)} rows on the page"
        samples: dict[tuple[str, str], list[int]] = {key: [] for key in clients}
        order = list(clients)
        for i in range(reps + WARM_UP):
            rot = i % len(order)
            for key in order[rot:] + order[:rot]:
                t = now_ns()
                answer = clients[key].get("/")
                elapsed = now_ns() - t
                assert answer.status_code == 200
                if i >= WARM_UP:
                    samples[key].append(elapsed)
        for who in USERS:
            small, large = samples[("small", who)], samples[("large", who)]
            small_p95, large_p95 = ms(percentile(small, 95)), ms(percentile(large, 95))
            report.add(f"{label} {who}: page p95 at {n_small} open", small_p95, "ms",
                       detail=f"median {ms(median(small)):.2f} ms")
            report.add(f"{label} {who}: page p95 at {n_large} open", large_p95, "ms",
                       detail=f"median {ms(median(large)):.2f} ms")
            ratio = large_p95 / small_p95
            report.add(f"{label} {who}: page p95 ratio", ratio, "×", target=f"≤ {TARGET:g}", passed=ratio <= TARGET)


def main() -> int:
    args = parser(__doc__.splitlines()[1]).parse_args()
    report = Report("inbox_pages", args)
    reps = 30 if args.quick else 300
    if not args.postgres:
        report.note("PostgreSQL not measured: pass --postgres URL or set SHANYU_BENCH_POSTGRES_URL")
    for backend in ["sqlite", "postgresql"] if args.postgres else ["sqlite"]:
        measure_backend(backend, args.postgres, reps, args.quick, report)
    return report.summary()


if __name__ == "__main__":
    sys.exit(main())
