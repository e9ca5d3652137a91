"""The registry of service-task handlers.

A BPMN service task names an operation (``spiffworkflow:serviceTaskOperator id="publish_notice"``);
the engine calls the handler registered under that name with the evaluated parameters. A handler
is a function of its input, registered with ``@handler("name")``. Its input is either a plain
``dict`` or a dataclass built from the parameters; its result must be JSON-serializable (a dict,
a list, a scalar, or a dataclass), because the engine records it in the case history and replay
reads it from there instead of calling the handler again.

A handler with side effects (publishing a notice, updating the title register, queueing a
notification) takes a second parameter, a ``HandlerContext``: its ``session`` is the command's
transaction, so the effect commits or rolls back together with the case's step.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

HandlerFn = Callable[..., Any]


@dataclasses.dataclass(frozen=True)
class HandlerContext:
    """Where a handler runs: the command's session (same transaction), the case and the time."""

    session: Any
    instance_id: int
    process_id: str
    district: str | None
    task: str  # the service task's BPMN id
    now: datetime


class UnknownHandler(LookupError):
    pass


class HandlerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, HandlerFn] = {}

    def register(self, name: str, fn: HandlerFn) -> HandlerFn:
        if name in self._handlers and self._handlers[name] is not fn:
            raise ValueError(f"a handler named {name!r} is already registered")
        self._handlers[name] = fn
        return fn

    def names(self) -> list[str]:
        return sorted(self._handlers)

    def __contains__(self, name: object) -> bool:
        return name in self._handlers

    def call(self, name: str, params: Mapping[str, Any], context: HandlerContext | None = None) -> Any:
        """Call handler ``name`` with ``params`` (and ``context`` if it takes one); JSON-ready result."""
        fn = self._handlers.get(name)
        if fn is None:
            known = ", ".join(self.names()) or "none"
            raise UnknownHandler(f"No service-task handler is registered as {name!r} (registered: {known}).")
        arity = len(inspect.signature(fn).parameters)
        if arity == 0:
            return to_jsonable(fn())
        if arity == 1:
            return to_jsonable(fn(_build_input(fn, params)))
        if context is None:
            raise UnknownHandler(f"Handler {name!r} needs a case context, and none was given.")
        return to_jsonable(fn(_build_input(fn, params), context))


def _build_input(fn: HandlerFn, params: Mapping[str, Any]) -> Any:
    parameters = list(inspect.signature(fn).parameters.values())
    hints = typing.get_type_hints(fn)
    annotation = hints.get(parameters[0].name)
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        names = {f.name for f in dataclasses.fields(annotation)}
        unknown = sorted(set(params) - names)
        if unknown:
            raise TypeError(f"unexpected parameters for {fn.__name__}: {', '.join(unknown)}")
        return annotation(**params)
    return dict(params)


def to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


REGISTRY = HandlerRegistry()


def handler(name: str, registry: HandlerRegistry = REGISTRY) -> Callable[[HandlerFn], HandlerFn]:
    """Register the decorated function as the handler for service-task operation ``name``."""

    def decorate(fn: HandlerFn) -> HandlerFn:
        return registry.register(name, fn)

    return decorate
