"""The state oracle: after every command, each case the command changed is compared in four views.

* **live**: the case as the engine holds it after the command (its cache);
* **loaded**: the same case rebuilt from the database by a second engine that has cached nothing;
* **serializer**: the live workflow through SpiffWorkflow's own ``BpmnWorkflowSerializer``
  (``serialize_json`` then ``deserialize_json``, specs included), its task converter writing each
  task's data whole (``WholeDataTaskConverter``), as Shanyu stores it;
* **replay**: the case replayed from its history up to its newest event, followed event by event.

Besides, the case as replay shows it at that event (``workflow.replay.state_view``: its open user
tasks, with who held each) must be the inbox's open rows for the case: the auditors' "state at
event N" is the state the users had.

They must have the same state digest (which must also be the digest recorded in the newest event),
the same ready tasks and the same data, internal data and state for every task
(``workflow.consistency``). The programme's scenarios, the demo story and the randomized walks
run with it (``Program(observer=StateOracle(...))``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.serializer.default.workflow import TaskConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.consistency import View, differences, view
from workflow.engine import Engine
from workflow.history import list_events
from workflow.paths import task_paths
from workflow.replay import Holders, Replayer, state_view
from workflow.state import LoadedCase
from workflow.store import Database, HumanTask, Instance


class WholeDataTaskConverter(TaskConverter):
    """SpiffWorkflow's task converter, writing a task's data whole instead of as a delta against
    its parent's. The library's delta keeps only the keys whose value differs by ``==``, so a value
    replaced by an equal one of another type (``100.0`` by ``100``, ``1`` by ``True``) comes back
    as the parent's: its own round trip changes the data (``tests/workflow/test_adapters__spiff.py``
    pins this). Shanyu stores every task's data whole, and so does this round trip; its
    ``from_dict`` reads whole data when there is no delta."""

    def to_dict(self, task: Task) -> dict[str, Any]:
        found: dict[str, Any] = super().to_dict(task)
        found["data"] = self.registry.convert(self.registry.clean(task.data))
        found["delta"] = {}
        return found


def round_trip_serializer() -> BpmnWorkflowSerializer:
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure({**SPIFF_CONFIG, Task: WholeDataTaskConverter}))


class StateDivergence(AssertionError):
    """Two views of a case differ."""


@dataclass
class StateOracle:
    db: Database
    engine: Engine  # the engine the commands run on
    fresh: Engine = field(default_factory=lambda: Engine(check_state=False))
    checked: int = 0  # case views compared, for the tests' own assertions
    _seen: dict[int, int] = field(default_factory=dict)  # case -> events already checked
    _replayers: dict[int, Replayer] = field(default_factory=dict)
    _holders: dict[int, Holders] = field(default_factory=dict)
    _serializer: BpmnWorkflowSerializer = field(default_factory=round_trip_serializer)

    def __call__(self) -> None:
        """Check every case with events not yet checked."""
        with self.db.read() as session:
            rows = session.execute(select(Instance.id, Instance.event_count, Instance.process_version_id)).all()
            for iid, count, version_id in rows:
                if self._seen.get(iid, 0) != count:
                    self._check(session, iid, version_id)
                    self._seen[iid] = count

    def _check(self, session: Session, iid: int, version_id: int) -> None:
        events = list_events(session, iid)[self._seen.get(iid, 0):]
        replayer = self._replayers.get(iid)
        if replayer is None:
            replayer = self._replayers[iid] = Replayer(session, self.fresh, iid, events[0])
        loaded = self.fresh.cases.restore(session, iid, version_id)
        holders = self._holders.setdefault(iid, Holders({}))
        holders.paths.update(task_paths(loaded.workflow))
        for event in events:
            step = replayer.advance(event)
            if not step.ok:
                raise StateDivergence(f"case {iid}: replay differs at event {step.seq} ({step.type}): {step.note}")
            holders.follow(event)
        recorded = events[-1].state_digest
        self._check_open_tasks(session, iid, replayer.case, holders, events)
        cached = self.engine.cases.peek(iid)
        live = cached.loaded if cached is not None and cached.head.event_count == events[-1].seq else None
        expected = view(live if live is not None else loaded)
        if expected.digest != recorded:
            raise StateDivergence(f"case {iid}: the live state's digest is not the one recorded in event "
                                  f"{events[-1].seq} ({events[-1].type})")
        others: list[tuple[str, View]] = [("loaded", view(loaded)), ("replay", view(replayer.case))]
        source = live if live is not None else loaded
        text = self._serializer.serialize_json(source.workflow)
        others.append(("serializer", view(LoadedCase(self._serializer.deserialize_json(text)))))
        for name, other in others:
            found = differences(expected, other)
            if found:
                raise StateDivergence(f"case {iid} after event {events[-1].seq} ({events[-1].type}): "
                                      f"the {name} view differs from the live one: {'; '.join(found)}")
        self.checked += 1

    @staticmethod
    def _check_open_tasks(session: Session, iid: int, case: LoadedCase, holders: Holders, events: list[Any]) -> None:
        replayed = Counter((t["bpmn_id"], t["name"], t["lane"], t["claimed_by"])
                           for t in state_view(case, holders, events)["active_tasks"])
        live = Counter(tuple(row) for row in session.execute(
            select(HumanTask.bpmn_id, HumanTask.name, HumanTask.lane, HumanTask.claimed_by)
            .where(HumanTask.instance_id == iid, HumanTask.state == "ready")).all())
        if replayed != live:
            raise StateDivergence(f"case {iid} after event {events[-1].seq} ({events[-1].type}): the open tasks "
                                  f"replay shows, {sorted(replayed)}, are not the inbox's, {sorted(live)}")
