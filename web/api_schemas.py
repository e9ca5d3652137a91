"""The JSON API's request and response bodies as marshmallow schemas: APIFlask validates requests
with them and generates the OpenAPI document from them (``/api/openapi.json``).

A task is the CLI's ``--json`` task object (``web.cli_cases.task_dict``): the same keys, the due time in
Asia/Shanghai (``+08:00``). Output schemas also decide what leaves the server: a key a schema does
not declare is not sent (a public notice carries no objector's particulars).
"""

from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Boolean, Dict, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range

from workflow.districts import DISTRICTS
from workflow.inbox import PAGE_SIZE, SORTS, TABS


class ErrorOut(Schema):
    """Every error: a stable code, a message a person can act on, and details (``errors``: the form's
    fields at fault, each with ``field``, ``label``, ``message``, ``rule`` and ``limit``)."""

    error = String(required=True, metadata={"example": "task_already_claimed"})
    message = String(required=True)
    errors = List(Dict(), metadata={"description": "422: one entry per field at fault"})


class LoginIn(Schema):
    username = String(required=True, validate=Length(1, 100))
    password = String(required=True, validate=Length(0, 1000))


class TokenOut(Schema):
    token = String(required=True, metadata={"description": "send as `Authorization: Bearer TOKEN`"})
    token_type = String(required=True, metadata={"example": "Bearer"})
    expires_in = Integer(required=True, metadata={"description": "seconds until the token expires"})


class TaskOut(Schema):
    id = Integer(required=True)
    instance_id = Integer(required=True)
    process_id = String(required=True)
    bpmn_id = String(required=True)
    name = String(required=True)
    lane = String(allow_none=True)
    role = String(allow_none=True)
    district = String(allow_none=True)
    claimed_by = String(allow_none=True)
    state = String(required=True, metadata={"description": "ready, completed or cancelled"})
    due = String(allow_none=True, metadata={"description": "ISO 8601 in Asia/Shanghai time, or null"})


class TaskQuery(Schema):
    """The inbox's tabs, filters, sort and pages (``/``), as query parameters."""

    tab = String(load_default="open", validate=OneOf(TABS),
                 metadata={"description": "open: my roles' ready tasks; mine: those I hold; done: those I completed"})
    district = String(validate=OneOf(sorted(DISTRICTS)))
    process = String(validate=Length(1, 200), metadata={"description": "a process id"})
    overdue = Boolean(load_default=False)
    sort = String(load_default="due", validate=OneOf(SORTS))
    page = Integer(load_default=1, validate=Range(1, 100_000))
    size = Integer(load_default=PAGE_SIZE, validate=Range(1, 200))


class TaskResultOut(TaskOut):
    """A task as a command (claim, release, complete) left it."""


class TaskPageOut(Schema):
    tasks = List(Nested(TaskOut), required=True)
    total = Integer(required=True)
    page = Integer(required=True)
    pages = Integer(required=True)
    size = Integer(required=True)


class DraftOut(Schema):
    data = Dict(required=True)
    saved_at = String(required=True)


class TaskDetailOut(TaskOut):
    claimed_at = String(allow_none=True)
    created_at = String(required=True)
    completed_at = String(allow_none=True)
    completed_by = String(allow_none=True)
    process_name = String(required=True)
    version = Integer(required=True)
    instructions = String(required=True, metadata={"description": "the diagram's documentation of the task"})
    guidance = String(required=True, metadata={
        "description": "what the diagram tells the person doing the task (instructionsForEndUser), or empty"})
    data = Dict(required=True, metadata={"description": "the task's data in its case"})
    form = String(allow_none=True, metadata={"description": "the form's file in the deployed bundle"})
    schema = Dict(allow_none=True, metadata={"description": "the form's JSON Schema (with x-ui hints), or null"})
    draft = Nested(DraftOut, allow_none=True, metadata={"description": "the caller's draft, while they hold the task"})
    publication = Dict(allow_none=True, metadata={
        "description": "before the notice is published (五(四)): the latest publication date that lets the notice "
                       "end and the report go up by the selection deadline (latest_on, notice_ends_on, report_on, "
                       "selection_deadline, notice_workdays, report_workdays), today (engine clock, Shanghai) and "
                       "late (today is past latest_on); null for other tasks"})


class DataIn(Schema):
    data = Dict(load_default=dict, metadata={"description": "the form's fields, a JSON object"})


class StartIn(Schema):
    process_id = String(required=True, validate=Length(1, 200))
    data = Dict(load_default=dict, metadata={"description": "start data; `district` scopes the case"})
    version = Integer(load_default=None, allow_none=True, validate=Range(1),
                      metadata={"description": "a process version (default: the latest)"})


class StartOut(Schema):
    id = Integer(required=True)
    instance_id = Integer(required=True)
    process_id = String(required=True)
    tasks = List(Nested(TaskOut), required=True, metadata={"description": "the new case's ready tasks"})


class InstanceOut(Schema):
    id = Integer(required=True)
    instance_id = Integer(required=True)
    process_id = String(required=True)
    process_name = String(required=True)
    version = Integer(required=True)
    status = String(required=True, metadata={"description": "running, completed or cancelled"})
    district = String(allow_none=True)
    started_by = String(required=True)
    started_at = String(required=True)
    updated_at = String(required=True)
    tasks = List(Nested(TaskOut), required=True, metadata={"description": "the case's ready tasks"})


class DraftSavedOut(Schema):
    task_id = Integer(required=True)
    data = Dict(required=True)
    saved_at = String(required=True)


class EventOut(Schema):
    seq = Integer(required=True)
    type = String(required=True)
    at = String(required=True)
    actor = String(required=True)
    payload = Dict(required=True)
    state_digest = String(required=True)
    hash = String(required=True)


class VerifiedOut(Schema):
    instance_id = Integer(required=True)
    ok = Boolean(required=True)
    events = Integer(required=True)
    broken_seq = Integer(allow_none=True)
    reason = String(required=True)


class HistoryOut(Schema):
    instance_id = Integer(required=True)
    events = List(Nested(EventOut), required=True)
    verified = Nested(VerifiedOut, required=True)


class ObjectionOut(Schema):
    result = String(required=True, metadata={"description": "upheld or dismissed"})
    district = String(allow_none=True, metadata={"description": "the district removed (upheld objections)"})


class NoticeOut(Schema):
    id = Integer(required=True)
    cycle_id = String(required=True)
    title = String(required=True)
    url = String(required=True)
    published_on = String(required=True)
    ends_on = String(required=True)
    workdays = Integer(required=True)
    status = String(required=True, metadata={"description": "published or closed"})
    candidates = Dict(required=True)
    final = Dict(allow_none=True)
    objections = List(Nested(ObjectionOut), required=True,
                      metadata={"description": "the decided objections (without the objectors' particulars)"})


class NoticeQuery(Schema):
    status = String(validate=OneOf(["published", "closed"]))


class NoticesOut(Schema):
    notices = List(Nested(NoticeOut), required=True)
