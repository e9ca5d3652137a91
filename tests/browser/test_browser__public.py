"""In a real browser: a member of the public files an objection during the first cycle's notice
(no sign-in), gets a receipt number, and ``city`` signs in and finds it in 处理异议."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import serve
from tests.web.pages import NOTICE_OPEN, seed_notice
from web.app import create_app
from web.demo_data import DEMO_PASSWORD
from workflow.clock import FakeClock
from workflow.store import Database

pytestmark = pytest.mark.browser


@pytest.fixture
def notice_server(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'shanyu.db'}"
    seeding = Database(url)
    seed_notice(seeding)
    seeding.dispose()
    yield from serve(create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "browser"},
                                clock=FakeClock(NOTICE_OPEN)))


def test_the_public_objects_and_city_sees_it(browser: Any, notice_server: str, tmp_path: Path) -> None:
    public = browser.new_context()
    page = public.new_page()
    try:
        page.goto(notice_server + "/notices")
        assert page.locator("text=公示中").count() >= 1
        page.locator("section.notice h2 a").first.click()
        page.fill("#field-name", "市民王五")
        page.fill("#field-contact", "13900000000")
        page.select_option("#field-district", "310109")
        page.fill("#field-content", "虹口区公示材料中的托位数与实地情况明显不符。")
        page.screenshot(path=str(tmp_path / "notice.png"), full_page=True)
        page.click("text=提交异议")
        receipt = page.locator("[data-receipt]").inner_text()
        assert receipt.startswith("YY-20221008-")
    finally:
        public.close()
    staff = browser.new_context()
    page = staff.new_page()
    try:
        page.goto(notice_server + "/login")
        page.fill("input[name=username]", "city")
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.locator("text=处理异议").first.click()
        received = page.locator("[data-received=objection]").inner_text()
        assert receipt in received and "托位数与实地情况明显不符" in received and "虹口区" in received
    finally:
        staff.close()
