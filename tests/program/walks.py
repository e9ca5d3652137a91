"""Randomized walks over the programme's diagrams, run under the state oracle (``tests/oracle.py``).

A walk starts from a case (``tests/program/test_walks__random.py`` sets each diagram's up) and then
repeatedly picks one available action at random, until a step limit or until nothing is left to do:

* complete a ready human task with data drawn at random but valid for the task's form
  (``FormData``: a generator for exactly the JSON Schema features of ``bpmn/forms/*.json``; fields
  that must refer to the case, such as the indicator items to score or the districts that may be
  selected, are drawn from the task's data);
* let time pass to just after the earliest waiting timer (``Program.at``, which fires it);
* send a message the programme's users send (``objection_received``, ``national_result`` while a
  case waits for it, ``revocation_requested`` at any time);
* claim or release a task, now and then with the wrong user;
* now and then submit data that breaks the form.

A command refused with a ``ShanyuError`` is a legitimate outcome: the walker then checks that the
command changed nothing in the database and counts it. Anything else (a ``StateDivergence`` from
the oracle, a database error, a ``DemoFailed`` from the driver) ends the walk with the error.

Everything a walk does follows from its ``random.Random``: the same seed gives the same walk.
"""

from __future__ import annotations

import copy
import json
import random
import string
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

from jsonschema import Draft202012Validator
from sqlalchemy import select

from handlers.titles import GROUNDS, SOURCES
from tests.oracle import StateOracle
from web.demo_data import (
    DISTRICTS,
    NAMES,
    application,
    assignment,
    audit,
    cycle_data,
    indicators,
    intention,
    leadership,
    request,
    selection,
    self_assessment,
)
from web.demo_driver import Program, demo_users, role_key
from workflow.calendar import library_years
from workflow.clock import SHANGHAI, FakeClock
from workflow.engine import Engine
from workflow.errors import ShanyuError
from workflow.materials import upload_fields
from workflow.specs import bundle_from_paths
from workflow.store import Database, HumanTask, Instance, MessageSubscription, Timer
from workflow.users import Actor

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
FORMS = BPMN / "forms"

# -- random values ---------------------------------------------------------------------------------

HAN = "上海市婴幼儿照护服务示范区创建工作情况核实整改报告意见审核同意申报材料托育机构家庭满意度区教育局卫生健康委发展改革"
ASCII = string.ascii_letters + string.digits + " -_.,;:/()"
ODD = "“”《》、，。！？·—…\"'\\<>&%{}[]\u3000😀"  # quotes, escapes, markup, a full-width space, a non-BMP char
HEX = "0123456789abcdef"
UPLOAD = r"^m-[0-9a-f]{8,64}$"
DATE = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
MONTH_DAY = r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
DISTRICT = r"^31[0-9]{4}$"
CODE = r"^[A-Za-z0-9._-]{1,20}$"
CYCLE_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,40}$"
PHONE = r"^[0-9+() -]{7,20}$"
URL = r"^https?://[^\s]+$"
GOVERNMENT = r"^.{1,20}区人民政府$"
TIME_OF_DAY = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"  # the cycle's cut-off time (cutoff_time)
CALENDAR = library_years()  # the years the working-day calendar knows
TEXT_CAP = 60  # longest free text drawn (the forms allow up to 8000 characters)
LIST_CAP = 4  # most items drawn for an array (the forms allow up to 100)


@cache
def form_schema(name: str) -> dict[str, Any]:
    """A form of ``bpmn/forms`` by the name a task gives (``forms/intention.json``)."""
    schema: dict[str, Any] = json.loads((BPMN / name).read_text(encoding="utf-8"))
    return schema


@cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(form_schema(name))


