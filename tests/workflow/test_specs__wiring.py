"""Specs loaded from the diagrams are wired as SpiffWorkflow's serializer wires the specs it restores.

SpiffWorkflow connects some task specs' events to other specs' handlers at run time (a loop task
merging its instances), and its serializer makes those connections when it restores a spec. A
process that parses the diagrams and only loads a case must see the same connections, or the case
behaves differently there than in the process that ran it (tests/program/test_cycle__fresh_process.py).
Here every task spec of every programme diagram, parsed afresh, has the same subscribers on every
event as the same spec after SpiffWorkflow's serializer round trip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from workflow.specs import bundle_from_paths, parse_bundle
from workflow.texts import REGISTRY

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
EVENTS = ("update_event", "ready_event", "completed_event", "error_event", "cancelled_event", "run_event")
PROCESSES = ("creation_cycle", "district_application", "title_management", "revocation")


def subscribers(spec: Any) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(task spec, event) -> the subscribed handlers, as (owner spec name, function name)."""
    found: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for name, task_spec in spec.task_specs.items():
        for event in EVENTS:
            hard = getattr(task_spec, event).hard_subscribers or []
            found[(name, event)] = sorted(
                (getattr(getattr(callback, "__self__", None), "name", "?"), callback.__name__) for callback, *_ in hard)
    return found


@pytest.mark.parametrize("process_id", PROCESSES)
def test_parsed_specs_are_wired_like_restored_ones(process_id: str) -> None:
    spec, subprocess_specs = parse_bundle(bundle_from_paths([BPMN])).get_specs(process_id)
    for process_spec in [spec, *subprocess_specs.values()]:
        restored = REGISTRY.restore(REGISTRY.convert(process_spec))
        assert subscribers(process_spec) == subscribers(restored), process_spec.name
    loops = [name for s in [spec, *subprocess_specs.values()] for (name, event), subs in subscribers(s).items()
             if event == "completed_event" and any(fn == "merge_child" for _owner, fn in subs)]
    if process_id == "creation_cycle":
        assert loops, "the cycle's multi-instance Invite merges its instances"
