"""Run-time half of the expression sandbox: limits, vetted builtins and the guard object.

``workflow.sandbox`` rewrites every checked expression so that each operation whose cost or
result size depends on data calls a method of one ``Guards`` instance, bound as ``_g`` for one
evaluation (user code cannot write names that start with ``_``). The guards

- refuse results over ``MAX_SIZE`` elements, ints over ``MAX_INT_BITS`` and ranges over
  ``MAX_RANGE`` *before* allocating them;
- count a step budget per evaluation: 1 step per loop or comprehension iteration (more for long
  loop bodies), plus 1 step per ``ELEMENTS_PER_STEP`` elements of bulk work that C code does
  (copying, comparing, hashing, joining; rendering text costs 10 times more). Work per evaluation
  is thus bounded by about ``budget × ELEMENTS_PER_STEP`` element operations: with the defaults,
  the worst payloads we know stop within about 0.4 s of CPU;
- allow attributes only from ``METHODS``: whitelisted names on plain data values.

Every refusal is an ``UnsafeExpression`` that names the expression.
"""

from __future__ import annotations

import builtins
import operator
import re
from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, MappingView, ValuesView
from datetime import date, datetime, time, timedelta
from math import log2
from types import GenericAlias, MappingProxyType
from typing import Any

from workflow.errors import UnsafeExpression

MAX_SIZE = 10_000_000  # elements of a list/tuple/set/dict, characters of a str
MAX_INT_BITS = 10_000  # about 3,000 decimal digits
MAX_RANGE = 1_000_000  # elements of one range()
MAX_TEXT_WEIGHT = MAX_SIZE // 25  # a container shown as text: at most ~25 characters per element
MAX_ROUND_DIGITS = 100
ELEMENTS_PER_STEP = 100
TEXT_ELEMENTS_PER_STEP = 10
LOOP_NODES_PER_STEP = 25  # one iteration of a loop body of n AST nodes costs 1 + n // 25 steps
DEFAULT_BUDGET = 100_000

_SCALARS = frozenset({int, float, bool, type(None), date, datetime, time, timedelta})
_FLAT = _SCALARS - {int}  # O(1) to compare, hash and show, whatever the value
_SIZED = (str, bytes, list, tuple, dict, set, frozenset, range, MappingView)
_CONTAINERS = (list, tuple, set, frozenset, KeysView, ValuesView, ItemsView)
_DIGITS = re.compile(r"\d+")
_CONVERSIONS: dict[int, Callable[[Any], str]] = {ord("r"): repr, ord("a"): ascii, ord("s"): str}

BINOPS = tuple("Add Sub Mult Div FloorDiv Mod Pow LShift RShift BitOr BitXor BitAnd".split())
INPLACE = len(BINOPS)  # code + INPLACE selects the in-place variant (augmented assignment)
_BINOP_FUNCS: tuple[Callable[[Any, Any], Any], ...] = tuple(
    getattr(operator, f"__{prefix}{name}__")
    for prefix in ("", "i")
    for name in "add sub mul truediv floordiv mod pow lshift rshift or xor and".split()
)
_MULT, _MOD, _POW, _LSHIFT = (BINOPS.index(n) for n in ("Mult", "Mod", "Pow", "LShift"))
CMPOPS = tuple("Eq NotEq Lt LtE Gt GtE Is IsNot In NotIn".split())
_CMP_FUNCS: tuple[Callable[[Any, Any], Any], ...] = (
    *(getattr(operator, name) for name in "eq ne lt le gt ge is_ is_not".split()),
    lambda a, b: a in b,
    lambda a, b: a not in b,
)
_IS, _IN = CMPOPS.index("Is"), CMPOPS.index("In")


def weight(value: Any, limit: int) -> int:
    """Deep size of ``value``: elements, plus characters of strings and 64-bit words of ints.

    Iterative, C-speed for containers of one scalar type, and it stops once past ``limit``, so
    the walk never costs more than the work it is charged for.
    """
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str):
            total += 1 + len(item)
        elif isinstance(item, int):
            total += 1 + item.bit_length() // 64
        elif isinstance(item, dict):
            total += 1
            stack += (item.keys(), item.values())
        elif isinstance(item, _CONTAINERS):
            total += 1 + len(item)
            kinds = set(map(type, item)) if total <= limit else set()
            if kinds == {int}:
                total += sum(map(int.bit_length, item)) // 64
            elif kinds == {str}:
                total += sum(map(len, item))
            elif not kinds <= _FLAT:
                stack.extend(item)
        else:
            total += 1 + (len(item) if isinstance(item, range) else 0)
    return total


