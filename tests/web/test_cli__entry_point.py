"""The ``shanyu`` entry point end to end: a real process running ``python -m web.cli`` as the README's
commands do, and the console script declared in ``pyproject.toml``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import web.cli
from workflow.migrate import head_revision

ROOT = Path(__file__).resolve().parents[2]


def shanyu(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a fresh interpreter, in ``cwd``, with no SHANYU_* settings inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHANYU_")}
    env.update(PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1", PYTHONIOENCODING="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "web.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


def test_python_m_web_cli_initializes_the_given_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shanyu.db'}"
    done = shanyu("--json", "--database-url", url, "init", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert json.loads(done.stdout) == {"database": url, "revision": head_revision()}
    assert (tmp_path / "shanyu.db").is_file()
    assert not (tmp_path / "instance").exists()


def test_python_m_web_cli_reports_errors_on_stderr_with_status_1(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shanyu.db'}"
    assert shanyu("init", "--database-url", url, cwd=tmp_path).returncode == 0
    done = shanyu("deploy", str(tmp_path / "missing.bpmn"), "--as", "owner", "--database-url", url, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.strip() == f"error: {tmp_path / 'missing.bpmn'}: no such file or directory."

    done = shanyu("--json", "--database-url", url, "deploy", str(tmp_path / "missing.bpmn"), "--as", "owner",
                  cwd=tmp_path)
    assert (done.returncode, done.stdout) == (1, "")
    assert json.loads(done.stderr)["error"] == "invalid_data"


def test_python_m_web_cli_help_exits_0(tmp_path: Path) -> None:
    done = shanyu("--help", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.startswith("usage: shanyu")
    assert list(tmp_path.iterdir()) == []


def test_pyproject_declares_the_console_script() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["scripts"]["shanyu"] == "web.cli:main"
    module, _, name = project["scripts"]["shanyu"].partition(":")
    assert module == web.cli.__name__ and callable(getattr(web.cli, name))
