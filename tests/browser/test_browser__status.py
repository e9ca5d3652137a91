"""The status page renders in a real browser, in Chinese, with its figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_status_page_shows_in_chinese(browser: Any, live_server: str, tmp_path: Path) -> None:
    page = browser.new_page()
    try:
        response = page.goto(live_server + "/status")
        assert response is not None and response.status == 200
        assert "善育" in page.title()
        heading = page.locator("h1").inner_text()
        assert "示范区" in heading
        assert page.locator("[data-count=processes]").inner_text() == "0"
        shot = tmp_path / "status.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 1000
    finally:
        page.close()
