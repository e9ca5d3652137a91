"""Who may call what: every route of the JSON API × the demo's roles — both district roles of two
districts, each municipal role, the auditor, the admin and anonymous — answers as designed
(allowed, 401, 403 or 404); and a district user guessing ids reads nothing of another district.

The target is jingan's 拟定创建意向 (role 区有关部门, district 310106) and its case; starting uses
the fixture process engine_basic (its start event lies in the lane 区有关部门), deployed into the
demo. Each cell runs on its own copy of the demo; the tokens are minted once per user (they are
stateless, so a token is valid on every copy).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import BPMN
from tests.web.api_client import Api, api_app, client_for
from tests.web.pages import NOW, task_of
from web.demo_data import DEMO_PASSWORD, intention
from workflow import materials
from workflow.clock import FakeClock
from workflow.engine import Engine
from workflow.store import Database, HumanTask, Instance
from workflow.users import load_actor

JINGAN, CHANGNING = "310106", "310105"
INTENTION = "拟定创建意向"
ROUTES = ["login", "tasks", "task", "claim", "release", "complete", "draft", "start", "instance", "history",
          "notices", "upload", "material"]
# user: the status of each route, in the order of ROUTES
EXPECTED: dict[str, tuple[int, ...]] = {
    "jingan-dept":      (200, 200, 200, 200, 200, 200, 200, 201, 200, 200, 200, 201, 200),
    "jingan-leader":    (200, 200, 404, 404, 404, 404, 404, 403, 200, 200, 200, 404, 200),
    "changning-dept":   (200, 200, 404, 404, 404, 404, 404, 403, 404, 404, 200, 404, 404),
    "changning-leader": (200, 200, 404, 404, 404, 404, 404, 403, 404, 404, 200, 404, 404),
    "city":             (200, 200, 404, 404, 404, 404, 404, 403, 200, 200, 200, 404, 200),
    "approver":         (200, 200, 404, 404, 404, 404, 404, 403, 200, 200, 200, 404, 200),
    "expert":           (200, 200, 404, 404, 404, 404, 404, 403, 200, 200, 200, 404, 200),
    "owner":            (200, 200, 404, 404, 404, 404, 404, 403, 200, 200, 200, 404, 200),
    "auditor":          (200, 200, 200, 403, 403, 403, 403, 403, 200, 200, 200, 403, 200),
    "admin":            (200, 200, 200, 200, 200, 200, 200, 201, 200, 200, 200, 201, 200),
    None:               (401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 200, 401, 401),
}
SHARED_ENGINE = Engine()  # its cache is checked against each copy's rows, as across processes


@pytest.fixture(scope="module")
def template(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo with engine_basic deployed (by the process owner)."""
    path = tmp_path_factory.mktemp("api-matrix") / "demo.db"
    shutil.copyfile(demo_template, path)
    db = Database(f"sqlite:///{path}")
    with db.write() as s:
        SHARED_ENGINE.deploy(s, {"engine_basic.bpmn": (BPMN / "engine_basic.bpmn").read_bytes()},
                             actor=load_actor(s, "owner"), now=FakeClock(NOW).now())
    db.dispose()
    return path


@pytest.fixture
def app(template: Path, tmp_path: Path) -> Iterator[Flask]:
    shutil.copyfile(template, tmp_path / "demo.db")
    db = Database(f"sqlite:///{tmp_path / 'demo.db'}")
    flask_app = api_app(db, FakeClock(NOW))
    flask_app.extensions["shanyu"]["engine"] = SHARED_ENGINE
    yield flask_app
    db.dispose()


TOKENS: dict[str, str] = {}


def as_user(app: Flask, name: str | None) -> Api:
    if name is None:
        return client_for(app)
    if name not in TOKENS:
        TOKENS[name] = client_for(app, name, DEMO_PASSWORD).token or ""
    return Api(app.test_client(use_cookies=False), token=TOKENS[name])


def holder_for(app: Flask, name: str | None) -> Api:
    """The caller holds the target task if they may claim it; otherwise jingan-dept does."""
    db: Database = app.extensions["shanyu"]["db"]
    task = task_of(db, INTENTION, JINGAN)
    with db.read() as s:
        may = name is not None and (actor := load_actor(s, name)).may_work_on("区有关部门", JINGAN) \
            and actor.roles != {"auditor"}
    holder = as_user(app, name if may else "jingan-dept")
    holder.ok("POST", f"/api/tasks/{task}/claim")
    return holder


def material_of(db: Database, case: int) -> str:
    """A material of jingan's case, added by jingan-dept (as the task page or the API would)."""
    with db.write() as s:
        return materials.add(s, case, "静安区创建意向材料".encode(), "意向.txt", load_actor(s, "jingan-dept"),
                             FakeClock(NOW).now())