class FormData:
    """Random values for the JSON Schema features the forms use: ``type`` object / string / integer /
    number / boolean / array; ``enum`` and ``const``; ``minLength`` / ``maxLength``; ``minimum`` /
    ``maximum`` / ``exclusiveMinimum``; the forms' ``pattern``s (dates, month-days, upload ids, district
    and item codes, a cycle id, a phone number, a URL, "××区人民政府"); ``required``, optional
    properties left out now and then, ``additionalProperties`` false or a schema (the score maps,
    with ``propertyNames``, ``minProperties`` / ``maxProperties``); ``items``, ``minItems`` /
    ``maxItems``, ``uniqueItems``; ``allOf`` of ``if`` / ``then`` (a conditionally required field).
    A pattern it does not know is an error, so that a new form cannot make it draw invalid data."""

    def __init__(self, rnd: random.Random, today: date, districts: Sequence[str] = ()) -> None:
        self.rnd = rnd
        self.today = today
        self.districts = list(districts) or [code for code, *_ in DISTRICTS]

    # -- scalars -----------------------------------------------------------------------------------
    def text(self, lo: int = 1, hi: int = TEXT_CAP, *, multiline: bool = False, odd: bool = True) -> str:
        rnd = self.rnd
        hi = max(lo, min(hi, max(lo, TEXT_CAP)))
        length = rnd.choice([lo, hi, rnd.randint(lo, hi), rnd.randint(lo, hi)])
        pools = [HAN, HAN, ASCII] + ([ODD] if odd else [])
        chars = []
        for _ in range(length):
            pool = rnd.choice(pools)
            chars.append(rnd.choice(pool))
        if multiline and length >= 3 and rnd.random() < 0.3:
            chars[rnd.randrange(1, length - 1)] = "\n"
        return "".join(chars)

    def day(self, lo: int = -30, hi: int = 60) -> date:
        """A day near today, in a year the working-day calendar knows."""
        first, last = date(CALENDAR.start, 1, 1), date(CALENDAR.stop - 1, 12, 31)
        found = self.today + timedelta(days=self.rnd.randint(lo, hi))
        return min(max(found, first), last)

    def date(self, lo: int = -30, hi: int = 60) -> str:
        return self.day(lo, hi).isoformat()

    def upload(self) -> str:
        return "m-" + "".join(self.rnd.choice(HEX) for _ in range(self.rnd.choice([8, 10, 32, 64])))

    def pattern(self, pattern: str, lo: int, hi: int) -> str:
        rnd = self.rnd
        if pattern == DATE:
            return self.date()
        if pattern == MONTH_DAY:
            return f"{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
        if pattern == UPLOAD:
            return self.upload()
        if pattern == DISTRICT:
            return rnd.choice(self.districts)
        if pattern == CODE:
            return "".join(rnd.choice(string.ascii_letters + string.digits + "._-") for _ in range(rnd.randint(1, 20)))
        if pattern == CYCLE_ID:
            first = rnd.choice(string.ascii_letters + string.digits)
            return first + "".join(rnd.choice(string.ascii_letters + string.digits + "_-") for _ in range(rnd.randint(0, 12)))
        if pattern == PHONE:
            return "".join(rnd.choice("0123456789+() -") for _ in range(rnd.randint(7, 20)))
        if pattern == URL:
            path = "".join(rnd.choice(string.ascii_lowercase + string.digits + "/-_.?=&%") for _ in range(rnd.randint(1, 30)))
            return f"{rnd.choice(['http', 'https'])}://www.shanghai.gov.cn/{path}"[: max(hi, 12)]
        if pattern == GOVERNMENT:
            return self.text(1, 20, odd=False).replace("\n", "") + "区人民政府"
        if pattern == TIME_OF_DAY:
            return f"{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}"
        raise AssertionError(f"walks.FormData has no generator for the pattern {pattern!r}: add one")

    # -- any schema --------------------------------------------------------------------------------
    def value(self, schema: dict[str, Any], name: str = "") -> Any:
        rnd = self.rnd
        if "const" in schema:
            return copy.deepcopy(schema["const"])
        if "enum" in schema:
            return copy.deepcopy(rnd.choice(schema["enum"]))
        kind = schema.get("type")
        if kind == "object":
            return self.object(schema)
        if kind == "array":
            return self.array(schema, name)
        if kind == "string":
            lo, hi = schema.get("minLength", 0), schema.get("maxLength", TEXT_CAP)
            if "pattern" in schema:
                return self.pattern(schema["pattern"], lo, hi)
            widget = (schema.get("x-ui") or {}).get("widget")
            return self.text(max(lo, 1), hi, multiline=widget == "textarea")
        if kind == "integer":
            lo = schema.get("minimum", 0)
            hi = schema.get("maximum", max(lo, 0) + 100_000)
            return rnd.choice([lo, hi, rnd.randint(lo, hi), rnd.randint(lo, min(hi, lo + 10_000))])
        if kind == "number":
            lo = schema.get("minimum", schema.get("exclusiveMinimum", 0))
            hi = schema.get("maximum", lo + 1_000)
            got = rnd.choice([lo, hi, round(rnd.uniform(lo, hi), 2), round(rnd.uniform(lo, hi) * 2) / 2])
            if "exclusiveMinimum" in schema and got <= schema["exclusiveMinimum"]:
                got = hi
            return got
        if kind == "boolean":
            return rnd.random() < 0.5
        raise AssertionError(f"walks.FormData cannot draw a value for the schema {schema!r} ({name})")

    def object(self, schema: dict[str, Any]) -> dict[str, Any]:
        rnd = self.rnd
        out: dict[str, Any] = {}
        required = set(schema.get("required", []))
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):  # a map such as the indicator scores: keys by propertyNames
            names = schema.get("propertyNames", {"pattern": CODE})
            count = rnd.randint(schema.get("minProperties", 0), min(schema.get("maxProperties", 5), 5))
            while len(out) < count:
                out[self.value({"type": "string", **names})] = self.value(extra)
            return out
        for key, sub in schema.get("properties", {}).items():
            if key in required or rnd.random() < 0.6:
                out[key] = self.value(sub, key)
        for rule in schema.get("allOf", []):  # {"if": {...}, "then": {"required": [...]}}
            condition = rule.get("if", {})
            holds = all(k in out for k in condition.get("required", [])) and all(
                out.get(k) == v.get("const") for k, v in condition.get("properties", {}).items() if k in out
            )
            if holds:
                for key in rule.get("then", {}).get("required", []):
                    out.setdefault(key, self.value(schema["properties"][key], key))
        return out

    def array(self, schema: dict[str, Any], name: str) -> list[Any]:
        lo = schema.get("minItems", 0)
        hi = max(lo, min(schema.get("maxItems", LIST_CAP), LIST_CAP))
        count = self.rnd.randint(lo, hi)
        items = schema.get("items", {})
        out: list[Any] = []
        for _ in range(count * 5):  # unique items: draw again on a repeat
            if len(out) == count:
                break
            value = self.value(items, name)
            if not schema.get("uniqueItems") or value not in out:
                out.append(value)
        return out

    # -- helpers for values that must fit the case -------------------------------------------------
    def subset(self, pool: Sequence[Any], most: int | None = None) -> list[Any]:
        pool = list(pool)
        top = len(pool) if most is None else max(0, min(most, len(pool)))
        return self.rnd.sample(pool, self.rnd.randint(0, top))

    def scores(self, indicator_set: dict[str, Any]) -> dict[str, float]:
        """A score for every item of the case's indicator set, within the item's maximum, in half points."""
        out = {}
        high = self.rnd.random() < 0.7
        for area in indicator_set["areas"]:
            for item in area["items"]:
                top = float(item["max_score"])
                share = self.rnd.uniform(0.6, 1.0) if high else self.rnd.uniform(0.0, 1.0)
                out[str(item["code"])] = min(top, round(top * share * 2) / 2)
        return out


