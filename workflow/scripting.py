"""The script engine cases run with: the sandbox, plus service tasks routed to registered handlers.

Every handler call made during a step is logged (task path, operation, parameters, result) in the
step's ``StepLog``, which the engine writes into the step's history event. When a case is replayed,
``replaying(results)`` makes service tasks return the recorded results instead of calling handlers:
side effects are never repeated, and replay is deterministic.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field, replace
from typing import Any

from handlers.registry import HandlerContext, HandlerRegistry, UnknownHandler

from . import jsondata
from .errors import WorkflowFailed
from .paths import path_of
from .sandbox import SandboxEnvironment, SandboxScriptEngine


@dataclass
class StepLog:
    handler_results: list[dict[str, Any]] = field(default_factory=list)
    replay: list[dict[str, Any]] | None = None  # recorded handler results to hand back, in order
    context: HandlerContext | None = None  # what side-effect handlers may use
    function_results: list[dict[str, Any]] = field(default_factory=list)
    replay_functions: list[dict[str, Any]] | None = None  # recorded function results, in order


_LOG: ContextVar[StepLog | None] = ContextVar("shanyu_step_log", default=None)


def step_session() -> Any | None:
    """The session of the command whose step runs in this context (``None`` outside a step and in
    replay): vetted functions that read the database, such as the working-day calendar, use it."""
    log = _LOG.get()
    return log.context.session if log is not None and log.context is not None else None


def recorded(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a vetted function whose answer may change over time (a working-day calculation after
    an admin imports a new holiday schedule): each call made during a step is logged, and replay
    hands back the logged answer, so a case replays as it ran."""

    def call(*args: Any, **kwargs: Any) -> Any:
        log = _LOG.get()
        if log is not None and log.replay_functions is not None:
            if not log.replay_functions:
                raise WorkflowFailed(f"Replay: the history records no result for a call of {name}().")
            entry = log.replay_functions.pop(0)
            if entry.get("function") != name:
                raise WorkflowFailed(f"Replay: expected a call of {entry.get('function')}(), "
                                     f"but the case called {name}().")
            log.function_results.append(entry)
            return entry.get("result")
        result = fn(*args, **kwargs)
        if log is not None:
            log.function_results.append({"function": name, "args": [_plain(a) for a in args],
                                         "result": result})
        return result

    call.__name__ = name
    call.__doc__ = fn.__doc__
    return call


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


class EngineScriptEngine(SandboxScriptEngine):
    """``functions`` are offered to expressions; those named in ``record`` have their results
    logged in history and replayed from it (see ``recorded``)."""

    def __init__(self, handlers: HandlerRegistry, functions: Mapping[str, Callable[..., Any]],
                 *, record: frozenset[str] | set[str] = frozenset()) -> None:
        offered = {name: (recorded(name, fn) if name in record else fn) for name, fn in functions.items()}
        super().__init__(environment=SandboxEnvironment(offered))
        self.handlers = handlers

    @contextmanager
    def recording(self, log: StepLog) -> Iterator[StepLog]:
        token = self.start_recording(log)
        try:
            yield log
        finally:
            self.stop_recording(token)

    @staticmethod
    def start_recording(log: StepLog) -> Token[StepLog | None]:
        """``recording`` without the block: log into ``log`` until ``stop_recording(token)``."""
        return _LOG.set(log)

    @staticmethod
    def stop_recording(token: Token[StepLog | None]) -> None:
        _LOG.reset(token)

    def call_service(self, task: Any, operation_name: str = "", operation_params: Mapping[str, Any] | None = None,
                     **_kwargs: Any) -> str:
        log = _LOG.get()
        params = {name: (spec.get("value") if isinstance(spec, dict) else spec)
                  for name, spec in (operation_params or {}).items()}
        path = path_of(task)
        if log is not None and log.replay is not None:
            if not log.replay:
                raise WorkflowFailed(f"Replay: the history records no result for service task at {path} "
                                     f"({operation_name}).")
            recorded = log.replay.pop(0)
            if recorded.get("operation") != operation_name or recorded.get("task") != path:
                raise WorkflowFailed(f"Replay: expected service call {recorded.get('operation')} at "
                                     f"{recorded.get('task')}, but the case called {operation_name} at {path}.")
            result = recorded.get("result")
        else:
            try:
                context = None
                if log is not None and log.context is not None:
                    context = replace(log.context, task=str(task.task_spec.bpmn_id))
                result = self.handlers.call(operation_name, params, context)
            except UnknownHandler as exc:
                raise WorkflowFailed(str(exc)) from exc
            found = jsondata.fault(result)
            if found is not None:
                raise WorkflowFailed(f"Handler {operation_name!r} returned a result that is not JSON data we "
                                     f"accept: {found.describe('its result')}.")
        if log is not None:
            log.handler_results.append({"task": path, "operation": operation_name, "params": params,
                                        "result": result})
        return json.dumps(result)
