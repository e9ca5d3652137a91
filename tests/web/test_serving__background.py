"""``web.serving.Background``: waitress in a thread of this process (the benches' server), stopped
cleanly. waitress's ``close()`` from another thread closed the loop's wake-up pipe under it, and the
loop or a worker then failed on a closed descriptor (``OSError: [Errno 9]`` in ``pull_trigger``)."""

from __future__ import annotations

import http.client
import logging
import threading
from collections.abc import Iterable
from typing import Any

import pytest

from web.serving import THREADS, Background


def ping(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    body = b'{"status": "ok"}'
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


@pytest.mark.parametrize("client_closes_first", [True, False])
def test_stop_ends_the_loop_and_the_workers_without_an_error(
        client_closes_first: bool, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    failures: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: failures.append(args.exc_value))
    caplog.set_level(logging.WARNING)
    server = Background(ping)
    client = http.client.HTTPConnection("127.0.0.1", server.port)
    for _ in range(20):  # one kept-alive connection, as the benches hold it
        client.request("GET", "/")
        assert client.getresponse().read() == b'{"status": "ok"}'
    if client_closes_first:
        client.close()
    server.stop()
    client.close()

    assert not server.thread.is_alive()
    assert server.server.task_dispatcher.threads == set()
    assert failures == []
    # waitress's "Task queue depth" warning (logger waitress.queue) says a request waited for a
    # worker thread, which a loaded machine may make it do; it is about load, not about stopping
    assert [r for r in caplog.records if r.name.startswith("waitress") and r.name != "waitress.queue"] == []


def test_it_runs_the_servers_threads() -> None:
    server = Background(ping)
    try:
        assert len(server.server.task_dispatcher.threads) == THREADS
    finally:
        server.stop()