def break_form(data: dict[str, Any], schema: dict[str, Any], rnd: random.Random) -> dict[str, Any]:
    """``data`` changed so that the form refuses it: a required field left out, an unknown field, or a
    value of the wrong type."""
    broken = copy.deepcopy(data)
    required = [k for k in schema.get("required", []) if k in broken]
    how = rnd.choice(["missing", "unknown", "type"]) if required else "unknown"
    if how == "missing":
        del broken[rnd.choice(required)]
    elif how == "unknown":
        broken["not_on_the_form"] = "x"
    else:
        key = rnd.choice(required)
        broken[key] = [] if not isinstance(broken[key], list) else "not a list"
    return broken


# -- statistics ------------------------------------------------------------------------------------


@dataclass
class Stats:
    steps: int = 0
    ok: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)  # refusals by error code
    examples: list[str] = field(default_factory=list)  # the first few refusal messages

    def add(self, other: Stats) -> None:
        self.steps += other.steps
        self.ok.update(other.ok)
        self.refused.update(other.refused)
        self.reasons.update(other.reasons)
        self.examples.extend(other.examples[: max(0, 12 - len(self.examples))])

    def share(self, kind: str | None = None) -> float:
        ok = sum(self.ok.values()) if kind is None else self.ok[kind]
        refused = sum(self.refused.values()) if kind is None else self.refused[kind]
        return ok / (ok + refused) if ok + refused else 1.0

    def summary(self) -> str:
        kinds = sorted(set(self.ok) | set(self.refused))
        parts = [f"{k} {self.ok[k]}/{self.ok[k] + self.refused[k]}" for k in kinds]
        return (f"{self.steps} steps, {self.share():.0%} succeeded ({', '.join(parts)}); "
                f"refusals by code: {dict(sorted(self.reasons.items()))}")