def call(route: str, app: Flask, name: str | None) -> Any:
    db: Database = app.extensions["shanyu"]["db"]
    task = task_of(db, INTENTION, JINGAN)
    with db.read() as s:
        case = s.execute(select(HumanTask.instance_id).where(HumanTask.id == task)).scalar_one()
    api = as_user(app, name)
    requests: dict[str, Callable[[], Any]] = {
        "login": lambda: api.post("/api/login", {"username": name or "nobody", "password": DEMO_PASSWORD}),
        "tasks": lambda: api.get("/api/tasks"),
        "task": lambda: api.get(f"/api/tasks/{task}"),
        "claim": lambda: api.post(f"/api/tasks/{task}/claim"),
        "release": lambda: api.post(f"/api/tasks/{task}/release"),
        # no materials: an upload field takes only materials of the case, and none were added
        "complete": lambda: api.post(f"/api/tasks/{task}/complete", {"data": {
            k: v for k, v in intention(JINGAN).items() if k != "intention_materials"}}),
        "draft": lambda: api.put(f"/api/tasks/{task}/draft", {"data": {"contact_name": "王老师"}}),
        "start": lambda: api.post("/api/instances", {"process_id": "engine_basic", "data": {"district": JINGAN}}),
        "instance": lambda: api.get(f"/api/instances/{case}"),
        "history": lambda: api.get(f"/api/instances/{case}/history"),
        "notices": lambda: api.get("/api/notices"),
        "upload": lambda: api.call("POST", f"/api/tasks/{task}/materials", content_type="multipart/form-data", data={
            "field": "intention_materials", "file": (BytesIO(b"%PDF-1.4\n%matrix\n"), "intention.pdf")}),
        # the bytes on success (not JSON), the JSON error otherwise
        "material": lambda: api.client.get(f"/api/materials/{material_of(db, case)}",
                                           headers={"Authorization": f"Bearer {api.token}"} if api.token else {}),
    }
    if route in ("release", "complete", "draft", "upload"):
        holder_for(app, name)
    return requests[route]()


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("name", list(EXPECTED), ids=[n or "anonymous" for n in EXPECTED])
def test_every_route_for_every_role(app: Flask, name: str | None, route: str) -> None:
    answer = call(route, app, name)
    expected = EXPECTED[name][ROUTES.index(route)]
    body = answer.get_json()
    assert answer.status_code == expected, (name, route, answer.status_code, body)
    if expected >= 400:
        assert set(body) >= {"error", "message"}, body
        assert body["error"] != "task_already_claimed"  # a refusal never says who holds what
    elif route == "material":
        assert answer.data == "静安区创建意向材料".encode() and answer.mimetype == "text/plain"
    elif route == "tasks":
        with app.extensions["shanyu"]["db"].read() as s:
            actor = load_actor(s, name or "")
        assert all(actor.may_work_on(t["role"], t["district"]) or t["claimed_by"] == actor.name
                   for t in body["tasks"])


def test_the_matrix_covers_every_route_of_the_api(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()
                 if rule.endpoint.startswith("api.") and rule.endpoint != "api.no_such_endpoint"}
    assert len(endpoints) == len(ROUTES)


def test_a_district_user_guessing_ids_reads_nothing_of_another_district(app: Flask) -> None:
    db: Database = app.extensions["shanyu"]["db"]
    with db.read() as s:
        tasks = dict(s.execute(select(HumanTask.id, HumanTask.district)).all())
        cases = dict(s.execute(select(Instance.id, Instance.district)).all())
    changning = as_user(app, "changning-dept")
    seen_tasks = [i for i in range(1, max(tasks) + 5) if changning.get(f"/api/tasks/{i}").status_code == 200]
    seen_cases = [i for i in range(1, max(cases) + 5) if changning.get(f"/api/instances/{i}").status_code == 200]
    seen_history = [i for i in range(1, max(cases) + 5)
                    if changning.get(f"/api/instances/{i}/history").status_code == 200]
    assert seen_tasks and {tasks[i] for i in seen_tasks} == {CHANGNING}
    assert seen_cases == seen_history and {cases[i] for i in seen_cases} == {CHANGNING}
    assert len(seen_cases) == sum(1 for d in cases.values() if d == CHANGNING)
    for i in range(1, max(tasks) + 5):
        if i not in seen_tasks:
            assert changning.post(f"/api/tasks/{i}/claim").status_code == 404
            assert upload_status(changning, i) == 404


def upload_status(api: Api, task_id: int) -> int:
    answer = api.call("POST", f"/api/tasks/{task_id}/materials", content_type="multipart/form-data",
                      data={"field": "intention_materials", "file": (BytesIO(b"%PDF-1.4\n"), "a.pdf")})
    return answer.status_code


def test_a_district_user_reads_no_material_of_another_district(app: Flask) -> None:
    db: Database = app.extensions["shanyu"]["db"]
    with db.read() as s:
        jingan_case = s.execute(select(HumanTask.instance_id).where(HumanTask.id == task_of(db, INTENTION, JINGAN))
                                ).scalar_one()
    ids = [material_of(db, jingan_case)]
    with db.read() as s:
        ids += list(s.execute(select(materials.Material.id).join(Instance, Instance.id == materials.Material.instance_id)
                              .where(Instance.district != CHANGNING)).scalars())
    changning = as_user(app, "changning-dept")
    for material_id in set(ids):
        assert changning.get(f"/api/materials/{material_id}").status_code == 404
    assert as_user(app, "jingan-dept").client.get(
        f"/api/materials/{ids[0]}", headers={"Authorization": f"Bearer {TOKENS['jingan-dept']}"}).status_code == 200


def test_public_notices_carry_no_objectors_particulars(app: Flask) -> None:
    answer = as_user(app, None).get("/api/notices")
    [notice] = answer.get_json()["notices"]
    assert notice["status"] == "closed" and notice["workdays"] >= 5 and notice["candidates"]["shanghai"]
    assert notice["objections"] and all(set(o) <= {"result", "district"} for o in notice["objections"])
    assert "市民甲" not in answer.get_data(as_text=True)  # the demo's objector
    assert as_user(app, None).ok("GET", "/api/notices?status=published")["notices"] == []
