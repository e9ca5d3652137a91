"""The ``shanyu`` commands that set things up — ``init``, ``user add``, ``lane map``, ``start`` — and the
command line itself (help, usage errors, where options go), held to the README's ``--json`` contract:
output on stdout, errors on stderr (``error: …`` or a JSON object), exit status 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import BPMN
from tests.web.conftest import TASK_KEYS, Shanyu, start
from web.cli import main
from workflow.migrate import current_revision, head_revision
from workflow.store import Instance, User, database_url
from workflow.users import check_password, load_actor


# -- init, users, lanes ------------------------------------------------------------------------
def test_init_creates_the_schema_and_is_idempotent(shanyu: Shanyu) -> None:
    first = shanyu.ok("init")
    assert first == {"database": database_url(shanyu.url), "revision": head_revision()}
    assert shanyu.ok("init") == first
    assert current_revision(shanyu.db) == head_revision()

    plain = shanyu("init")
    assert plain.code == 0
    assert plain.out.strip() == f"Database ready at {database_url(shanyu.url)} (schema {head_revision()})."


def test_user_add_stores_roles_and_district(shanyu: Shanyu) -> None:
    shanyu.ok("init")
    assert shanyu.ok("user", "add", "huangpu", "--role", "区有关部门", "--district", "310101") == {
        "name": "huangpu",
        "roles": ["区有关部门"],
        "district": "310101",
    }
    made = shanyu.ok("user", "add", "lead", "--role", "市有关部门", "--role", "auditor")
    assert made == {"name": "lead", "roles": ["auditor", "市有关部门"], "district": None}

    plain = shanyu(
        "user", "add", "huangpu", "--role", "区有关部门", "--role", "admin", "--district", "310101"
    )
    assert (plain.code, plain.out.strip()) == (0, "User huangpu: roles admin, 区有关部门, district 310101")

    with shanyu.db.read() as session:
        huangpu, lead = load_actor(session, "huangpu"), load_actor(session, "lead")
        assert session.scalar(select(User.password_hash).where(User.name == "huangpu")) is None
    assert (huangpu.roles, huangpu.district) == (frozenset({"区有关部门", "admin"}), "310101")
    assert (lead.roles, lead.district) == (frozenset({"市有关部门", "auditor"}), None)
    assert shanyu.count(User.id) == 2  # adding an existing user updates it


def test_user_add_reads_the_password_from_stdin(shanyu: Shanyu) -> None:
    shanyu.ok("init")
    shanyu.ok(
        "user", "add", "huangpu", "--role", "区有关部门", "--password-stdin", stdin="correct horse\nignored\n"
    )
    with shanyu.db.read() as session:
        stored = session.scalar(select(User.password_hash).where(User.name == "huangpu"))
    assert stored is not None and "correct horse" not in stored
    assert check_password(stored, "correct horse")
    assert not check_password(stored, "correct horse\n")


def test_user_add_rejects_a_short_password_and_stores_nothing(shanyu: Shanyu) -> None:
    shanyu.ok("init")
    run = shanyu.fails("user", "add", "huangpu", "--role", "区有关部门", "--password-stdin", stdin="short\n")
    assert run.err.strip() == "error: A password must have at least 8 characters."

    run = shanyu.fails(
        "user", "add", "huangpu", "--role", "区有关部门", "--password-stdin", "--json", stdin="short\n"
    )
    assert run.error() == {"error": "invalid_data", "message": "A password must have at least 8 characters."}
    assert shanyu.count(User.id) == 0


def test_lane_map_decides_who_may_claim_a_lane(ready: Shanyu) -> None:
    assert ready.ok("lane", "map", "区有关部门", "district_staff") == {
        "lane": "区有关部门",
        "role": "district_staff",
    }
    ready.ok("user", "add", "staff", "--role", "district_staff", "--district", "310101")  # a mapped role is known

    # the start event is in that lane too: its role now starts the process
    assert "permission_denied" in ready.fails("start", "engine_basic", "--data", '{"district": "310101"}',
                                              "--as", "huangpu", "--json").err
    [task] = start(ready, user="staff")["tasks"]
    assert (task["lane"], task["role"]) == ("区有关部门", "district_staff")
    assert [t["id"] for t in ready.ok("tasks", "--as", "staff")] == [task["id"]]
    assert ready.ok("tasks", "--as", "huangpu") == []

    plain = ready("lane", "map", "区有关部门", "区有关部门")  # back to the default; relabels open tasks
    assert (plain.code, plain.out.strip()) == (0, "Lane '区有关部门' → role '区有关部门'.")
    assert [t["role"] for t in ready.ok("tasks", "--as", "huangpu")] == ["区有关部门"]
    assert ready.ok("tasks", "--as", "staff") == []


# -- start -------------------------------------------------------------------------------------
def test_start_returns_the_case_and_its_ready_tasks(ready: Shanyu) -> None:
    case = start(ready)
    assert set(case) == {"id", "instance_id", "process_id", "tasks"}
    assert case["id"] == case["instance_id"] and isinstance(case["id"], int)
    assert case["process_id"] == "engine_basic"
    [task] = case["tasks"]
    assert set(task) == TASK_KEYS
    assert {k: v for k, v in task.items() if k != "id"} == {
        "instance_id": case["id"],
        "process_id": "engine_basic",
        "bpmn_id": "Task_submit",
        "name": "提交申报",
        "lane": "区有关部门",
        "role": "区有关部门",
        "district": "310101",
        "claimed_by": None,
        "state": "ready",
        "due": None,
    }

    plain = ready("start", "engine_basic", "--data", '{"district": "310101"}', "--as", "huangpu2")
    assert plain.code == 0
    header, line = plain.out.splitlines()
    assert header.startswith("Started case ") and header.endswith(" (engine_basic).")
    assert "提交申报 (区有关部门) [310101] ready" in line
    assert ready.count(Instance.id) == 2


def test_start_picks_a_version(ready: Shanyu, tmp_path: Path) -> None:
    changed = tmp_path / "engine_basic.bpmn"
    changed.write_text(
        (BPMN / "engine_basic.bpmn").read_text(encoding="utf-8").replace("提交申报", "提交申报材料"),
        encoding="utf-8",
    )
    [v2] = ready.ok("deploy", str(changed), "--as", "owner")
    assert (v2["version"], v2["created"]) == (2, True)

    assert [t["name"] for t in start(ready)["tasks"]] == ["提交申报材料"]
    old = ready.ok(
        "start", "engine_basic", "--version", "1", "--data", '{"district": "310101"}', "--as", "huangpu"
    )
    assert [t["name"] for t in old["tasks"]] == ["提交申报"]
    run = ready.fails("start", "engine_basic", "--version", "3", "--as", "huangpu")
    assert "Process 'engine_basic' has no version 3 (latest: 2)." in run.err


def test_start_reads_data_from_stdin(ready: Shanyu) -> None:
    case = ready.ok("start", "engine_basic", "--data", "-", "--as", "xuhui", stdin='{"district": "310104"}')
    assert [t["district"] for t in case["tasks"]] == ["310104"]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ('{"district": ', "--data is not valid JSON (Expecting value at line 1 column 14)."),
        ("[1, 2]", "--data must be a JSON object"),
        ('{"_secret": 1}', "field name '_secret' is not allowed"),
    ],
)
def test_start_rejects_bad_data(ready: Shanyu, data: str, problem: str) -> None:
    run = ready.fails("start", "engine_basic", "--data", data, "--as", "huangpu")
    assert problem in run.err
    error = ready.fails("start", "engine_basic", "--data", data, "--as", "huangpu", "--json").error()
    assert error["error"] == "invalid_data"
    assert ready.count(Instance.id) == 0


def test_start_refuses_unknown_users_processes_and_other_districts(ready: Shanyu) -> None:
    run = ready.fails("start", "engine_basic", "--as", "nobody")
    assert "There is no user 'nobody'" in run.err
    assert ready.fails("start", "engine_basic", "--as", "nobody", "--json").error()["error"] == "not_found"

    assert (
        "No process 'nope' is deployed (deployed: engine_basic)"
        in ready.fails("start", "nope", "--as", "huangpu").err
    )
    error = ready.fails(
        "start", "engine_basic", "--data", '{"district": "310101"}', "--as", "xuhui", "--json"
    ).error()
    assert error["error"] == "permission_denied"
    assert ready.count(Instance.id) == 0


# -- help and usage ----------------------------------------------------------------------------
COMMANDS = [
    [],
    ["init"],
    ["deploy"],
    ["start"],
    ["tasks"],
    ["claim"],
    ["release"],
    ["complete"],
    ["message"],
    ["history"],
    ["history", "show"],
    ["history", "verify"],
    ["history", "replay"],
    ["user"],
    ["user", "add"],
    ["lane"],
    ["lane", "map"],
    ["serve"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "shanyu")
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(" ".join(["usage: shanyu", *command]))


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    top = {c[0] for c in COMMANDS if c}
    assert all(name in out for name in top)


def test_usage_errors_return_a_status_instead_of_raising(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["claim", "7"]) == 2  # --as is required
    err = capsys.readouterr().err
    assert "usage: shanyu claim" in err and "--as" in err
    assert main(["no-such-command"]) == 2


@pytest.mark.parametrize("order", ["before", "after"])
def test_options_go_before_or_after_the_command(
    order: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHANYU_DATABASE_URL", raising=False)
    url = f"sqlite:///{tmp_path / 'given.db'}"
    options = ["--json", "--database-url", url]
    argv = [*options, "init"] if order == "before" else ["init", *options]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == {"database": url, "revision": head_revision()}
    assert (tmp_path / "given.db").is_file()
    assert not (tmp_path / "instance").exists()  # the default database was not touched


def test_commands_on_an_uninitialised_database_say_to_run_init(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from web.cli import main

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert main(["tasks", "--database-url", url]) == 1
    assert "run `shanyu init` first" in capsys.readouterr().err
    assert main(["--json", "tasks", "--database-url", url]) == 1
    err = json.loads(capsys.readouterr().err)
    assert err["error"] == "database_not_ready"
    assert main(["init", "--database-url", url]) == 0
    capsys.readouterr()
    assert main(["tasks", "--database-url", url]) == 0