# -- the walker ------------------------------------------------------------------------------------

Snapshot = dict[Any, tuple[Any, ...]]  # case id -> its row; ("task", id) -> a human task's row
USER_MESSAGES = ("objection_received", "national_result")  # waits the users' messages answer
# forms whose data must refer to the case: the walker reads the ready task's data for them
CASE_FORMS = {
    "forms/self_assessment.json",
    "forms/onsite_audit.json",
    "forms/selection.json",
    "forms/objection_decision.json",
    "forms/naming_approval.json",
    "forms/national_result.json",
    "forms/deadline_extension.json",
}
NEXT_STAGE = {"application": "self_assessment", "self_assessment": "audit", "audit": "selection"}
# errors that are no refusal but a fault: the driver's own complaint, the engine's own consistency checks
NOT_REFUSALS = frozenset({"demo_failed", "state_diverged", "history_broken", "concurrent_modification"})
BLIND = 0.1  # the share of completions drawn from the form alone, blind to the case (often refused)


@dataclass
class Walker:
    """Walks one programme: ``processes`` are those whose tasks it completes; ``districts`` the codes
    it may name; ``revocations`` whether it sends ``revocation_requested`` on its own."""

    program: Program
    oracle: StateOracle
    rnd: random.Random
    processes: frozenset[str]
    districts: list[str]
    revocations: bool = False
    stats: Stats = field(default_factory=Stats)
    trace: list[str] = field(default_factory=list)  # what each step did, for the failure message
    timers_stuck: bool = False

    @property
    def p(self) -> Program:
        return self.program

    # -- the loop ----------------------------------------------------------------------------------
    def walk(self, max_steps: int) -> Stats:
        for _ in range(max_steps):
            actions = self.actions()
            if not actions:
                break
            weights = [w for w, _label, _fn in actions]
            _w, label, fn = self.rnd.choices(actions, weights=weights)[0]
            self.stats.steps += 1
            self.trace.append(label)
            fn()
        return self.stats

    def actions(self) -> list[tuple[float, str, Callable[[], None]]]:
        found: list[tuple[float, str, Callable[[], None]]] = []
        ready = self.p.tasks()
        mine = [t for t in ready if t.process_id in self.processes]
        for task in mine:
            found.append((4.0, f"complete {task.id} {task.bpmn_id} of case {task.instance_id}",
                          lambda t=task: self.complete(t)))
        if mine:
            found.append((0.3, "complete with data the form refuses", lambda: self.complete_badly(self.rnd.choice(mine))))
            found.append((0.8, "claim or release", lambda: self.claim_or_release(self.rnd.choice(mine))))
        if not self.timers_stuck and self.next_timer() is not None:
            found.append((3.0, "let time pass to the next timer", self.let_time_pass))
        for name, keys in self.waits():
            found.append((1.5, f"message {name} {keys}", lambda n=name, k=keys: self.send(n, k)))
        if self.revocations:
            found.append((0.4, "message revocation_requested", self.request_revocation))
        return found

    # -- checking a refused command ----------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """What a command changes: each case's history length, version, state token and status, and
        each inbox row's state and claim."""
        with self.p.db.read() as session:
            rows = session.execute(
                select(Instance.id, Instance.event_count, Instance.lock_version, Instance.state_token,
                       Instance.status).order_by(Instance.id)
            ).all()
            tasks = session.execute(
                select(HumanTask.id, HumanTask.state, HumanTask.claimed_by).order_by(HumanTask.id)
            ).all()
        return {r[0]: tuple(r) for r in rows} | {("task", r[0]): tuple(r) for r in tasks}

    def attempt(self, kind: str, command: Callable[[], Any]) -> bool:
        """Run a command (``Program.at`` may run several, one per case with a due timer); a
        ``ShanyuError`` is a refusal, after which the database must be exactly as the last command
        that succeeded left it, and the oracle must still agree."""
        observer = self.p.observer
        last = [self.snapshot()]

        def observe() -> None:
            if observer is not None:
                observer()
            last[0] = self.snapshot()

        self.p.observer = observe
        try:
            command()
        except ShanyuError as exc:
            if exc.code in NOT_REFUSALS:
                raise
            self.stats.refused[kind] += 1
            self.stats.reasons[exc.code] += 1
            if len(self.stats.examples) < 12:
                self.stats.examples.append(f"{kind}: {exc.message[:200]}")
            self.trace[-1] += f" -> refused ({exc.code})"
            before, after = last[0], self.snapshot()
            if after != before:
                changed = [(before.get(k), after.get(k)) for k in sorted(set(before) | set(after), key=str)
                           if before.get(k) != after.get(k)][:5]
                raise AssertionError(f"a refused {kind} ({exc.code}: {exc.message[:200]}) changed the "
                                     f"database: {changed}") from exc
            self.oracle()
            return False
        finally:
            self.p.observer = observer
        self.stats.ok[kind] += 1
        return True

    # -- who ---------------------------------------------------------------------------------------
    def user(self, name: str) -> Actor:
        for actor in self.p.users.values():
            if actor.name == name:
                return actor
        raise AssertionError(f"no demo user {name!r}")

    def rightful(self, task: HumanTask) -> Actor:
        return self.p.actor(role_key(task.role), task.district)

    def wrong(self, task: HumanTask) -> Actor:
        """A user who may not work on ``task``: another role, or the same role in another district."""
        right = self.rightful(task)
        others = [a for a in self.p.users.values()
                  if a.name != right.name and not a.is_admin and not a.may_work_on(task.role, task.district)]
        return self.rnd.choice(others)

    # -- human tasks -------------------------------------------------------------------------------
    def task_data(self, task: HumanTask) -> dict[str, Any]:
        """The ready task's data, read from the case as stored (by the oracle's engine, which caches no case)."""
        with self.p.db.read() as session:
            version = session.execute(
                select(Instance.process_version_id).where(Instance.id == task.instance_id)
            ).scalar_one()
            loaded = self.oracle.fresh.cases.restore(session, task.instance_id, version)
        found = loaded.workflow.get_task_from_id(UUID(task.task_id))
        return copy.deepcopy(dict(found.data)) if found is not None else {}

    def form_data(self, task: HumanTask) -> dict[str, Any]:
        """Data for the task's form: drawn from the schema, the fields that refer to the case drawn
        from the task's data (except for a blind share); always valid for the form."""
        assert task.form, f"task {task.bpmn_id} has no form"
        draw = FormData(self.rnd, self.p.now().astimezone(SHANGHAI).date(), self.districts)
        data = draw.value(form_schema(task.form))
        if task.form in CASE_FORMS and self.rnd.random() >= BLIND:
            fit_case(task, data, self.task_data(task), draw)
        errors = [e.message for e in validator(task.form).iter_errors(data)]
        assert not errors, f"walks.FormData drew data {task.form} refuses: {errors} in {data}"
        return data

    def claimer(self, task: HumanTask) -> Actor | None:
        """The user who holds ``task`` (claiming it first if nobody does), or None if the claim was refused."""
        if task.claimed_by is not None:
            return self.user(task.claimed_by)
        actor = self.rightful(task)
        claimed = self.attempt("claim", lambda: self.p.claim(task, actor))
        return actor if claimed else None

    def complete(self, task: HumanTask) -> None:
        actor = self.claimer(task)
        if actor is None:
            return
        data = self.p.attach(task, self.form_data(task), actor)  # the drawn upload ids become real materials
        self.trace[-1] += f" with {json.dumps(data, ensure_ascii=False)[:300]}"
        now = self.p.now()
        self.attempt("complete", lambda: self.p.run(
            lambda s: self.p.engine.complete(s, task.id, data, actor=actor, now=now)))

    def complete_badly(self, task: HumanTask) -> None:
        actor = self.claimer(task)
        if actor is None:
            return
        assert task.form
        data = self.form_data(task)
        if any(data.get(key) for key in upload_fields(form_schema(task.form))) and self.rnd.random() < 0.3:
            pass  # valid for the form, but its drawn material ids are no materials of the case
        else:
            data = break_form(data, form_schema(task.form), self.rnd)
        self.trace[-1] += f": {json.dumps(data, ensure_ascii=False)[:300]}"
        now = self.p.now()
        done = self.attempt("invalid complete", lambda: self.p.run(
            lambda s: self.p.engine.complete(s, task.id, data, actor=actor, now=now)))
        assert not done, f"{task.form} accepted data that breaks it: {data}"

    def claim_or_release(self, task: HumanTask) -> None:
        now = self.p.now()
        if task.claimed_by is None:
            if self.rnd.random() < 0.2:
                actor = self.wrong(task)
                self.trace[-1] += f": claim {task.id} as {actor.name}"
                done = self.attempt("wrong claim", lambda: self.p.claim(task, actor))
                assert not done, f"{actor.name} could claim task {task.id} ({task.role}, {task.district})"
            else:
                self.trace[-1] += f": claim {task.id}"
                self.attempt("claim", lambda: self.p.claim(task))
            return
        holder = self.user(task.claimed_by)
        if self.rnd.random() < 0.2:
            actor = self.wrong(task)
            self.trace[-1] += f": release {task.id} as {actor.name}"
            done = self.attempt("wrong release", lambda: self.p.run(
                lambda s: self.p.engine.release(s, task.id, actor=actor, now=now)))
            assert not done, f"{actor.name} could release task {task.id} claimed by {holder.name}"
            return
        self.trace[-1] += f": release {task.id}"
        self.attempt("release", lambda: self.p.run(
            lambda s: self.p.engine.release(s, task.id, actor=holder, now=now)))

    # -- time --------------------------------------------------------------------------------------
    def next_timer(self) -> tuple[int, datetime, datetime | None] | None:
        """The earliest waiting timer's case and due time, and the next later due time if any."""
        with self.p.db.read() as session:
            dues = session.execute(
                select(Timer.instance_id, Timer.due_at).where(Timer.state == "waiting")
                .order_by(Timer.due_at, Timer.id).limit(50)
            ).all()
        if not dues:
            return None
        first_case, first = dues[0]
        later = next((due for _iid, due in dues if due > first), None)
        return first_case, first, later

    def let_time_pass(self) -> None:
        """To a moment after the earliest waiting timer (and before the next one, at most two days on)."""
        found = self.next_timer()
        assert found is not None
        _case, due, later = found
        room = timedelta(days=2) if later is None else min(timedelta(days=2), later - due)
        offset = timedelta(seconds=self.rnd.randint(1, max(1, int(room.total_seconds()))))
        target = max(due + offset, self.p.now())
        self.trace[-1] += f" at {due.isoformat()}: to {target.isoformat()}"
        if not self.attempt("timer", lambda: self.p.at(target.isoformat())):
            # the case cannot take its timer (e.g. a deadline in a year the calendar does not know):
            # it stays due and Program.at would try it first again, so time stops for this walk
            self.timers_stuck = True

    # -- messages ----------------------------------------------------------------------------------
    def waits(self) -> list[tuple[str, dict[str, str]]]:
        """The users' messages some case waits for, with the keys it waits with."""
        with self.p.db.read() as session:
            rows = session.execute(
                select(MessageSubscription.message_name, MessageSubscription.keys)
                .where(MessageSubscription.message_name.in_(USER_MESSAGES))
                .order_by(MessageSubscription.id)
            ).all()
        out: list[tuple[str, dict[str, str]]] = []
        for name, keys in rows:
            item = (name, json.loads(keys))
            if item not in out:
                out.append(item)
        return out

    def send(self, name: str, keys: dict[str, str]) -> None:
        draw = FormData(self.rnd, self.p.now().astimezone(SHANGHAI).date(), self.districts)
        if name == "objection_received":
            data: dict[str, Any] = {"district": self.rnd.choice(self.districts), "content": draw.text(2, 40),
                                    "contact": draw.text(1, 10)}
        elif name == "national_result":
            data = {"named": draw.subset(self.districts, 2), "document": draw.text(1, 30),
                    "named_on": draw.date(-10, 10)}
        else:
            raise AssertionError(f"the walker does not send {name}")
        self.trace[-1] += f": {json.dumps(data, ensure_ascii=False)}"
        self.attempt("message", lambda: self.p.message(name, keys, data))

    def request_revocation(self) -> None:
        draw = FormData(self.rnd, self.p.now().astimezone(SHANGHAI).date(), self.districts)
        ground = self.rnd.choice(sorted(GROUNDS)) if self.rnd.random() < 0.95 else "rumour"
        source = self.rnd.choice(sorted(SOURCES))
        district = self.rnd.choice(self.districts)
        self.trace[-1] += f" for {district}: {ground}/{source}"
        self.attempt("message", lambda: self.p.message(
            "revocation_requested", {"district": district}, request(ground, source, draw.text(2, 60))))


