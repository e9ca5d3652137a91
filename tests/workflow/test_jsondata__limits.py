"""``workflow.jsondata``: each limit refuses the first value past it and accepts the value at it; the
walk is bounded by the limits however the value is built (shared parts, cycles, deep nesting)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from workflow.adapters.spiff import REGISTRY
from workflow.errors import InvalidData
from workflow.jsondata import (
    MAX_DEPTH,
    MAX_INT_DIGITS,
    MAX_TEXT,
    MAX_VALUES,
    STORED_TYPES,
    check,
    fault,
    loads,
)


def nested(levels: int) -> Any:
    value: Any = 0
    for _ in range(levels):
        value = [value]
    return value


def doubled(times: int) -> list[Any]:
    value: list[Any] = [1]
    for _ in range(times):
        value = [value, value]
    return value


def test_stored_types_are_what_the_serializer_registry_converts() -> None:
    builtin = {cls for cls in REGISTRY.typenames if not cls.__module__.startswith("SpiffWorkflow")}
    assert builtin == set(STORED_TYPES)


@pytest.mark.parametrize(
    "value",
    [
        {"a": nested(MAX_DEPTH - 1)},  # the object and its lists: MAX_DEPTH levels
        {"n": int("9" * MAX_INT_DIGITS), "m": -int("9" * MAX_INT_DIGITS)},
        {"f": [1.5e308, -0.0, 2.5], "t": "中文 and \U0001f600", "b": [True, None], "x": (1, 2)},
        {"when": datetime(2022, 1, 1, tzinfo=UTC), "span": timedelta(days=1), "id": UUID(int=1)},
        {"l": [0] * (MAX_VALUES - 2)},  # the object, the list and its numbers
        {"s": "x" * (MAX_TEXT - 20)},
        {"shared": [doubled(10)] * 5},
    ],
)
def test_values_within_the_limits_pass(value: Any) -> None:
    assert fault(value) is None
    assert check(value) is value


@pytest.mark.parametrize(
    ("value", "where", "reason", "is_limit"),
    [
        ({"a": nested(MAX_DEPTH)}, "a[0]", "nested more than 100 levels deep", True),
        ({"n": [1, int("9" * MAX_INT_DIGITS + "9")]}, "n[1]", "more than 1,000 digits", True),
        ({"f": [float("nan")]}, "f[0]", "NaN is not a JSON number", False),
        ({"f": {"g": float("-inf")}}, "f.g", "-Infinity is not a JSON number", False),
        ({"t": ["ok", "x\ud800"]}, "t[1]", "lone surrogate ('\\ud800' at character 2)", False),
        ({"k": {"\udfff": 1}}, "k", "a key holding a lone surrogate", False),
        ({"k": {1: "one"}}, "k", "an object key must be text, not a int", False),
        ({"s": {1, 2}}, "s", "a set is not JSON data; convert it with list() or sorted()", False),
        ({"d": date(2022, 1, 1)}, "d", "store it as text with .isoformat()", False),
        ({"l": [0] * (MAX_VALUES - 1)}, "l", "more than 250,000 values", True),
        ({"s": ["x" * (MAX_TEXT // 2)] * 2}, "s", "more than 10,000,000 characters", True),
        ({"e": doubled(60)}, "e", "more than 250,000 values", True),
    ],
)
def test_each_fault_is_named_with_where_it_is(value: Any, where: str, reason: str, is_limit: bool) -> None:
    found = fault(value)
    assert found is not None and reason in found.reason and found.where.startswith(where), found
    assert found.is_limit is is_limit
    with pytest.raises(InvalidData, match="Nothing was saved"):
        check(value, what="--data")


def test_a_structure_that_contains_itself_is_refused_however_it_loops() -> None:
    loop: list[Any] = []
    loop.append(loop)
    inner: dict[str, Any] = {}
    inner["x"] = [inner]
    for value in ({"a": loop}, {"b": inner}, [{"c": [loop]}]):
        found = fault(value)
        assert found is not None and "contains itself" in found.reason and found.is_limit


def test_shared_parts_are_walked_once_and_counted_each_time() -> None:
    part = nested(MAX_DEPTH - 1)  # MAX_DEPTH - 1 lists: inside one more list, at the limit
    assert fault([part, part]) is None
    found = fault([part, [part]])  # the second use sits one level deeper: past the limit
    assert found is not None and "nested more than 100" in found.reason
    assert fault({"a": doubled(16)}) is None  # 196,607 values
    assert fault({"a": doubled(17)}) is not None  # 393,215 values


def test_the_walk_itself_never_recurses() -> None:
    found = fault(nested(200_000))
    assert found is not None and "nested more than 100" in found.reason


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested more than 100 levels deep"),
        ('{"a": ' + "9" * 5_000 + "}", "an integer of 5,000 digits, more than the limit of 1,000"),
        ('{"a": -' + "9" * 1_001 + "}", "an integer of 1,001 digits"),
        ('{"a": NaN}', "NaN is not JSON"),
        ('{"a": Infinity}', "Infinity is not JSON"),
        ('{"a": -Infinity}', "-Infinity is not JSON"),
        ('{"a": 1e400}', "the number 1e400 is too large"),
        ('{"a": "\\ud800"}', "lone surrogate"),
        ('{"a": 1', "is not valid JSON"),
        ('{"a": "' + "x" * MAX_TEXT + '"}', "longer than 10,000,000 characters"),
    ],
)
def test_loads_refuses_text_that_is_not_json_data_we_accept(text: str, says: str) -> None:
    with pytest.raises(InvalidData, match="^--data") as caught:
        loads(text, what="--data")
    assert says in caught.value.message


def test_loads_accepts_json_at_the_limits() -> None:
    text = json.dumps({"a": nested(MAX_DEPTH - 1), "n": int("9" * MAX_INT_DIGITS), "f": 1.7e308, "t": "\U0001f600"})
    assert loads(text)["n"] == int("9" * MAX_INT_DIGITS)
