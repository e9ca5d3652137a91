"""The auditor in Chromium: finds 静安's revocation case, moves the replay slider to the
verification step and sees it marked done on the diagram, downloads the evidence bundle, and the
bundle checks offline; on 闵行's application the replay follows a step into a collapsed subprocess's
plane, and the breadcrumbs and drill-down lead to the current task. Screenshot: audit.png (see test_browser__inbox for SHANYU_SCREENSHOT_DIR)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_browser__inbox import shots, sign_in
from workflow.engine import Engine
from workflow.evidence import check_bundle, read_bundle

pytestmark = pytest.mark.browser


def test_the_auditor_replays_a_case_on_its_diagram_and_takes_its_bundle(
        browser: Any, demo_server: str, tmp_path: Path) -> None:
    base, folder = demo_server, shots(tmp_path)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    try:
        sign_in(page, base, "auditor")
        page.click("header nav a[href='/audit']")
        page.select_option("select[name=district]", "310106")
        page.select_option("select[name=process]", "revocation")
        page.click("form.filters button[type=submit]")
        rows = page.locator("tr[data-case]")
        assert rows.count() == 1
        rows.locator("a").click()
        assert page.locator("[data-check=chain]").get_attribute("class") == "ok"
        assert page.locator("[data-check=replay]").get_attribute("class") == "ok"
        page.wait_for_selector("#diagram[data-ready]", timeout=20_000)

        # the step where 市有关部门 completed the verification (核实)
        seq = page.locator("tr[data-seq]", has_text="办结任务").first.get_attribute("data-seq")
        assert seq is not None
        page.click(f"a.seek[data-seq='{seq}']")
        page.wait_for_selector(f"#diagram[data-ready='{seq}']", timeout=20_000)
        assert page.locator("g.djs-element.shanyu-done[data-element-id='Task_verify']").count() == 1
        assert f"#{seq} " in page.locator("#replay-label").inner_text()
        assert "六" in page.locator(f"tr[data-seq='{seq}'] .clause").first.inner_text()  # 第六条 beside the step
        page.screenshot(path=str(folder / "audit.png"), full_page=True)

        with page.expect_download() as download:
            page.click("text=下载证据包")
        saved = tmp_path / "bundle.json"
        download.value.save_as(str(saved))
        result = check_bundle(read_bundle(saved.read_text(encoding="utf-8")), Engine())
        assert result.ok, result

        # 闵行's application: its last step filed the application (申报, inside a collapsed subprocess),
        # which made the self-assessment current (inside another). The replay opens the plane of the
        # step's element; the process plane marks the collapsed subprocess holding the current task.
        page.goto(base + "/audit")
        page.select_option("select[name=district]", "310112")
        page.select_option("select[name=process]", "district_application")
        page.click("form.filters button[type=submit]")
        page.locator("tr[data-case] a").first.click()
        last = page.locator("#replay-slider").get_attribute("max")
        page.wait_for_selector(f"#diagram[data-ready='{last}']", timeout=20_000)
        filed = page.locator("#diagram g.djs-element.shanyu-done[data-element-id='Task_file']")
        assert filed.count() == 1 and filed.is_visible()
        page.screenshot(path=str(folder / "audit-drilldown.png"), full_page=True)
        page.locator("#diagram .bjs-breadcrumbs li").first.locator(".bjs-crumb").click()
        phase = page.locator("#diagram g.djs-element.shanyu-current[data-element-id='Phase_self']")
        assert phase.count() == 1 and phase.is_visible()
        done = page.locator("#diagram g.djs-element.shanyu-done[data-element-id='Phase_apply']")
        assert done.count() == 1 and done.is_visible()
        # a plane draws its elements when it is open: the window inside the finished stage reads as done
        page.locator("#diagram .djs-overlays[data-container-id='Phase_apply'] .bjs-drilldown").click()
        window = page.locator("#diagram g.djs-element.shanyu-done[data-element-id='Window_apply']")
        assert window.count() == 1 and window.is_visible()
        page.locator("#diagram .bjs-breadcrumbs li").first.locator(".bjs-crumb").click()
        page.locator("#diagram .djs-overlays[data-container-id='Phase_self'] .bjs-drilldown").click()
        holder = page.locator("#diagram g.djs-element.shanyu-current[data-element-id='Window_self']")
        assert holder.count() == 1 and holder.is_visible()
        page.locator("#diagram .djs-overlays[data-container-id='Window_self'] .bjs-drilldown").click()
        task = page.locator("#diagram g.djs-element.shanyu-current[data-element-id='Task_self']")
        assert task.count() == 1 and task.is_visible()
    finally:
        context.close()