def fit_case(task: HumanTask, data: dict[str, Any], ctx: dict[str, Any], draw: FormData) -> None:
    """Replace the fields of ``data`` that must refer to the case with values drawn from the task's
    data ``ctx`` (the indicator items to score, the districts that passed, the candidates, ...)."""
    rnd = draw.rnd
    form = task.form
    if form == "forms/self_assessment.json" and "indicators" in ctx:
        data["self_scores"] = draw.scores(ctx["indicators"])
    elif form == "forms/onsite_audit.json" and "indicators" in ctx:
        data["audit_scores"] = draw.scores(ctx["indicators"])
    elif form == "forms/selection.json" and "ranking" in ctx and "quota" in ctx:
        passed = [r["code"] for r in ctx["ranking"]["passed"]]
        data["shanghai_selected"] = draw.subset(passed, ctx["quota"]["shanghai_cap"])
        data["national_selected"] = draw.subset(passed, ctx["quota"]["national_cap"])
    elif form == "forms/objection_decision.json" and "candidates" in ctx:
        named = sorted({c["code"] for group in ctx["candidates"].values() for c in group})
        if data["objection_result"] == "upheld" and named:
            data["objection_district"] = rnd.choice(named)
    elif form == "forms/naming_approval.json" and "final_candidates" in ctx:
        codes = [c["code"] for c in ctx["final_candidates"]["shanghai"]]
        data["excluded_districts"] = draw.subset(codes, 1) if rnd.random() < 0.3 else []
    elif form == "forms/national_result.json" and "final_candidates" in ctx:
        data["national_named"] = draw.subset([c["code"] for c in ctx["final_candidates"]["national"]])
    elif form == "forms/deadline_extension.json" and "deadlines" in ctx:
        # a stage whose deadline has not come, moved to a day before the next stage's deadline
        movable = [(stage, date.fromisoformat(ctx["deadlines"][stage]),
                    date.fromisoformat(ctx["deadlines"][following])) for stage, following in NEXT_STAGE.items()]
        movable = [(stage, current, limit) for stage, current, limit in movable
                   if draw.today < current and current + timedelta(days=1) < limit]
        if movable:
            stage, current, limit = rnd.choice(movable)
            data["extension_stage"] = stage
            data["new_deadline"] = (current + timedelta(days=rnd.randint(1, (limit - current).days - 1))).isoformat()


