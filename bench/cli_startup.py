#!/usr/bin/env python
"""CLI startup — a ``shanyu`` command's wall time (and CPU time) against ``python -c pass``.

Each command runs in a fresh interpreter, as a user's shell runs it (``python -m web.cli …``), on a
small SQLite database made with the CLI itself (engine_basic, 20 cases). Every command and the
bare interpreter run once untimed (bytecode caches warm), then in interleaved rounds; each figure
is the median wall time, with the ratio to ``python -c pass`` and the median CPU time (user +
system) of the child. ``import every command module`` imports what the CLI imported on every call
before commands were imported lazily (engine, scheduler, demo): what ``--help`` used to cost.

No targets (the issue asks for the figures): every line is REPORT. Nothing in the test suite
times anything; ``tests/web/test_cli__imports.py`` checks which packages each command imports.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, Report, fmt, header, median, ms, now_ns, parser  # noqa: E402

CASES = 20
EAGER = ("import web.cli_cases, web.cli_show, web.cli_timers, web.demo, workflow.engine, workflow.scheduler, "
         "workflow.replay, workflow.timers")


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHANYU_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def run(argv: list[str], cwd: Path) -> tuple[int, float]:
    """Run one child; (wall ns, CPU seconds of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = now_ns()
    done = subprocess.run(argv, cwd=cwd, env=child_env(), capture_output=True, check=False)
    wall = now_ns() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode(errors='replace')}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def shanyu(*args: str) -> list[str]:
    return [sys.executable, "-m", "web.cli", *args]


def seed(url: str, cwd: Path) -> None:
    """A small database, made through the CLI: users, engine_basic, ``CASES`` cases."""
    steps = [["init"], ["user", "add", "owner", "--role", "流程管理员"],
             ["user", "add", "hp", "--role", "区有关部门", "--district", "310101"],
             ["deploy", str(ROOT / "tests" / "bpmn" / "engine_basic.bpmn"), "--as", "owner"]]
    steps += [["start", "engine_basic", "--data", '{"district": "310101"}', "--as", "hp"]] * CASES
    for step in steps:
        run(shanyu(*step, "--database-url", url), cwd)


def main() -> int:
    args = parser(__doc__.splitlines()[1], postgres=False).parse_args()
    report = Report("cli_startup", args)
    rounds = 3 if args.quick else 15
    with tempfile.TemporaryDirectory(prefix="shanyu-bench-") as tmp:
        cwd = Path(tmp)
        url = f"sqlite:///{cwd / 'cli.db'}"
        seed(url, cwd)
        db = ["--database-url", url]
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "shanyu --help": shanyu("--help"),
            "shanyu tasks --json": shanyu("tasks", "--json", *db),
            "shanyu task list --as hp --json": shanyu("task", "list", "--as", "hp", "--json", *db),
            "shanyu case show 1 --json": shanyu("case", "show", "1", "--json", *db),
            "shanyu history verify": shanyu("history", "verify", *db),
            "import every command module": [sys.executable, "-c", EAGER],
        }
        header(f"{len(commands)} commands in fresh interpreters, {rounds} interleaved rounds, SQLite, "
               f"{CASES} cases; Python {sys.version.split()[0]}")
        wall: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for argv in commands.values():  # warm the bytecode caches, untimed
            run(argv, cwd)
        names = list(commands)
        for i in range(rounds):
            for name in names[i % len(names):] + names[:i % len(names)]:
                w, c = run(commands[name], cwd)
                wall[name].append(w)
                cpu[name].append(c)
    base = median(wall["python -c pass"])
    for name in names:
        value = median(wall[name])
        report.add(f"{name}: wall", ms(value), "ms",
                   detail=f"{fmt(value / base)}× python -c pass; CPU {fmt(median(cpu[name]) * 1000)} ms")
    return report.summary()


if __name__ == "__main__":
    sys.exit(main())
