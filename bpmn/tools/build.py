"""Write the programme's diagrams into bpmn/: ``python bpmn/tools/build.py``.

The files it writes are the source of truth once committed (edit them in the modeler); rerun this
only to regenerate a diagram from its description here, and review the diff. After each diagram it
prints what the layout checker (``workflow.diagram_layout``) finds: crossings, label overlaps, and
the fit-to-screen zoom when it is below the readable threshold.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import cycle  # noqa: E402
import decision  # noqa: E402
import district  # noqa: E402
import revocation  # noqa: E402
import titles  # noqa: E402

from workflow.diagram_layout import check_file  # noqa: E402

TARGETS: dict[str, Any] = {
    "district_application.bpmn": district.build,
    "creation_cycle.bpmn": cycle.build,
    "title_management.bpmn": titles.build,
    "revocation.bpmn": revocation.build,
    "revocation_decision.dmn": decision.write,
}


def main(names: list[str]) -> None:
    for file, build in TARGETS.items():
        if names and file not in names:
            continue
        build(HERE.parent / file) if file.endswith(".dmn") else build().write(HERE.parent / file)
        print(f"wrote bpmn/{file}")
        if file.endswith(".bpmn"):  # what tests/program/test_bpmn__layout.py will say about it
            report = check_file(HERE.parent / file)
            for problem in report.problems():
                print(f"  layout: {problem}")


if __name__ == "__main__":
    main(sys.argv[1:])