# -- setting up a walk -----------------------------------------------------------------------------

START = "2021-12-10T09:00:00+08:00"


@contextmanager
def quiet(program: Program) -> Iterator[None]:
    """Run a scripted stretch (one the scenario tests check command by command) quickly: reusing
    cached cases and without the oracle after every command; the oracle checks every case once after."""
    observer, roundtrip = program.observer, program.roundtrip
    program.observer, program.roundtrip = None, False
    try:
        yield
    finally:
        program.observer, program.roundtrip = observer, roundtrip
    if observer is not None:
        observer()


def make_program(db: Database, *, roundtrip: bool) -> tuple[Program, StateOracle]:
    """A Program as ``tests/program/conftest.py`` builds it: the diagrams deployed, the demo's users,
    a fake clock at the first cycle's start, the state oracle as observer."""
    clock = FakeClock(START)
    engine = Engine()
    with db.write() as session:
        users, _created = demo_users(session, now=clock.now())
        admin = Actor("admin", frozenset({"admin"}))
        engine.deploy(session, dict(bundle_from_paths([BPMN]).files), actor=admin, now=clock.now())
    oracle = StateOracle(db, engine)
    return Program(db, engine, clock, users, roundtrip=roundtrip, observer=oracle), oracle


def random_cycle(rnd: random.Random, codes: Sequence[str]) -> dict[str, Any]:
    """The first cycle's data over ``codes`` with a random cycle id, quotas and working-day counts."""
    draw = FormData(rnd, date(2021, 12, 10))
    quotas: dict[str, Any] = {"national_share": rnd.choice([0.1, 0.25, 0.5, 1.0]),
                              "shanghai_share": rnd.choice([0.4, 0.5, 1.0])}
    if rnd.random() < 0.5:
        quotas["national_cap"] = rnd.randint(0, 2)
    if rnd.random() < 0.5:
        quotas["shanghai_cap"] = rnd.randint(1, 6)
    data = cycle_data(
        [d for d in DISTRICTS if d[0] in codes],
        cycle_id=draw.pattern(CYCLE_ID, 1, 41),
        quotas=quotas,
        notice_workdays=rnd.randint(5, 10),
        reminder_workdays=rnd.randint(1, 10),
    )
    errors = [e.message for e in validator("forms/cycle_start.json").iter_errors(data)]
    assert not errors, errors
    return data


