"""The programme's diagrams read cleanly (issue 12 point 8): no sequence or message flow runs through
a shape it does not connect or across a container it does not enter, no label sits on a shape or on
another label, and each plane (the collaboration's, and each collapsed subprocess's own plane that
bpmn-js drills down into) fits a 1920×1080 screen at a readable zoom, checked from the DI
coordinates by ``workflow.diagram_layout`` (docs/architecture.md, "图面布局").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow.diagram_layout import MIN_READABLE_SCALE, check_file

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
DIAGRAMS = ["district_application.bpmn", "creation_cycle.bpmn", "title_management.bpmn", "revocation.bpmn"]
PLANES = [(name, plane) for name in DIAGRAMS for plane in check_file(BPMN_DIR / name).planes]


@pytest.mark.parametrize("name", DIAGRAMS)
def test_no_flow_crosses_a_shape_it_does_not_connect(name: str) -> None:
    assert check_file(BPMN_DIR / name).crossings == []


@pytest.mark.parametrize("name", DIAGRAMS)
def test_no_label_overlaps_a_shape_or_another_label(name: str) -> None:
    assert check_file(BPMN_DIR / name).label_overlaps == []


@pytest.mark.parametrize(("name", "plane"), PLANES)
def test_each_plane_reads_at_fit_to_screen_zoom(name: str, plane: str) -> None:
    scale, extent = check_file(BPMN_DIR / name).planes[plane]
    assert scale >= MIN_READABLE_SCALE, f"{plane} fits at {scale:.2f} ({extent.w:.0f}×{extent.h:.0f})"


def test_every_diagram_has_a_plane_per_collapsed_subprocess() -> None:
    assert len(PLANES) > len(DIAGRAMS)
