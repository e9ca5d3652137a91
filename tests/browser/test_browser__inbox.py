"""The staff's pages in Chromium, on the demo: a district officer signs in, claims the
self-assessment, uploads the report and a material, submits it with a field that is not a number,
sees the message under that field (the uploads kept), saves a draft, comes back to it, fixes it and
completes it (the diagram opens the plane of the collapsed subprocess that holds
the task); a colleague no longer sees the task;
an intention goes from the department to the leadership; the pages switch to English.

Screenshots go to ``tmp_path``, or to ``SHANYU_SCREENSHOT_DIR`` when it is set (the README's
pictures in docs/screenshots/ come from ``SHANYU_SCREENSHOT_DIR=docs/screenshots``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from web.demo_data import DEMO_PASSWORD

pytestmark = pytest.mark.browser


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SHANYU_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sign_in(page: Any, base: str, name: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


def field(page: Any, key: str) -> Any:
    return page.locator(f'[data-field="{key}"]')


def test_an_officer_works_a_task_from_claim_to_completion(browser: Any, demo_server: str, tmp_path: Path) -> None:
    base, folder = demo_server, shots(tmp_path)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    try:
        sign_in(page, base, "minhang-dept")
        assert page.locator("h1").inner_text() == "我的待办"
        row = page.locator("table.tasks tbody tr")
        assert row.count() == 1 and "逐项自评并报送材料" in row.inner_text()
        assert "剩余 12 个工作日" in row.inner_text()
        page.screenshot(path=str(folder / "inbox.png"), full_page=True)

        page.click("table.tasks a")
        page.click("button[name=claim]")
        assert "已领取" in page.locator(".flash").inner_text()
        page.wait_for_selector("#diagram[data-ready='1']", timeout=20_000)
        # the task is inside collapsed subprocesses: the viewer opens their plane and marks it there
        current = page.locator("#diagram g.djs-element.shanyu-current[data-element-id='Task_self']")
        assert current.count() == 1 and current.is_visible()
        page.locator("#diagram").screenshot(path=str(folder / "task-diagram.png"))
        page.locator("#diagram .bjs-breadcrumbs li").first.locator(".bjs-crumb").click()  # up to the process
        # two levels: the stage (创建自评及逾期处理) holds the window (创建自评（期限内）) holding the task
        phase = page.locator("#diagram g.djs-element.shanyu-current[data-element-id='Phase_self']")
        assert phase.count() == 1 and phase.is_visible()
        page.locator("#diagram .djs-overlays[data-container-id='Phase_self'] .bjs-drilldown").click()
        holder = page.locator("#diagram g.djs-element.shanyu-current[data-element-id='Window_self']")
        assert holder.count() == 1 and holder.is_visible()

        # every indicator item, the places with a typo, a summary and the materials
        for box in page.locator("input[name^='f.self_scores.']").all():
            box.fill("7")
        page.fill("input[name='f.current_places']", "1二00")
        page.fill("textarea[name='f.self_summary']", "闵行区对照评估指标逐项自评，托位供给持续增加。")
        page.set_input_files("input[name='u.self_report']", files=[
            {"name": "闵行区自评报告.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n% demo report\n"}])
        page.set_input_files("input[name='u.self_materials']", files=[
            {"name": "托位统计.txt", "mimeType": "text/plain", "buffer": "托位 1200 个".encode()}])
        page.click("button[value=complete]")
        assert "表单内容有误" in page.locator(".flash.error").inner_text()
        assert field(page, "current_places").locator(".error").inner_text() == "请填写整数"
        assert field(page, "self_summary").locator(".error").count() == 0
        assert page.input_value("input[name='f.current_places']") == "1二00"  # what was typed stays
        assert "闵行区自评报告.pdf" in field(page, "self_report").inner_text()  # the upload was kept
        page.screenshot(path=str(folder / "task-form-error.png"), full_page=True)

        page.click("button[value=draft]")
        assert "草稿已保存" in page.locator(".flash").inner_text()
        page.goto(base + "/")
        page.click("text=我已领取")
        page.click("table.tasks a")
        assert "已恢复您于" in page.locator(".draft-note").inner_text()
        assert page.input_value("input[name='f.current_places']") == "1二00"
        page.fill("input[name='f.current_places']", "1200")
        page.screenshot(path=str(folder / "task.png"), full_page=True)
        page.click("button[value=complete]")
        assert "已提交" in page.locator(".flash").inner_text()
        page.click("text=我已办结")
        assert "逐项自评并报送材料" in page.locator("table.tasks").inner_text()
    finally:
        context.close()


def test_a_second_officer_sees_the_task_held_then_gone(browser: Any, demo_server: str) -> None:
    """Two officers of one district: while one holds the task the other sees who holds it and
    cannot claim it; once it is completed it is gone from the other's inbox."""
    base = demo_server
    first = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    second = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    try:
        sign_in(first, base, "admin")  # the admin makes the colleague, as an office would
        first.goto(base + "/admin/users")
        first.fill("form[action='/admin/users'] input[name=name]", "jingan-dept2")
        first.check("input[name=roles][value='区有关部门']")
        first.select_option("form[action='/admin/users'] select[name=district]", "310106")
        first.fill("form[action='/admin/users'] input[name=password]", "colleague-password")
        first.click("form[action='/admin/users'] button[type=submit]")
        first.click("button.link")  # sign out
        sign_in(first, base, "jingan-dept")
        first.click("table.tasks a")
        first.click("button[name=claim]")
        sign_in(second, base, "jingan-dept2", "colleague-password")
        row = second.locator("table.tasks tbody tr")
        assert row.count() == 1 and "jingan-dept 已领取" in row.inner_text()
        second.click("table.tasks a")
        assert second.locator("button[name=claim]").count() == 0
        first.fill("textarea[name='f.intention_summary']", "静安区拟申报创建上海市婴幼儿照护服务示范区。")
        first.check("input[name='f.lead_department'][value='区教育局']")
        first.fill("input[name='f.contact_name']", "李老师")
        first.fill("input[name='f.contact_phone']", "021-62000000")
        first.click("button[value=complete]")
        assert "已提交" in first.locator(".flash").inner_text()
        second.goto(base + "/")
        assert second.locator("table.tasks").count() == 0 and "这里没有任务" in second.locator("main").inner_text()
    finally:
        first.context.close()
        second.context.close()


def test_the_intention_reaches_the_leadership_and_leaves_the_colleagues_inbox(
        browser: Any, demo_server: str) -> None:
    base = demo_server
    dept = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    leader = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    try:
        sign_in(dept, base, "jingan-dept")
        dept.click("table.tasks a")
        dept.click("button[name=claim]")
        dept.fill("textarea[name='f.intention_summary']", "静安区拟申报创建上海市婴幼儿照护服务示范区。")
        dept.check("input[name='f.lead_department'][value='区教育局']")
        dept.fill("input[name='f.contact_name']", "李老师")
        dept.fill("input[name='f.contact_phone']", "021-62000000")
        dept.click("button[value=complete]")
        assert "已提交" in dept.locator(".flash").inner_text()
        assert dept.locator("table.tasks").count() == 0  # nothing left for the department

        sign_in(leader, base, "jingan-leader")
        assert "研究创建意向" in leader.locator("table.tasks").inner_text()
        leader.click("text=English")
        assert leader.locator("h1").inner_text() == "My inbox"
        assert "working days left" in leader.locator("table.tasks").inner_text()
        leader.click("table.tasks a")
        assert leader.locator("button[name=claim]").inner_text() == "Claim"
    finally:
        dept.context.close()
        leader.context.close()