def open_cycle(p: Program, rnd: random.Random, count: tuple[int, int], *, issue: bool) -> tuple[int, list[str]]:
    """Start a cycle over a random subset of ``count`` districts; with ``issue``, also issue its
    indicators (which invites the districts: their ``district_application`` cases start). Returns
    the cycle and the codes."""
    codes = sorted(rnd.sample([c for c, *_ in DISTRICTS], rnd.randint(*count)))
    cycle = p.start("creation_cycle", random_cycle(rnd, codes))
    if issue:
        p.do(cycle, "Task_indicators", indicators())
    return cycle, codes


def name_districts(p: Program, rnd: random.Random) -> list[str]:
    """A cycle over one to three districts played to its end along the demo's path: every district
    passes, all are named on 2022-12-28 and each gets its ``title_management`` case. Returns the codes."""
    codes = sorted(rnd.sample([c for c, *_ in DISTRICTS], rnd.randint(1, 3)))
    places = {c: k for c, _n, _p, k in DISTRICTS}
    with quiet(p):
        data = cycle_data([d for d in DISTRICTS if d[0] in codes],
                          quotas={"national_share": 0.1, "national_cap": 0, "shanghai_share": 1.0})
        cycle = p.start("creation_cycle", data)
        p.do(cycle, "Task_indicators", indicators())
        cases = p.cases("district_application", after=cycle)
        p.at("2021-12-20T10:00:00")
        for code in codes:
            iid = cases[code]
            p.do(iid, "Task_intention", intention(code))
            p.do(iid, "Task_leadership", leadership("approve"))
            p.do(iid, "Task_file", application(code))
            p.do(iid, "Task_self", self_assessment(90, places[code]))
            p.do(iid, "Task_assign", assignment("2022-06-20"))
            p.do(iid, "Task_audit", audit("pass", 90, places[code]))
        p.at("2022-09-20T10:00:00")
        p.do(cycle, "Task_select", selection(codes, []))
        p.at("2022-09-26T10:00:00")
        p.do(cycle, "Task_publish", {"notice_title": "关于示范区拟命名名单的公示",
                                     "notice_url": "https://www.shanghai.gov.cn/notice/2022-0926"})
        p.at("2022-10-12T10:00:00")
        p.do(cycle, "Task_report", {"report_document_no": "沪教委托幼〔2022〕21号", "reported_on": "2022-10-12",
                                    "report_summary": "公示期满无异议，报请审批命名。"})
        p.at("2022-12-28T10:00:00")
        p.do(cycle, "Task_name", {"naming_document_no": "沪教委托幼〔2022〕30号", "named_on": "2022-12-28",
                                  "excluded_districts": [], "approval_opinion": "同意命名。"})
    managed = p.cases("title_management", after=cycle)
    assert sorted(str(c) for c in managed) == codes, f"named {codes}, title management for {sorted(managed)}"
    return codes


def start_revocation(p: Program, rnd: random.Random, codes: Sequence[str]) -> int:
    """A revocation case for one of the named districts, on a random ground, from a random source."""
    p.at(f"2023-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}T10:00:00")
    district = rnd.choice(list(codes))
    ground, source = rnd.choice(sorted(GROUNDS)), rnd.choice(sorted(SOURCES))
    reached = p.message("revocation_requested", {"district": district},
                        request(ground, source, f"{NAMES[district]}：{GROUNDS[ground]}（{SOURCES[source]}）。"))
    assert len(reached) == 1, reached
    return reached[0]
