"""Domain errors.

Every error a user can cause is one of these. Each carries a message a person can act on
(what went wrong, and what to do about it); the web layer maps the class to an HTTP status and
a translated message, the CLI prints the message to stderr and exits 1.
"""

from __future__ import annotations

from typing import Any


class ShanyuError(Exception):
    """Base class. ``code`` is a stable machine-readable name; ``http_status`` a hint for the web."""

    code = "error"
    http_status = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **{k: v for k, v in self.details.items()}}


class NotFound(ShanyuError):
    code = "not_found"
    http_status = 404


class InvalidSpec(ShanyuError):
    """A BPMN/DMN file that cannot be deployed: malformed, invalid against the schema, or unsafe."""

    code = "invalid_spec"
    http_status = 422


class UnsafeXml(InvalidSpec):
    """An upload that uses DOCTYPE, entities or XInclude. Nothing outside the upload was read."""

    code = "unsafe_xml"


class UnsafeExpression(ShanyuError):
    """An expression or script that tries to leave the sandbox or do unbounded work."""

    code = "unsafe_expression"
    http_status = 422

    def __init__(self, message: str, *, expression: str = "", task: str | None = None, **details: Any) -> None:
        where = f" in task '{task}'" if task else ""
        shown = expression if len(expression) <= 200 else expression[:200] + "…"
        full = f"{message}{where}: expression {shown!r}" if expression else f"{message}{where}"
        super().__init__(full, expression=expression, task=task, **details)
        self.reason = message
        self.expression = expression
        self.task = task


class ExpressionError(ShanyuError):
    """An expression that is safe but fails (a missing variable, a type error)."""

    code = "expression_error"
    http_status = 422


class TaskAlreadyClaimed(ShanyuError):
    code = "task_already_claimed"
    http_status = 409


class TaskNotClaimed(ShanyuError):
    code = "task_not_claimed"
    http_status = 409


class TaskNotReady(ShanyuError):
    code = "task_not_ready"
    http_status = 409


class PermissionDenied(ShanyuError):
    code = "permission_denied"
    http_status = 403


class ConcurrentModification(ShanyuError):
    """The case changed between reading and writing it. Nothing was written; reload and retry."""

    code = "concurrent_modification"
    http_status = 409


class InvalidData(ShanyuError):
    """Submitted data that does not fit (not a JSON object, or fails the form's rules)."""

    code = "invalid_data"
    http_status = 422


class MaterialTooLarge(InvalidData):
    """A material over the size limit (``SHANYU_MATERIAL_MAX_BYTES``). Nothing was stored."""

    code = "material_too_large"
    http_status = 413


class MaterialTypeRefused(InvalidData):
    """A material whose content is not of an accepted type (sniffed, not taken from its name)."""

    code = "material_type_refused"
    http_status = 415


class MessageNotDelivered(ShanyuError):
    code = "message_not_delivered"
    http_status = 404


class DeadlinePastCalendar(ShanyuError):
    """A working-day computation reached a year the calendar does not know. Never guessed."""

    code = "deadline_past_calendar"
    http_status = 422

    def __init__(self, year: int, message: str | None = None) -> None:
        super().__init__(
            message
            or (
                f"The working-day calendar does not know the year {year}: its official holiday "
                f"schedule has not been loaded. Import it with "
                f"`shanyu calendar import FILE` (the State Council's announcement for {year}), then retry."
            ),
            year=year,
        )
        self.year = year


class WorkflowFailed(ShanyuError):
    """The engine could not run a step (a script error, a missing handler). The case is unchanged."""

    code = "workflow_failed"
    http_status = 422


class DatabaseNotReady(ShanyuError):
    """The database cannot be opened, or its schema is missing or older than this version."""

    code = "database_not_ready"
    http_status = 503


class HistoryBroken(ShanyuError):
    code = "history_broken"
    http_status = 500


class StateDiverged(ShanyuError):
    """The state an action would save differs from the same case loaded back from the database
    (checked when ``SHANYU_CHECK_STATE=1``). A defect of Shanyu, never of the user's input: the
    action is refused and nothing is saved."""

    code = "state_diverged"
    http_status = 500


class StateAltered(ShanyuError):
    """A case's stored state is not what its history says it is: a data blob whose content no
    longer has its hash, or rows that rebuild to a state whose digest is not the one the newest
    event recorded. Someone or something changed the database behind the engine's back. The
    command is refused and nothing is changed."""

    code = "state_altered"
    http_status = 409


class NoticeClosed(ShanyuError):
    """An objection to a public notice that is no longer (or not yet) open."""

    code = "notice_closed"
    http_status = 409


class ResourceExhausted(ShanyuError):
    """A command ran out of memory or stack and was stopped; nothing was saved."""

    code = "resource_exhausted"
    http_status = 503


class InternalError(ShanyuError):
    """Something that is not a ``ShanyuError`` stopped a command: a defect of Shanyu. Nothing was saved."""

    code = "internal_error"
    http_status = 500
