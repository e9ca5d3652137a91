"""The JSON API's main flow on SQLite and PostgreSQL: sign in, start a case, find its task, claim,
save a draft, fail the form, complete, read the case and its history; and what each status code
answers (401, 403, 404, 409, 422) on a small fixture process with a form."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from tests.conftest import BPMN
from tests.web.api_client import PASSWORD, Api, api_app, client_for
from tests.web.pages import browser
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.store import Database, HistoryEvent, HumanTask, TaskDraft, User
from workflow.users import Actor, add_user

CASE = BPMN / "forms_case"
GOOD = {"intention": "黄浦区拟创建示范区，由区教育局牵头。", "places_per_1000": 4.6}
USERS = {
    "huangpu": (["区有关部门"], "310101"),
    "huangpu2": (["区有关部门"], "310101"),
    "xuhui": (["区有关部门"], "310104"),
    "city": (["市有关部门"], None),
    "auditor": (["auditor"], None),
    "admin": (["admin"], None),
}


@pytest.fixture
def app(db: Database, clock: FakeClock) -> Iterator[Flask]:
    with db.write() as s:
        for name, (roles, district) in USERS.items():
            add_user(s, name, roles, district=district, password=PASSWORD, now=clock.now())
        Engine().deploy(s, {"forms_case.bpmn": (CASE / "forms_case.bpmn").read_bytes(),
                            "forms/apply.json": (CASE / "forms" / "apply.json").read_bytes()},
                        actor=Actor("admin", frozenset({"admin"})), now=clock.now())
    yield api_app(db, clock)


@pytest.fixture
def huangpu(app: Flask) -> Api:
    return client_for(app, "huangpu")


def events(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(HistoryEvent)).scalar_one())


def start_case(api: Api) -> tuple[int, int]:
    """Start a forms_case in 310101; returns (instance id, its task's id)."""
    started = api.ok("POST", "/api/instances", {"process_id": "forms_case", "data": {"district": "310101"}}, 201)
    [task] = started["tasks"]
    return started["id"], task["id"]


def test_the_main_flow(app: Flask, db: Database, huangpu: Api) -> None:
    instance_id, task_id = start_case(huangpu)
    inbox = huangpu.ok("GET", "/api/tasks")
    assert [t["id"] for t in inbox["tasks"]] == [task_id] and inbox["total"] == 1 and inbox["pages"] == 1
    assert set(inbox["tasks"][0]) == {"id", "instance_id", "process_id", "bpmn_id", "name", "lane", "role",
                                      "district", "claimed_by", "state", "due"}
    detail = huangpu.ok("GET", f"/api/tasks/{task_id}")
    assert (detail["name"], detail["form"], detail["draft"]) == ("填写创建意向", "forms/apply.json", None)
    assert detail["schema"]["required"] == ["intention", "places_per_1000"]
    assert detail["process_name"] == "表单校验" and detail["data"] == {"district": "310101"}
    assert detail["guidance"] == "请填写创建意向和每千人托位数。"

    claimed = huangpu.ok("POST", f"/api/tasks/{task_id}/claim")
    assert claimed["claimed_by"] == "huangpu"
    assert huangpu.ok("GET", "/api/tasks?tab=mine")["total"] == 1
    saved = huangpu.ok("PUT", f"/api/tasks/{task_id}/draft", {"data": {"intention": "短"}})
    assert saved["data"] == {"intention": "短"}
    assert huangpu.ok("GET", f"/api/tasks/{task_id}")["draft"]["data"] == {"intention": "短"}

    before = events(db)
    refused = huangpu.fails("POST", f"/api/tasks/{task_id}/complete", {"data": {"intention": "短", "places_per_1000": -1}},
                            status=422, code="invalid_data")
    assert {e["field"] for e in refused["errors"]} == {"intention", "places_per_1000"}
    assert {e["label"] for e in refused["errors"]} == {"创建意向说明", "每千人口托位数"}
    assert events(db) == before  # nothing saved

    done = huangpu.ok("POST", f"/api/tasks/{task_id}/complete", {"data": GOOD})
    assert (done["state"], done["id"]) == ("completed", task_id)
    with db.read() as s:
        assert s.execute(select(TaskDraft)).scalars().all() == []  # the draft went with the completion
    assert huangpu.ok("GET", "/api/tasks?tab=done")["tasks"][0]["id"] == task_id

    case = huangpu.ok("GET", f"/api/instances/{instance_id}")
    assert (case["status"], case["district"], case["tasks"], case["started_by"]) == ("completed", "310101", [],
                                                                                     "huangpu")
    past = huangpu.ok("GET", f"/api/instances/{instance_id}/history")
    assert [e["type"] for e in past["events"]] == ["instance_started", "task_claimed", "task_completed"]
    assert past["verified"]["ok"] and past["events"][2]["payload"]["data"] == GOOD


def test_401_without_a_valid_token(app: Flask, db: Database, clock: FakeClock, huangpu: Api) -> None:
    anonymous = client_for(app)
    assert anonymous.fails("GET", "/api/tasks", status=401, code="not_signed_in")
    answer = anonymous.get("/api/tasks")
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    forged = Api(app.test_client(use_cookies=False), token=huangpu.token[:-2] + "xx")
    forged.fails("GET", "/api/tasks", status=401, code="token_invalid")
    basic = anonymous.call("GET", "/api/tasks", headers={"Authorization": "Basic aHVhbmdwdTpwYXNzd29yZA=="})
    assert basic.status_code == 401
    anonymous.fails("POST", "/api/login", {"username": "huangpu", "password": "wrong-password"}, status=401,
                    code="login_failed")
    anonymous.fails("POST", "/api/login", {"username": "nobody", "password": "wrong-password"}, status=401,
                    code="login_failed")

    clock.advance(hours=11, minutes=59)
    assert huangpu.ok("GET", "/api/tasks")["total"] == 0
    clock.advance(minutes=2)  # twelve hours (API_TOKEN_HOURS) have passed
    huangpu.fails("GET", "/api/tasks", status=401, code="token_expired")
    again = client_for(app, "huangpu")
    again.ok("GET", "/api/tasks")

    with db.write() as s:  # a new password revokes the tokens given before it
        add_user(s, "huangpu", ["区有关部门"], district="310101", password="a-new-password", now=clock.now())
    again.fails("GET", "/api/tasks", status=401, code="token_invalid")
    renewed = client_for(app, "huangpu", "a-new-password")
    with db.write() as s:
        s.execute(update(User).where(User.name == "huangpu").values(disabled=True))
    renewed.fails("GET", "/api/tasks", status=401, code="token_invalid")
    anonymous.fails("POST", "/api/login", {"username": "huangpu", "password": "a-new-password"}, status=401)


def test_a_page_session_is_not_an_api_token(app: Flask) -> None:
    page = app.test_client()
    page.get("/login")
    # the sign-in page's cookie does not authenticate the API (and its form needs a CSRF token)
    api = Api(page)
    api.fails("GET", "/api/tasks", status=401, code="not_signed_in")
    login = api.post("/api/login", {"username": "huangpu", "password": PASSWORD})
    assert login.status_code == 200 and "Set-Cookie" not in login.headers  # no CSRF token needed, no cookie given


def test_the_api_neither_reads_nor_renews_a_signed_in_page_session(app: Flask) -> None:
    page = browser(app)
    assert page.sign_in("huangpu", PASSWORD).status_code == 302
    assert page.client.get("/").status_code == 200  # signed in on the pages
    for method, path in (("GET", "/api/tasks"), ("POST", "/api/instances"), ("GET", "/api/nowhere")):
        answer = page.client.open(path, method=method, json={})
        assert answer.status_code in (401, 404), (path, answer.status_code)
        assert "Set-Cookie" not in answer.headers and "Cookie" not in answer.headers.get("Vary", "")
    assert page.client.get("/").status_code == 200  # and the page session is untouched


def test_403_for_a_role_or_district_that_may_not_act(app: Flask, db: Database, huangpu: Api) -> None:
    _instance_id, task_id = start_case(huangpu)
    auditor = client_for(app, "auditor")
    before = events(db)
    auditor.fails("POST", f"/api/tasks/{task_id}/claim", status=403, code="permission_denied")
    auditor.fails("PUT", f"/api/tasks/{task_id}/draft", {"data": {}}, status=403, code="permission_denied")
    auditor.fails("POST", "/api/instances", {"process_id": "forms_case", "data": {"district": "310101"}}, status=403)
    xuhui = client_for(app, "xuhui")
    xuhui.fails("POST", "/api/instances", {"process_id": "forms_case", "data": {"district": "310101"}},
                status=403, code="permission_denied")  # another district
    xuhui.fails("POST", "/api/instances", {"process_id": "forms_case", "data": {}}, status=403)  # municipal
    client_for(app, "city").fails("POST", "/api/instances", {"process_id": "forms_case", "data": {"district": "310101"}},
                                  status=403)  # not the start event's lane
    assert events(db) == before


def test_404_for_what_does_not_exist_or_may_not_be_seen(app: Flask, db: Database, huangpu: Api) -> None:
    instance_id, task_id = start_case(huangpu)
    xuhui = client_for(app, "xuhui")
    city = client_for(app, "city")
    for api in (xuhui, city):  # another district; a municipal user of another role
        api.fails("GET", f"/api/tasks/{task_id}", status=404, code="not_found")
        api.fails("POST", f"/api/tasks/{task_id}/claim", status=404, code="not_found")
        api.fails("POST", f"/api/tasks/{task_id}/complete", {"data": GOOD}, status=404)
        api.fails("POST", f"/api/tasks/{task_id}/complete", {"data": {"_bad": 1}}, status=404)  # before 422
        api.fails("PUT", f"/api/tasks/{task_id}/draft", {"data": {}}, status=404)
    xuhui.fails("GET", f"/api/instances/{instance_id}", status=404)
    xuhui.fails("GET", f"/api/instances/{instance_id}/history", status=404)
    assert city.ok("GET", f"/api/instances/{instance_id}")["district"] == "310101"  # municipal staff read cases
    huangpu.fails("GET", "/api/tasks/999999", status=404, code="not_found")
    huangpu.fails("GET", "/api/instances/999999", status=404, code="not_found")
    huangpu.fails("GET", "/api/instances/999999/history", status=404)
    huangpu.fails("POST", "/api/instances", {"process_id": "no_such_process"}, status=404, code="not_found")
    huangpu.fails("GET", "/api/no/such/endpoint", status=404, code="not_found")
    huangpu.fails("GET", "/api/tasks/not-a-number", status=404, code="not_found")
    huangpu.fails("DELETE", f"/api/tasks/{task_id}", status=405, code="method_not_allowed")


def test_409_for_a_task_held_by_someone_else_or_no_longer_ready(app: Flask, db: Database, huangpu: Api) -> None:
    _instance_id, task_id = start_case(huangpu)
    colleague = client_for(app, "huangpu2")
    colleague.fails("PUT", f"/api/tasks/{task_id}/draft", {"data": {}}, status=409, code="task_not_claimed")
    colleague.fails("POST", f"/api/tasks/{task_id}/complete", {"data": GOOD}, status=409, code="task_not_claimed")
    colleague.fails("POST", f"/api/tasks/{task_id}/release", status=409, code="task_not_claimed")
    huangpu.ok("POST", f"/api/tasks/{task_id}/claim")
    held = colleague.fails("POST", f"/api/tasks/{task_id}/claim", status=409, code="task_already_claimed")
    assert held["claimed_by"] == "huangpu"
    before = events(db)
    colleague.fails("POST", f"/api/tasks/{task_id}/complete", {"data": GOOD}, status=409, code="task_already_claimed")
    colleague.fails("POST", f"/api/tasks/{task_id}/release", status=409, code="task_already_claimed")
    colleague.fails("PUT", f"/api/tasks/{task_id}/draft", {"data": {}}, status=409, code="task_already_claimed")
    assert colleague.ok("GET", f"/api/tasks/{task_id}")["draft"] is None
    assert events(db) == before
    admin = client_for(app, "admin")  # an admin may release anyone's task, but not complete it
    admin.fails("POST", f"/api/tasks/{task_id}/complete", {"data": GOOD}, status=409, code="task_already_claimed")
    huangpu.ok("POST", f"/api/tasks/{task_id}/complete", {"data": GOOD})
    for verb in ("claim", "release", "complete"):
        huangpu.fails("POST", f"/api/tasks/{task_id}/{verb}", {"data": GOOD}, status=409, code="task_not_ready")
    huangpu.fails("PUT", f"/api/tasks/{task_id}/draft", {"data": {}}, status=409, code="task_not_ready")


def test_422_for_data_that_does_not_fit(app: Flask, db: Database, huangpu: Api) -> None:
    _instance_id, task_id = start_case(huangpu)
    huangpu.ok("POST", f"/api/tasks/{task_id}/claim")
    before = events(db)
    missing = huangpu.fails("POST", f"/api/tasks/{task_id}/complete", {"data": {}}, status=422, code="invalid_data")
    assert {e["field"]: e["rule"] for e in missing["errors"]} == {"intention": "required",
                                                                  "places_per_1000": "required"}
    extra = huangpu.fails("POST", f"/api/tasks/{task_id}/complete", {"data": {**GOOD, "colour": "red"}}, status=422)
    assert [e["field"] for e in extra["errors"]] == ["colour"]
    huangpu.fails("POST", f"/api/tasks/{task_id}/complete", {"data": {"_x": 1}}, status=422, code="invalid_data")
    shape = huangpu.fails("POST", f"/api/tasks/{task_id}/complete", {"data": [1, 2]}, status=422,
                          code="invalid_request")
    assert shape["errors"][0]["field"] == "data"
    huangpu.fails("POST", f"/api/tasks/{task_id}/complete", "not an object", status=422, code="invalid_request")
    broken = huangpu.call("POST", f"/api/tasks/{task_id}/complete", data="{not json",
                          headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.get_json()["error"] == "bad_request"
    assert events(db) == before
    huangpu.fails("GET", "/api/tasks?tab=nonsense", status=422, code="invalid_request")
    huangpu.fails("GET", "/api/tasks?page=0", status=422, code="invalid_request")
    huangpu.fails("GET", "/api/tasks?district=999999", status=422, code="invalid_request")
    huangpu.fails("POST", "/api/instances", {"data": {}}, status=422, code="invalid_request")  # no process_id
    huangpu.fails("POST", "/api/login", {"username": "huangpu"}, status=422, code="invalid_request")


def test_the_inbox_parameters(app: Flask, db: Database, clock: FakeClock, huangpu: Api) -> None:
    ids = [start_case(huangpu)[1] for _ in range(3)]
    first = huangpu.ok("GET", "/api/tasks?sort=oldest&size=2")
    assert ([t["id"] for t in first["tasks"]], first["total"], first["pages"]) == (ids[:2], 3, 2)
    assert [t["id"] for t in huangpu.ok("GET", "/api/tasks?sort=oldest&size=2&page=2")["tasks"]] == ids[2:]
    assert [t["id"] for t in huangpu.ok("GET", "/api/tasks?sort=newest")["tasks"]] == ids[::-1]
    assert huangpu.ok("GET", "/api/tasks?process=engine_basic")["total"] == 0
    assert huangpu.ok("GET", "/api/tasks?overdue=true")["total"] == 0
    with db.write() as s:
        s.execute(update(HumanTask).where(HumanTask.id == ids[1]).values(due_at=clock.now() - timedelta(days=1)))
    overdue = huangpu.ok("GET", "/api/tasks?overdue=true")
    assert [t["id"] for t in overdue["tasks"]] == [ids[1]] and overdue["tasks"][0]["due"].endswith("+08:00")
    admin = client_for(app, "admin")
    assert admin.ok("GET", "/api/tasks?district=310104")["total"] == 0
    assert admin.ok("GET", "/api/tasks?district=310101")["total"] == 3


def test_failed_api_sign_ins_count_with_the_pages(app: Flask, db: Database, clock: FakeClock) -> None:
    app = api_app(db, clock, LOGIN_LIMIT_ACCOUNT="3 per 15 minutes")
    api = client_for(app)
    for _ in range(2):
        api.fails("POST", "/api/login", {"username": "huangpu", "password": "wrong-password"}, status=401)
    assert browser(app).sign_in("HuangPu", "wrong-password").status_code == 401  # the page's failures count too
    blocked = api.fails("POST", "/api/login", {"username": "huangpu", "password": PASSWORD}, status=429,
                        code="too_many_requests")
    assert blocked["message"]
    assert client_for(app, "xuhui").token  # other accounts are not blocked