def by_key(*keys: Any) -> Callable[[Any], Any]:
    """``key=`` helper for sorted/min/max, as there are no lambdas: ``sorted(rows, key=by_key("score"))``."""
    if not keys:
        raise TypeError("by_key() needs at least one key")

    def key(item: Any) -> Any:
        return item[keys[0]] if len(keys) == 1 else tuple(item[k] for k in keys)

    return key


_BUILTIN_NAMES = """abs all any bool dict enumerate float frozenset int isinstance len list max min range
    reversed round set sorted str sum tuple zip""".split()
_BUILTINS: dict[str, object] = {name: getattr(builtins, name) for name in _BUILTIN_NAMES} | {"by_key": by_key}
SAFE_BUILTINS: Mapping[str, object] = MappingProxyType(_BUILTINS)

# How a call of a vetted builtin is charged (see Guards.call).
_CALLS: dict[int, str] = {id(f): "shallow" for f in (list, tuple, any, all)}
_CALLS.update({id(f): "deep" for f in (set, frozenset, dict, min, max)})
_CALLS.update({id(sorted): "sort", id(sum): "sum", id(str): "text", id(int): "number", id(float): "number"})
_CALLS.update({id(round): "round", id(range): "range"})


def _rules(**groups: str) -> dict[str, str]:
    return {name: rule for rule, names in groups.items() for name in names.split()}


# Attribute rules. "free": O(1). "linear": charged by len(receiver). "deep": by its deep size.
# Others return a wrapper checking the arguments: "hash" charges hashing the first argument;
# "grow" refuses a result over MAX_SIZE; "pad", "replace", "join" compute the result's length.
_STR = _rules(
    free="startswith endswith",
    linear="lower upper strip lstrip rstrip split rsplit splitlines find rfind index rindex count isdigit "
    "isalpha isalnum isspace isnumeric isdecimal islower isupper title capitalize casefold partition "
    "rpartition removeprefix removesuffix",
    pad="ljust rjust center zfill",
    replace="replace",
    join="join",
)
_SET_OPS = "union intersection difference symmetric_difference"
_DATE = "year month day weekday isoweekday isoformat isocalendar toordinal replace"
_TIME = "hour minute second microsecond isoformat replace"
METHODS: dict[type, dict[str, str]] = {
    str: _STR,
    list: _rules(
        free="append pop", linear="copy clear reverse insert", deep="index count remove sort", grow="extend"
    ),
    tuple: _rules(deep="index count"),
    dict: _rules(
        free="keys values items popitem", linear="copy clear", hash="get pop setdefault", grow="update"
    ),
    set: _rules(
        free="pop",
        linear="copy clear isdisjoint issubset issuperset",
        hash="add discard remove",
        grow=_SET_OPS + " update",
    ),
    frozenset: _rules(linear="copy isdisjoint issubset issuperset", grow=_SET_OPS),
    datetime: _rules(free=f"{_DATE} {_TIME} date time"),
    date: _rules(free=_DATE),
    time: _rules(free=_TIME),
    timedelta: _rules(free="days seconds microseconds total_seconds"),
    float: _rules(free="is_integer"),
}
ALLOWED_ATTRIBUTES = frozenset(name for table in METHODS.values() for name in table)


