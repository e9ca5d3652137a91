"""The sandbox refuses known escapes and resource bombs, and keeps ordinary expressions working."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from workflow.errors import ExpressionError, UnsafeExpression
from workflow.sandbox import SAFE_BUILTINS, SandboxEnvironment, _compiled, check_expression


def context() -> dict[str, Any]:
    return {
        "a": 1,
        "b": 2,
        "x": 1.0,
        "y": 3.0,
        "score": 85,
        "quota_left": 2,
        "xs": [3, 1, 2],
        "d": {"k": 1},
        "name": "浦东新区",
        "districts": ["浦东新区", "徐汇区", "静安区"],
        "rows": [{"name": "徐汇区", "score": 70}, {"name": "浦东新区", "score": 90}],
        "deadline": dt.date(2024, 6, 30),
        "start": dt.date(2024, 6, 1),
    }


# Refused by the static check, so refused at deploy time and at run time.
STATIC_EVAL = [
    "__import__('os').system('id')",
    "().__class__.__base__.__subclasses__()",
    "().__class__.__bases__[0].__subclasses__()",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "open('/etc/passwd').read()",
    "getattr(1, '__class__')",
    "eval('1')",
    "exec('x=1')",
    "compile('1','','eval')",
    "globals()",
    "locals()",
    "vars()",
    "dir()",
    "type(1)",
    "type(xs)('abc')",
    "lambda: 1",
    "(lambda: 1)()",
    "xs.__dict__",
    "xs.gi_frame",
    "xs.f_globals",
    "xs.gi_frame.f_back.f_globals",
    "str.mro()",
    "by_key.__globals__",
    "d.get.__self__",
    "f'{xs.__class__}'",
    "'{0.__class__}'.format(1)",
    "'{:>9999999999}'.format(1)",
    "name.format_map(d)",
    "'%*d' % (10**10, 1)",
    "'%10000000000d' % 1",
    "'%s' % name",
    "_g.charge(-10**9)",
    "__builtins__['open']",
    "breakpoint()",
    "print(name)",
    "memoryview(b'x')",
    "b'x' * 10",
    "object.__subclasses__()",
    "dict.fromkeys(xs)",
    "name.encode()",
    "[(yield 1)]",
    "(x async for x in xs)",
    "xs @ xs",
    "sorted(xs, key=lambda v: -v)",
]

STATIC_EXEC = [
    "import os",
    "from os import path",
    "import os as _os",
    "def f(): pass",
    "async def f(): pass",
    "class A: pass",
    "global a",
    "try:\n    a = 1\nexcept Exception:\n    pass",
    "raise ValueError('x')",
    "assert a",
    "with open('x') as f:\n    pass",
    "match a:\n    case 1:\n        pass",
    "xs.append = 1",
    "del d.get",
    "xs[0:2] = [1]",
    "for a, *rest in rows:\n    pass",
    "return 1",
    "_secret = 1",
    "f = lambda: 0",
]

# Pass the static check (deploy time) but are refused when evaluated.
RUNTIME_EVAL = [
    "9**9**9",
    "2**10**8",
    "10**5000",
    "1 << 10**9",
    "'a'*10**10",
    "[0]*10**10",
    "10**10 * 'a'",
    "xs * 10**9",
    "'x'.ljust(10**10)",
    "'x'.center(10**10)",
    "'1'.zfill(10**10)",
    "f'{1:>{10**10}}'",
    "f'{x:.{10**9}f}'",
    "('a'*10**6).replace('a','a'*10**6)",
    "'a'.join(['b'*10**6]*10**6)",
    "[1 for a in range(10**6) for b in range(10**6)]",
    "sum(1 for a in range(10**6))",
    "sum(range(10**12))",
    "len(range(10**7))",
    "list(range(10**6)) * 100",
    "round(1, -10**9)",
    "int('9' * 4000)",
    "sum([[1]] * 3, [])",
    "str.join(',', districts)",
    "dict.copy(d)",
    "list[int](xs)",
]

RUNTIME_EXEC = [
    "while True: pass",
    "n = 0\nwhile True:\n    n += 1",
    "s = 'a'\nfor i in range(100):\n    s = s + s",
    "n = 2\nfor i in range(100):\n    n = n * n",
    "t = tuple(range(10**5))\nfor i in range(10**5):\n    seen = t in {t}",
    "big = list(range(10**5))\nfor i in range(10**5):\n    text = str(big)",
    "big = list(range(10**5))\nfor i in range(10**5):\n    c = -1 in big",
]


def assert_names(err: UnsafeExpression, source: str) -> None:
    assert err.expression == source
    assert repr(source) in err.message


@pytest.mark.parametrize("source", STATIC_EVAL)
def test_static_payloads_are_refused_before_running(source: str) -> None:
    with pytest.raises(UnsafeExpression) as caught:
        check_expression(source)
    assert_names(caught.value, source)
    with pytest.raises(UnsafeExpression) as caught:
        SandboxEnvironment().evaluate(source, context())
    assert_names(caught.value, source)


@pytest.mark.parametrize("source", STATIC_EXEC)
def test_static_script_payloads_are_refused(source: str) -> None:
    with pytest.raises(UnsafeExpression) as caught:
        check_expression(source, mode="exec")
    assert_names(caught.value, source)
    data = context()
    with pytest.raises(UnsafeExpression):
        SandboxEnvironment().execute(source, data)
    assert data == context()


@pytest.mark.parametrize("source", RUNTIME_EVAL)
def test_runtime_payloads_are_refused_when_evaluated(source: str) -> None:
    check_expression(source)
    with pytest.raises(UnsafeExpression) as caught:
        SandboxEnvironment().evaluate(source, context())
    assert_names(caught.value, source)


@pytest.mark.parametrize("source", RUNTIME_EXEC)
def test_runtime_script_payloads_are_refused(source: str) -> None:
    check_expression(source, mode="exec")
    with pytest.raises(UnsafeExpression) as caught:
        SandboxEnvironment().execute(source, context())
    assert_names(caught.value, source)


def test_loops_stop_at_the_step_budget() -> None:
    with pytest.raises(UnsafeExpression, match="exceeded the step budget of 100000"):
        SandboxEnvironment().execute("while True: pass", {})
    with pytest.raises(UnsafeExpression, match="exceeded the step budget of 50"):
        SandboxEnvironment(budget=50).evaluate("sum(1 for v in range(100))", {})
    assert SandboxEnvironment(budget=200).evaluate("sum(1 for v in range(100))", {}) == 100


def test_syntax_errors_are_unsafe_with_position_and_task() -> None:
    with pytest.raises(UnsafeExpression, match=r"not valid Python syntax.*line 1") as caught:
        check_expression("score >", task="初审")
    assert caught.value.task == "初审"
    assert "in task '初审'" in caught.value.message
    with pytest.raises(UnsafeExpression, match="not valid Python syntax"):
        check_expression("total = 1")  # a statement is not an expression
    check_expression("total = 1", mode="exec")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("score >= 80 and quota_left > 0", True),
        ("score >= 90 and quota_left > 0", False),
        ("len(districts) <= 6", True),
        ("d['k']", 1),
        ("d.get('k', 0)", 1),
        ("d.get('missing', 0)", 0),
        ("'k' in d and 'z' not in d", True),
        ("[v * 2 for v in xs if v > 1]", [6, 4]),
        ("{v: v * v for v in xs}", {3: 9, 1: 1, 2: 4}),
        ("sorted(xs)", [1, 2, 3]),
        ("sorted(xs, reverse=True)[0]", 3),
        ("[r['name'] for r in sorted(rows, key=by_key('score'), reverse=True)]", ["浦东新区", "徐汇区"]),
        ("max(rows, key=by_key('score'))['name']", "浦东新区"),
        ("name.startswith('浦东')", True),
        ("name.replace('新区', '')", "浦东"),
        ("'、'.join(districts[:2])", "浦东新区、徐汇区"),
        ("deadline.year", 2024),
        ("deadline.isoformat()", "2024-06-30"),
        ("(deadline - start).days", 29),
        ("deadline > start", True),
        ("round(x / y, 2)", 0.33),
        ("f'{a}-{b}'", "1-2"),
        ("f'{score:>4}|{x:.1f}|{name!r}'", "  85|1.0|'浦东新区'"),
        ("1 <= a < b <= 2", True),
        ("0 < a > 3", False),
        ("a if a > b else b", 2),
        ("sum(xs) / len(xs)", 2.0),
        ("2 ** 10 + (7 // 2) - 7 % 3", 1026),
        ("any(v > 2 for v in xs) and all(v > 0 for v in xs)", True),
        ("list(zip(xs, districts))[0]", (3, "浦东新区")),
        ("[i for i, v in enumerate(xs) if v == 1]", [1]),
        ("[*xs, *range(2)]", [3, 1, 2, 0, 1]),
        ("{**d, 'z': 0}", {"k": 1, "z": 0}),
        ("isinstance(a, int) and not isinstance(name, (int, float))", True),
        ("str(score) + '分'", "85分"),
        ("int('42') + float('0.5')", 42.5),
        ("min(a, b, 0)", 0),
        ("list(reversed(xs))", [2, 1, 3]),
        ("set(xs) | {4}", {1, 2, 3, 4}),
        ("name.split('新')", ["浦东", "区"]),
        ("(n := len(xs)) > 2 and n", 3),
    ],
)
def test_ordinary_expressions_work(source: str, expected: Any) -> None:
    check_expression(source)
    assert SandboxEnvironment().evaluate(source, context()) == expected


def test_scripts_create_update_and_delete_variables() -> None:
    data = context()
    script = """
