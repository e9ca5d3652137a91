"""The programme's diagrams read cleanly (issue 12 point 8): no sequence or message flow runs through
a shape it does not connect or across a container it does not enter, and no label sits on a shape
or on another label, checked from the DI coordinates by ``workflow.diagram_layout``.

Fit-to-screen readability is recorded rather than met: every diagram is wider than 1880 px at the
readable zoom, and the split that would fix it changes process structure (docs/architecture.md,
"图面布局"). The strict xfail turns red the day a diagram becomes readable, so the mark is removed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow.diagram_layout import MIN_READABLE_SCALE, check_file

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
DIAGRAMS = ["district_application.bpmn", "creation_cycle.bpmn", "title_management.bpmn", "revocation.bpmn"]


@pytest.mark.parametrize("name", DIAGRAMS)
def test_no_flow_crosses_a_shape_it_does_not_connect(name: str) -> None:
    assert check_file(BPMN_DIR / name).crossings == []


@pytest.mark.parametrize("name", DIAGRAMS)
def test_no_label_overlaps_a_shape_or_another_label(name: str) -> None:
    assert check_file(BPMN_DIR / name).label_overlaps == []


@pytest.mark.parametrize("name", DIAGRAMS)
@pytest.mark.xfail(strict=True, reason="wider than the screen at the readable zoom; split proposed, not done")
def test_the_diagram_reads_at_fit_to_screen_zoom(name: str) -> None:
    report = check_file(BPMN_DIR / name)
    assert report.scale >= MIN_READABLE_SCALE, report.problems()[-1]
