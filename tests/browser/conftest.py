"""Browser suite: a real server on a loopback port and Debian's Chromium driven by Playwright.

Skips with the reason when Playwright or /usr/bin/chromium is missing; under CI (``CI=true``)
a missing browser fails the run instead.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from web.app import create_app
from workflow import migrate
from workflow.store import Database

CHROMIUM = os.environ.get("SHANYU_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"CI=true but the browser suite cannot run: {reason}")
    pytest.skip(f"browser suite skipped: {reason}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install -e '.[test]')")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium fonts-noto-cjk)")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield instance
        instance.close()


def serve(app: Any) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a thread; yields its address; stops it and closes
    the app's database afterwards."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["shanyu"]["db"].dispose()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'shanyu.db'}"
    migrate.upgrade(Database(url))
    yield from serve(create_app({"DATABASE_URL": url, "TESTING": True}))


@pytest.fixture
def demo_server(demo_template: Path, tmp_path: Path) -> Iterator[str]:
    """A server on a copy of the demo, its clock fixed at ``tests.web.pages.NOW``."""
    from tests.web.pages import copy_sqlite, make_app

    yield from serve(make_app(copy_sqlite(demo_template, tmp_path)))
