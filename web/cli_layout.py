"""``shanyu layout [PATH...]``: whether diagrams read cleanly, from their DI coordinates alone.

The rules are ``workflow.diagram_layout``'s (docs/architecture.md, "图面布局"): no sequence or message
flow runs through a shape it does not connect, no label sits on a shape or another label, and every
diagram plane fits a 1920×1080 screen at a readable zoom (a local setting). A process owner runs it
after editing a diagram, before ``shanyu deploy``; the command prints each file's findings (``--json``:
the same as a list) and exits 1 when a file has one. It reads files only: no database.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflow.errors import InvalidData

if TYPE_CHECKING:
    from web.cli import Context

BPMN_DIR = Path(__file__).resolve().parents[1] / "bpmn"


def diagram_files(paths: list[Path]) -> list[Path]:
    """The ``.bpmn`` files of ``paths`` (folders are searched, not recursively), in name order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(path.glob("*.bpmn"))
        elif path.is_file():
            found.append(path)
        else:
            raise InvalidData(f"{path}: no such file or folder.")
    if not found:
        raise InvalidData(f"No .bpmn file in {', '.join(map(str, paths))}.")
    return found


def cmd_layout(ctx: Context) -> None:
    from workflow.diagram_layout import MIN_READABLE_SCALE, check_file

    results: list[dict[str, Any]] = []
    for path in diagram_files([Path(p) for p in ctx.args.paths] or [BPMN_DIR]):
        report = check_file(path)
        drawn = report.extent.w > 0 or report.extent.h > 0  # the scale shown is the modeler's: it never zooms in
        results.append({"file": str(path), "ok": not report.problems(), "drawn": drawn,
                        "scale": round(min(report.scale, 1.0), 2) if drawn else None, "problems": report.problems()})

    def text() -> str:
        lines = []
        for r in results:
            if not r["drawn"]:
                lines.append(f"{r['file']}: no drawing (no BPMN DI), nothing to check; a modeler lays it out on opening")
                continue
            verdict = "reads cleanly" if r["ok"] else f"{len(r['problems'])} problem(s)"
            lines.append(f"{r['file']}: {verdict} (fits the screen at {r['scale']:.2f}; readable from "
                         f"{MIN_READABLE_SCALE})")
            lines += [f"  {problem}" for problem in r["problems"]]
        return "\n".join(lines)

    ctx.out(results, text)
    if not all(r["ok"] for r in results):
        raise SystemExit(1)