class Guards:
    """Budget and guard functions for one evaluation of one expression."""

    __slots__ = ("source", "budget", "used")

    def __init__(self, source: str, budget: int) -> None:
        self.source, self.budget, self.used = source, budget, 0

    def refuse(self, reason: str) -> UnsafeExpression:
        return UnsafeExpression(reason, expression=self.source)

    def charge(self, steps: int) -> None:
        self.used += steps
        if self.used > self.budget:
            raise self.refuse(
                f"exceeded the step budget of {self.budget} (loop iterations and bulk work); "
                "simplify it or move the work into a service task"
            )

    def charge_size(self, n: int) -> None:
        if n >= ELEMENTS_PER_STEP:
            self.charge(n // ELEMENTS_PER_STEP)

    def check_size(self, n: int, what: str) -> None:
        if n > MAX_SIZE:
            raise self.refuse(f"{what} would have {n:,} elements, more than the limit of {MAX_SIZE:,}")
        self.charge_size(n)

    def charge_weight(self, value: Any) -> None:
        """Before C code compares or hashes ``value`` element by element."""
        if type(value) not in _SCALARS:
            self.charge_size(weight(value, (self.budget - self.used + 1) * ELEMENTS_PER_STEP))

    def text_weight(self, value: Any) -> None:
        """Before a container is rendered as text."""
        if type(value) not in _SCALARS and type(value) is not str:
            size = weight(value, MAX_TEXT_WEIGHT)
            if size > MAX_TEXT_WEIGHT:
                raise self.refuse(
                    f"a value of more than {MAX_TEXT_WEIGHT:,} elements is too large to show as text"
                )
            self.charge(size // TEXT_ELEMENTS_PER_STEP)

    def iter(self, iterable: Any, cost: int) -> Iterator[Any]:
        """Every loop and comprehension iterates through this."""
        for item in iterable:
            self.used += cost
            if self.used > self.budget:
                self.charge(0)
            yield item

    def tick(self, cost: int) -> bool:
        """Every ``while`` test calls this first."""
        self.charge(cost)
        return True

    def counted(self, iterable: Any, deep: bool = False) -> Iterator[Any]:
        """Hand an unsized iterable to C code, charging for each element."""
        for n, item in enumerate(iterable, start=1):
            if deep:
                self.charge_weight(item)
            if n % ELEMENTS_PER_STEP == 0:
                self.check_size(n, "an intermediate result")
            yield item

    def materialize(self, iterable: Any) -> Any:
        if isinstance(iterable, _SIZED):
            self.charge_size(len(iterable))
            return iterable
        return list(self.counted(iterable))

    def consumable(self, arg: Any, kind: str) -> Any:
        """An argument a builtin iterates in C ("deep"/"sort": it compares or hashes the elements)."""
        if not isinstance(arg, _SIZED):
            return self.counted(arg, deep=kind != "shallow")
        if kind == "shallow":
            self.charge_size(len(arg))
        else:
            self.charge_weight(arg)
        if kind == "sort" and len(arg) > 1:
            self.charge_size(int(len(arg) * log2(len(arg))))
        return arg

    spread = materialize  # *value in calls, displays and starred assignments

    def spread_map(self, value: Any) -> Any:
        """``**value`` in a call or dict display."""
        self.charge_size(len(value) if isinstance(value, _SIZED) else 0)
        return value

    def key(self, key: Any) -> Any:
        """A dict key, set element or subscript: hashing a tuple costs its deep size."""
        if isinstance(key, (tuple, frozenset)):
            self.charge_weight(key)
        return key

    def augitem(self, code: int, obj: Any, key: Any, value: Any) -> None:
        """``obj[key] op= value`` with obj and key evaluated once."""
        obj[key] = self.binop(code, obj[key], value)

    def sliced(self, obj: Any, lower: Any, upper: Any, step: Any) -> Any:
        part = slice(lower, upper, step)
        if isinstance(obj, (str, list, tuple, range)):
            try:
                self.charge_size(len(range(*part.indices(len(obj)))))
            except (TypeError, ValueError):
                pass  # an invalid slice: obj[part] raises the proper error
        return obj[part]

    def binop(self, code: int, a: Any, b: Any) -> Any:
        op, ta, tb = code % INPLACE, type(a), type(b)
        if ta in (int, bool) and tb in (int, bool):
            bits = 0
            if op == _POW and b > 0 and abs(a) > 1:
                bits = a.bit_length() * b
            elif op == _LSHIFT and b > 0 and a:
                bits = a.bit_length() + b
            elif op == _MULT and a and b:
                bits = a.bit_length() + b.bit_length()
            if bits > MAX_INT_BITS:
                raise self.refuse(
                    f"the result would have about {bits:,} bits, more than the limit of {MAX_INT_BITS:,}"
                )
        elif ta not in _SCALARS or tb not in _SCALARS:
            if op == _MOD and isinstance(a, (str, bytes)):
                raise self.refuse("printf-style '%' formatting is not available; use an f-string")
            sa = len(a) if isinstance(a, _SIZED) else 0
            sb = len(b) if isinstance(b, _SIZED) else 0
            if op == _MULT and isinstance(b, int) and isinstance(a, _SIZED):
                self.check_size(sa * b, "the repeated sequence")
            elif op == _MULT and isinstance(a, int) and isinstance(b, _SIZED):
                self.check_size(sb * a, "the repeated sequence")
            else:
                self.check_size(sa + sb, "the result")
        result = _BINOP_FUNCS[code](a, b)
        if type(result) is int and result.bit_length() > MAX_INT_BITS:
            raise self.refuse(f"the result has more than {MAX_INT_BITS:,} bits")
        return result

    def cmp(self, code: int, a: Any, b: Any) -> Any:
        if code < _IS and (type(a) not in _SCALARS or type(b) not in _SCALARS):
            self.charge_weight(a)
            self.charge_weight(b)
        elif code >= _IN:
            self.charge_weight(a)
            if not isinstance(b, (dict, set, frozenset, KeysView)):  # else only a is hashed
                self.charge_weight(b)
        return _CMP_FUNCS[code](a, b)

    def chain(self, left: Any, *rest: Any) -> Any:
        """``a < b < c``: rest is (code, thunk) pairs, so later operands are evaluated lazily, once."""
        result: Any = True
        for i in range(0, len(rest), 2):
            right = rest[i + 1]()
            result = self.cmp(rest[i], left, right)
            if not result:
                return result
            left = right
        return result

    def attr(self, obj: Any, name: str) -> Any:
        table = METHODS.get(type(obj)) or next((t for k, t in METHODS.items() if isinstance(obj, k)), {})
        rule = table.get(name)
        if rule is None:
            raise self.refuse(f"attribute '{name}' is not available on {type(obj).__name__} values")
        if rule == "linear":
            self.charge_size(len(obj))
        elif rule == "deep":
            self.charge_weight(obj)
            if name == "sort":
                self.charge_size(int(len(obj) * log2(len(obj) + 1)))
        elif rule != "free":
            return self._sized_method(obj, name, rule)
        return getattr(obj, name)

    def _sized_method(self, obj: Any, name: str, rule: str) -> Callable[..., Any]:
        method, what = getattr(obj, name), f"the result of {type(obj).__name__}.{name}()"

        def guarded(*args: Any, **kwargs: Any) -> Any:
            if rule == "hash" and args:
                self.charge_weight(args[0])
            elif rule == "pad" and args and isinstance(args[0], int):
                self.check_size(args[0], what)
            elif rule == "replace" and len(args) >= 2 and all(isinstance(s, str) for s in args[:2]):
                old, new, count = args[0], args[1], args[2] if len(args) > 2 else -1
                hits = obj.count(old) if old else len(obj) + 1
                hits = count if isinstance(count, int) and 0 <= count < hits else hits
                self.check_size(len(obj) + hits * (len(new) - len(old)), what)
            elif rule == "join" and args:
                args = (self.materialize(args[0]),)
                try:
                    self.check_size(sum(map(len, args[0])) + len(obj) * max(0, len(args[0]) - 1), what)
                except TypeError:
                    pass  # not all strings: str.join raises the proper error
            elif rule == "grow":
                args = tuple(self.materialize(a) for a in args)
                for arg in args:
                    self.charge_weight(arg)
                self.check_size(len(obj) + sum(map(len, args)) + len(kwargs), what)
            return method(*args, **kwargs)

        return guarded

    def call(self, func: Any, /, *args: Any, **kwargs: Any) -> Any:
        kind = _CALLS.get(id(func))
        if kind is None:
            if type(func) is GenericAlias:
                raise self.refuse("subscripted types such as list[int] cannot be called")
            return func(*args, **kwargs)
        if kind in ("shallow", "deep", "sort"):
            if len(args) == 1:
                args = (self.consumable(args[0], kind),)
            for arg in args if len(args) > 1 else ():
                self.charge_weight(arg)
        elif kind == "sum":
            if type(args[1] if len(args) > 1 else kwargs.get("start", 0)) not in (int, float, bool):
                raise self.refuse(
                    "sum() adds numbers only (adding lists or strings that way takes quadratic time)"
                )
            args = (self.consumable(args[0], "shallow"), *args[1:]) if args else args
        elif kind == "text" and args:
            self.text_weight(args[0])
        elif kind == "number" and args and isinstance(args[0], str):
            self.charge_size(len(args[0]))
        elif kind == "round":
            digits = args[1] if len(args) > 1 else kwargs.get("ndigits")
            if isinstance(digits, int) and abs(digits) > MAX_ROUND_DIGITS:
                raise self.refuse(f"round() to {digits} digits: at most {MAX_ROUND_DIGITS} are allowed")
        result = func(*args, **kwargs)
        if kind == "number" and isinstance(result, int) and result.bit_length() > MAX_INT_BITS:
            raise self.refuse(f"the result has more than {MAX_INT_BITS:,} bits")
        if kind == "range" and -((result.start - result.stop) // result.step) > MAX_RANGE:
            raise self.refuse(f"range() of more than {MAX_RANGE:,} elements")
        return result

    def fmt(self, value: Any, conversion: int, spec: str) -> str:
        """One ``{value!conversion:spec}`` field of an f-string, with widths and precisions capped."""
        self.text_weight(value)
        for run in _DIGITS.findall(spec):
            if len(run) > 8 or int(run) > MAX_SIZE:
                raise self.refuse(
                    f"the width or precision {run[:12]} in an f-string is more than {MAX_SIZE:,}"
                )
            self.charge_size(int(run))
        convert = _CONVERSIONS.get(conversion)
        value = convert(value) if convert else value
        if isinstance(value, str):
            self.charge_size(len(value))
        return format(value, spec)
