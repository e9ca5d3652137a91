"""What Shanyu accepts as JSON data: the one check for everything that enters a case or is stored.

Contract
    ``loads(text, what=…)`` parses JSON text that a person or a file supplies (``--data``, message
    and start data, a calendar file) and returns the value, or raises ``InvalidData`` saying what is
    wrong and where. ``fault(value)`` walks a Python value (submitted data, what a script leaves in
    task data, what an expression returns) and returns a ``DataFault`` or ``None``; ``check(value,
    what=…)`` raises the fault as ``InvalidData``. The sandbox turns a fault into
    ``UnsafeExpression`` or ``ExpressionError`` instead (``DataFault.is_limit``: over a limit, or
    containing itself, which is infinitely large when written out).

What is accepted
    Objects (with text keys: JSON would turn a key 3 into "3"), lists (and
    tuples, written as lists), text that is valid Unicode (no lone surrogates such as ``\\ud800``),
    integers of at most ``MAX_INT_DIGITS`` digits, finite floats (``NaN`` and ``Infinity`` are not
    JSON), booleans, null, and the values SpiffWorkflow's serializer stores as tagged objects
    (``STORED_TYPES``). Nested at most ``MAX_DEPTH`` levels, with at most ``MAX_VALUES`` values and
    ``MAX_TEXT`` characters once written out.

Why these limits
    Python's JSON encoder and decoder, ``copy.deepcopy`` (SpiffWorkflow copies task data from task
    to task) and comparisons recurse once per nesting level, so data nested near the interpreter's
    recursion limit (1,000) could be stored but never loaded again: ``MAX_DEPTH`` stays far below.
    Python refuses to convert integers of more than 4,300 digits to and from text. A structure
    built by a script can share one part many times (``a = [a, a]`` sixty times over); it is small
    in memory but astronomically large once written out, so the walk counts every part as often as
    it would be written and stops at ``MAX_VALUES`` or ``MAX_TEXT``, walking each shared part once.
    Every value costs the engine time to store, load, copy and compare (a case with a million
    values takes tens of seconds per command): ``MAX_VALUES`` keeps a command within seconds.
    The walk is iterative: it cannot itself run out of stack.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from .errors import InvalidData

__all__ = ["MAX_DEPTH", "MAX_INT_DIGITS", "MAX_TEXT", "MAX_VALUES", "STORED_TYPES", "DataFault", "check", "fault", "loads"]

MAX_DEPTH = 100  # levels of nested objects and lists (the top-level object is level 1)
MAX_INT_DIGITS = 1_000  # decimal digits of one integer
MAX_TEXT = 10_000_000  # characters of a value written out as JSON (at least; shared parts counted each time)
MAX_VALUES = 250_000  # values in it (numbers, texts, lists, objects), shared parts counted each time
# The non-JSON values SpiffWorkflow's serializer registry stores as tagged objects
# (workflow.adapters.spiff.REGISTRY; tests/workflow/test_jsondata__limits.py pins the list).
STORED_TYPES: tuple[type, ...] = (datetime, timedelta, UUID)

_INT_BITS = math.ceil(MAX_INT_DIGITS * math.log2(10))  # any int with more bits has too many digits
_LIMIT_INT = 10**MAX_INT_DIGITS


@dataclass(frozen=True)
class DataFault:
    """Why a value is not JSON data we accept: ``reason`` in words, ``where`` the path to it
    (``items[3].name``; empty for the value itself), ``is_limit`` for the size and nesting limits
    (as opposed to a value that is not JSON data at all)."""

    reason: str
    where: str = ""
    is_limit: bool = False

    def describe(self, what: str) -> str:
        at = f" at {self.where}" if self.where else ""
        return f"{what}{at}: {self.reason}"


def _int_fault(value: int) -> str | None:
    if value.bit_length() > _INT_BITS - 4 and abs(value) >= _LIMIT_INT:
        return f"an integer of more than {MAX_INT_DIGITS:,} digits; send large numbers as text"
    return None


def _text_fault(value: str) -> str | None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (f"holding a lone surrogate ({value[exc.start]!r} at character {exc.start + 1}), "
                "which is not valid Unicode")
    return None


def _float_fault(value: float) -> str | None:
    if math.isfinite(value):
        return None
    return f"{'NaN' if math.isnan(value) else 'Infinity' if value > 0 else '-Infinity'} is not a JSON number"


def _path(crumb: tuple[Any, ...] | None) -> str:
    parts: list[str] = []
    while crumb is not None:
        crumb, key = crumb
        parts.append(f"[{key}]" if isinstance(key, int) else f".{key}")
    text = "".join(reversed(parts))
    text = text[1:] if text.startswith(".") else text
    return text if len(text) <= 80 else text[:80] + "…"


_EXIT = object()  # marks, on the walk's stack, the end of a container's parts
_NESTED = frozenset({dict, list, tuple})
_BIG = 2**62


def _scalar(item: Any, also: tuple[type, ...]) -> tuple[int, str | None, bool]:
    """(characters written, the fault or None, whether it is a limit) for a value not nested. The
    characters are a lower bound (an int counts 1), so "more than MAX_TEXT" is never overstated."""
    kind = type(item)
    if kind is str:
        if not item.isascii() and (reason := _text_fault(item)):
            return 0, f"text {reason}", False
        return len(item) + 2, None, False
    if kind is int:
        if (item > _BIG or item < -_BIG) and (reason := _int_fault(item)):
            return 0, reason, True
        return 1, None, False
    if kind is float:
        return 3, _float_fault(item), False
    if kind is bool or item is None:
        return 4, None, False
    if isinstance(item, STORED_TYPES) or (also and isinstance(item, also)):
        return 20, None, False
    if isinstance(item, (bool, int, float, str)):  # subclasses (an IntEnum…) would not load back as such
        return 0, f"a {kind.__name__} value is not plain JSON data", False
    hint = (
        "; convert it with list() or sorted()" if isinstance(item, (set, frozenset))
        else "; store it as text with .isoformat()" if isinstance(item, (date, time))
        else ""
    )
    return 0, f"a {kind.__name__} is not JSON data{hint}", False


def _flat(values: Sequence[Any], also: tuple[type, ...], room: int) -> tuple[int, int, str | None, bool, bool]:
    """The not-nested ``values`` of one list or object: (characters written, index of the first
    fault, its reason, whether it is a limit, whether any value is nested). Lists of one plain type
    are checked at C speed; others element by element, stopping once past ``room`` characters."""
    kinds = set(map(type, values))
    if kinds == {int} and max(values) <= _BIG and min(values) >= -_BIG:
        return len(values), -1, None, False, False
    if kinds == {str} and all(map(str.isascii, values)):
        return sum(map(len, values)) + 2 * len(values), -1, None, False, False
    if kinds == {float} and all(map(math.isfinite, values)):
        return 3 * len(values), -1, None, False, False
    written = 0
    for index, value in enumerate(values):
        if type(value) in _NESTED:
            continue
        chars, reason, limit = _scalar(value, also)
        if reason is not None:
            return written, index, reason, limit, False
        written += chars
        if written > room:
            break
    return written, -1, None, False, not kinds.isdisjoint(_NESTED)


def fault(value: Any, *, top_level: str = "", also: tuple[type, ...] = ()) -> DataFault | None:
    """The first reason ``value`` is not JSON data we accept, or ``None`` (see module doc).
    ``top_level`` names the value in paths (a variable's name); ``also`` are further types let
    through (the sandbox's dates, which the store then refuses by name).

    Each container is walked once: a container met again (shared) adds the size and height it was
    found to have, so the walk's cost is that of the distinct parts, while ``written`` counts what
    writing out the whole value would cost. Only nested values go on the walk's stack."""
    # Stack entries: (value, depth, crumb), or (_EXIT, container, (written, deepest, depth) as they
    # were on entering it) once its parts are done; a crumb is (parent crumb, key) and becomes a
    # path only when something is wrong.
    root: tuple[Any, ...] | None = (None, top_level) if top_level else None
    stack: list[tuple[Any, Any, Any]] = [(value, 0, root)]
    sizes: dict[int, tuple[int, int, int]] = {}  # id of a walked container -> (written, height, values)
    open_: set[int] = set()  # ids of the containers being walked (a cycle meets one of them again)
    deepest = 0
    written = 0
    count = 1  # values: the top one, then each container's parts as it is entered
    too_many = (f"it has more than {MAX_VALUES:,} values (numbers, texts, lists and objects; parts that "
                "appear several times count each time)")
    too_large = (f"it would take more than {MAX_TEXT:,} characters written out as JSON (parts that "
                 "appear several times count each time)")
    while stack:
        item, depth, crumb = stack.pop()
        if item is _EXIT:  # depth is the container, crumb what was saved on entering it
            before, outer_deepest, level = crumb
            open_.discard(id(depth))
            sizes[id(depth)] = (written - before[0], deepest - level, count - before[1])
            deepest = max(deepest, outer_deepest)
            continue
        kind = type(item)
        if kind not in _NESTED:
            chars, reason, limit = _scalar(item, also)
            if reason is not None:
                return DataFault(reason, _path(crumb), limit)
            written += chars
            continue
        if id(item) in open_:
            return DataFault("a structure that contains itself cannot be written out as JSON", _path(crumb),
                             is_limit=True)  # it would be infinitely large
        known = sizes.get(id(item))
        if known is not None:
            written += known[0]
            deepest = max(deepest, depth + known[1])
            count += known[2]
        elif depth >= MAX_DEPTH:
            return DataFault(f"nested more than {MAX_DEPTH} levels deep", _path(crumb), is_limit=True)
        else:
            stack.append((_EXIT, item, ((written, count), deepest, depth)))
            open_.add(id(item))
            deepest = depth + 1
            written += 2 + len(item)  # brackets and commas
            count += len(item)
            scalars_done = skip_parts = count > MAX_VALUES
            if not skip_parts and kind is not dict and len(item) > 64:  # a long list: its plain values at C speed first
                chars, index, reason, limit, nested = _flat(item, also, MAX_TEXT - written)
                if reason is not None:
                    return DataFault(reason, _path((crumb, index)), limit)
                written += chars
                scalars_done, skip_parts = True, not nested or written > MAX_TEXT
            for label, inner in () if skip_parts else item.items() if kind is dict else enumerate(item):
                if kind is dict:
                    if type(label) is not str:  # JSON would turn 3 into "3": the data would change
                        return DataFault(f"an object key must be text, not a {type(label).__name__}", _path(crumb))
                    written += len(label) + 3
                    if not label.isascii() and (reason := _text_fault(label)):
                        return DataFault(f"a key {reason}", _path(crumb))
                inner_kind = type(inner)
                if inner_kind in _NESTED:
                    stack.append((inner, depth + 1, (crumb, label)))
                elif scalars_done:
                    continue
                elif inner_kind is str and inner.isascii():
                    written += len(inner) + 2
                else:
                    chars, reason, limit = _scalar(inner, also)
                    if reason is not None:
                        return DataFault(reason, _path((crumb, label)), limit)
                    written += chars
        if deepest > MAX_DEPTH:
            return DataFault(f"nested more than {MAX_DEPTH} levels deep", _path(crumb), is_limit=True)
        if written > MAX_TEXT or count > MAX_VALUES:  # where it stopped says little: name the top-level part
            where = re.split(r"[.\[]", _path(crumb), maxsplit=1)[0]
            return DataFault(too_many if count > MAX_VALUES else too_large, where, is_limit=True)
    if written > MAX_TEXT or count > MAX_VALUES:
        return DataFault(too_many if count > MAX_VALUES else too_large, top_level, is_limit=True)
    return None


def check(value: Any, *, what: str = "The data") -> Any:
    """Raise ``InvalidData`` unless ``value`` is JSON data we accept; return it unchanged."""
    found = fault(value)
    if found is not None:
        raise InvalidData(found.describe(what) + ". Nothing was saved.", where=found.where)
    return value


class _Refused(ValueError):
    pass


def _parse_int(digits: str) -> int:
    if len(digits) - digits.startswith("-") > MAX_INT_DIGITS:
        raise _Refused(f"an integer of {len(digits.lstrip('-')):,} digits, more than the limit of "
                       f"{MAX_INT_DIGITS:,}; send large numbers as text")
    return int(digits)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {text[:40]} is too large for a JSON number (it would be Infinity)")
    return value


def _parse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not JSON (JSON numbers are finite); send a number or null")


_DECODER = json.JSONDecoder(parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)


def loads(text: str, *, what: str = "The data", object_pairs_hook: Any = None) -> Any:
    """Parse JSON text a person or a file supplied and ``check`` it (see module doc).
    ``InvalidData`` names ``what``, the fault and, for malformed text, its line and column."""
    if len(text) > MAX_TEXT:
        raise InvalidData(f"{what} is longer than {MAX_TEXT:,} characters. Nothing was saved.")
    decoder = _DECODER
    if object_pairs_hook is not None:
        decoder = json.JSONDecoder(parse_int=_parse_int, parse_float=_parse_float,
                                   parse_constant=_parse_constant, object_pairs_hook=object_pairs_hook)
    try:
        value = decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise InvalidData(f"{what} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}).",
                          line=exc.lineno) from None
    except _Refused as exc:
        raise InvalidData(f"{what}: {exc}. Nothing was saved.") from None
    except RecursionError:
        raise InvalidData(f"{what}: nested more than {MAX_DEPTH} levels deep. Nothing was saved.") from None
    except ValueError as exc:  # from object_pairs_hook
        raise InvalidData(f"{what}: {exc}. Nothing was saved.") from None
    return check(value, what=what)
