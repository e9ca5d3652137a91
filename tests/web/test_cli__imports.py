"""Each ``shanyu`` command imports only what it uses: ``--help`` neither SpiffWorkflow, Flask, APScheduler
nor even SQLAlchemy; reading commands no BPMN engine; no command but ``init``, ``demo`` and ``serve``
Alembic (the schema check reads the revision with plain SQL); nothing but ``serve`` imports Flask,
nothing but ``serve`` and ``scheduler`` APScheduler. (``history verify`` rebuilds every case to check its
live state, which takes the engine.) Checked in a fresh interpreter's ``sys.modules`` after the
command ran (no timing: bench/cli_startup.py measures the time)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BPMN

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("SpiffWorkflow", "flask", "apscheduler", "sqlalchemy", "alembic", "jsonschema", "lxml", "chinese_calendar")
RUN = (
    "import json, sys\n"
    "import web.cli\n"
    "code = web.cli.main(sys.argv[2:])\n"
    "print(json.dumps([code, sorted(m for m in json.loads(sys.argv[1]) if m in sys.modules)]), file=sys.stderr)\n"
)


def loaded(*argv: str, cwd: Path) -> tuple[int, set[str]]:
    """Run ``shanyu ARGV`` in a fresh interpreter; its exit status and the heavy packages it imported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHANYU_")}
    env.update(PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1", PYTHONIOENCODING="utf-8")
    done = subprocess.run([sys.executable, "-c", RUN, json.dumps(HEAVY), *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=120, check=False)
    code, modules = json.loads(done.stderr.strip().splitlines()[-1])
    return int(code), set(modules)


def test_help_imports_none_of_the_heavy_packages(tmp_path: Path) -> None:
    assert loaded("--help", cwd=tmp_path) == (0, set())
    assert loaded("material", "add", "--help", cwd=tmp_path) == (0, set())


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database with a case of engine_basic (set up in this process; the commands run in fresh ones)."""
    from web.cli import main

    path = tmp_path_factory.mktemp("imports") / "shanyu.db"
    url = f"sqlite:///{path}"
    steps = [["init"], ["user", "add", "owner", "--role", "流程管理员"],
             ["user", "add", "hp", "--role", "区有关部门", "--district", "310101"],
             ["deploy", str(BPMN / "engine_basic.bpmn"), "--as", "owner"],
             ["start", "engine_basic", "--data", '{"district": "310101"}', "--as", "hp"]]
    for step in steps:
        assert main([*step, "--json", "--database-url", url]) == 0
    (path.parent / "note.txt").write_text("材料", encoding="utf-8")
    return url


ENGINE = {"SpiffWorkflow", "lxml", "jsonschema", "chinese_calendar"}  # what loading and running a case takes


@pytest.mark.parametrize(("argv", "allowed"), [
    (["tasks", "--json"], {"sqlalchemy"}),
    (["task", "list", "--as", "hp"], {"sqlalchemy"}),
    (["task", "show", "1", "--as", "hp"], {"sqlalchemy"}),
    (["case", "show", "1", "--as", "hp", "--json"], {"sqlalchemy"}),
    (["history", "show", "1"], {"sqlalchemy"}),
    (["history", "verify"], {"sqlalchemy", *ENGINE}),  # it rebuilds each case to check its live state
    (["material", "add", "note.txt", "--case", "1", "--as", "hp"], {"sqlalchemy"}),
    (["material", "show", "m-0000000000"], {"sqlalchemy"}),  # not found (exit 1) after the same imports
    (["calendar", "notice-end", "2022-09-29", "5"], {"sqlalchemy", "chinese_calendar"}),
    (["history", "replay", "1"], {"sqlalchemy"} | ENGINE),
    (["claim", "1", "--as", "hp"], {"sqlalchemy"} | ENGINE),
    (["timers", "fire"], {"sqlalchemy"} | ENGINE),
])
def test_each_command_imports_only_what_it_uses(database: str, argv: list[str], allowed: set[str]) -> None:
    cwd = Path(database.removeprefix("sqlite:///")).parent
    code, modules = loaded(*argv, "--database-url", database, cwd=cwd)
    assert code == (1 if argv[:2] == ["material", "show"] else 0)
    assert modules <= allowed, f"shanyu {' '.join(argv)} imported {sorted(modules - allowed)}"
    assert "sqlalchemy" in modules  # the check sees imports at all