total = 0
for v in xs:
    if v > 1:
        total += v
    else:
        continue
a = a + 10
d['k'] += 1
xs.append(4)
labels = [f"{n}:{len(n)}" for n in districts]
i = 0
while i < 3:
    i += 1
del name
"""
    assert SandboxEnvironment().execute(script, data) is True
    assert data["total"] == 5
    assert data["a"] == 11
    assert data["d"] == {"k": 2}
    assert data["xs"] == [3, 1, 2, 4]
    assert data["labels"][0] == "浦东新区:4"
    assert data["i"] == 3
    assert "name" not in data
    assert "_g" not in data and "__builtins__" not in data


def test_a_failing_script_leaves_the_task_data_as_it_was() -> None:
    data = {"a": 1}
    with pytest.raises(
        ExpressionError, match=r"name 'missing' is not defined in the task data; available: a"
    ) as caught:
        SandboxEnvironment().execute("a = 100\nb = missing", data)
    assert data == {"a": 1}
    assert "line 2" in caught.value.message
    assert "'a = 100\\nb = missing'" in caught.value.message


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("missing + 1", "name 'missing' is not defined in the task data; available: a, b"),
        ("a / 0", "ZeroDivisionError"),
        ("a + 'x'", "TypeError"),
        ("d['nope']", "KeyError"),
        ("xs[10]", "IndexError"),
        ("int('abc')", "ValueError"),
        ("xs.nope", None),  # statically unsafe, not an ordinary error
    ],
)
def test_ordinary_errors_are_expression_errors(source: str, reason: str | None) -> None:
    data = {"a": 1, "b": 2, "d": {}, "xs": []}
    if reason is None:
        with pytest.raises(UnsafeExpression):
            SandboxEnvironment().evaluate(source, data)
        return
    with pytest.raises(ExpressionError) as caught:
        SandboxEnvironment().evaluate(source, data)
    assert reason in caught.value.message
    assert repr(source) in caught.value.message
    assert caught.value.details["expression"] == source


def test_error_messages_stay_short() -> None:
    with pytest.raises(ExpressionError) as caught:
        SandboxEnvironment().evaluate("d['x' * 10**6]", {"d": {}})
    assert len(caught.value.message) < 1000
    with pytest.raises(UnsafeExpression) as unsafe:
        SandboxEnvironment().evaluate("f'{1:{\"9\" * 5000}}'", {})
    assert len(unsafe.value.message) < 1000


def test_vetted_functions_are_offered_and_cannot_be_shadowed() -> None:
    def notice_end(published: dt.date, days: int) -> str:
        return (published + dt.timedelta(days=days)).isoformat()

    env = SandboxEnvironment({"notice_end": notice_end})
    assert env.evaluate("notice_end(start, 5)", context()) == "2024-06-06"
    data = context()
    env.execute("due = notice_end(start, 5)\nalias = notice_end", data)
    assert data["due"] == "2024-06-06"
    assert "notice_end" not in data and "alias" not in data  # functions never land in task data
    with pytest.raises(ExpressionError, match="notice_end"):
        env.evaluate("1", {"notice_end": "shadowed"})
    with pytest.raises(ExpressionError, match="notice_end"):
        env.execute("x = 1", {"notice_end": "shadowed"})

    def strict(value: int) -> int:
        raise ExpressionError(f"strict: {value} is not allowed here")

    with pytest.raises(ExpressionError, match=r"strict: 3 is not allowed here: expression 'strict\(3\)'"):
        SandboxEnvironment({"strict": strict}).evaluate("strict(3)", {})
    with pytest.raises(UnsafeExpression, match=r"\.__code__"):
        env.evaluate("notice_end.__code__", context())
    with pytest.raises(UnsafeExpression, match="not available on function values"):
        env.evaluate("notice_end.count", context())


@pytest.mark.parametrize("name", ["_private", "eval", "not an identifier"])
def test_vetted_function_names_are_checked(name: str) -> None:
    with pytest.raises(ValueError):
        SandboxEnvironment({name: len})


def test_lazy_values_cannot_be_stored_in_task_data() -> None:
    with pytest.raises(ExpressionError, match="convert it with list"):
        SandboxEnvironment().execute("pairs = zip(xs, xs)", context())
    with pytest.raises(ExpressionError, match="convert it with list"):
        SandboxEnvironment().execute("keys = d.keys()", context())


def test_external_context_is_visible_but_not_stored() -> None:
    data = {"a": 1}
    env = SandboxEnvironment()
    assert env.evaluate("a + quota", data, {"quota": 5}) == 6
    assert env.evaluate("a", data, {"a": 99}) == 1  # task data wins, as in SpiffWorkflow
    env.execute("b = a + quota", data, {"quota": 5})
    assert data == {"a": 1, "b": 6}


def test_safe_builtins_are_a_small_read_only_set() -> None:
    for name in ("len", "range", "sorted", "round", "by_key", "isinstance"):
        assert name in SAFE_BUILTINS
    for name in (
        "getattr",
        "setattr",
        "type",
        "vars",
        "dir",
        "eval",
        "exec",
        "open",
        "__import__",
        "print",
        "object",
    ):
        assert name not in SAFE_BUILTINS
    with pytest.raises(TypeError):
        SAFE_BUILTINS["open"] = open  # type: ignore[index]


def test_compiled_code_is_cached_per_source() -> None:
    env, data = SandboxEnvironment(), context()
    source = "score >= 80 and quota_left > 0 and 'cache-probe' != name"
    env.evaluate(source, data)
    hits = _compiled.cache_info().hits
    for _ in range(5):
        env.evaluate(source, data)
    assert _compiled.cache_info().hits == hits + 5
