"""Run-time half of the expression sandbox: limits, vetted builtins and the guard object.

``workflow.sandbox`` rewrites every checked expression so that each operation whose cost or
result size depends on the data goes through a method of one ``Guards`` instance, bound as ``_g``
for one evaluation (user code cannot write names that start with ``_``). The guards

- refuse results bigger than ``MAX_SIZE`` elements (or ints over ``MAX_INT_BITS``) *before*
  allocating them;
- count a per-evaluation step budget: one step per loop or comprehension iteration (more for
  long loop bodies) plus one step per ``ELEMENTS_PER_STEP`` elements of bulk work done in C
  (copying, comparing, hashing, joining, formatting). Work is therefore bounded by roughly
  ``budget × ELEMENTS_PER_STEP`` element operations per evaluation;
- allow attribute access only for whitelisted names on plain data values (``METHODS``).

Every refusal is an ``UnsafeExpression`` that names the expression.
"""

from __future__ import annotations

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
MAX_TEXT_WEIGHT = MAX_SIZE // 25  # a container rendered as text: ~25 characters per element at most
TEXT_ELEMENTS_PER_STEP = 10  # rendering as text costs ~10x more per element than copying
MAX_ROUND_DIGITS = 100
ELEMENTS_PER_STEP = 100
LOOP_NODES_PER_STEP = 25  # a loop body of n AST nodes costs 1 + n // 25 steps per iteration
DEFAULT_BUDGET = 100_000

_SCALARS = frozenset({int, float, bool, type(None), date, datetime, time, timedelta})
_FLAT = _SCALARS - {int}  # O(1) to compare, hash and show, whatever their value
_SIZED = (str, bytes, list, tuple, dict, set, frozenset, range, MappingView)
_HASHED = (dict, set, frozenset, KeysView)
_DIGITS = re.compile(r"\d+")

BINOPS = ("Add", "Sub", "Mult", "Div", "FloorDiv", "Mod", "Pow", "LShift", "RShift", "BitOr", "BitXor", "BitAnd")
_BINOP_FUNCS: tuple[Callable[[Any, Any], Any], ...] = (
    operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv, operator.mod,
    operator.pow, operator.lshift, operator.rshift, operator.or_, operator.xor, operator.and_,
    operator.iadd, operator.isub, operator.imul, operator.itruediv, operator.ifloordiv, operator.imod,
    operator.ipow, operator.ilshift, operator.irshift, operator.ior, operator.ixor, operator.iand,
)  # fmt: skip
INPLACE = len(BINOPS)  # code + INPLACE selects the in-place variant (augmented assignment)
_ADD, _MULT, _MOD, _POW, _LSHIFT = (BINOPS.index(n) for n in ("Add", "Mult", "Mod", "Pow", "LShift"))

CMPOPS = ("Eq", "NotEq", "Lt", "LtE", "Gt", "GtE", "Is", "IsNot", "In", "NotIn")
_CMP_FUNCS: tuple[Callable[[Any, Any], Any], ...] = (
    operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge,
    operator.is_, operator.is_not, lambda a, b: a in b, lambda a, b: a not in b,
)  # fmt: skip
_IS, _IN = CMPOPS.index("Is"), CMPOPS.index("In")


def weight(value: Any, limit: int) -> int:
    """Deep size of ``value``: elements, plus characters of strings and 64-bit words of ints.

    Iterative, C-speed for containers of one scalar type, and it stops as soon as the count
    passes ``limit``, so the walk costs no more than the work it is charged for.
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
        elif isinstance(item, (list, tuple, set, frozenset, KeysView, ValuesView, ItemsView)):
            total += 1 + len(item)
            if total > limit:
                break
            kinds = set(map(type, item))
            if kinds <= _FLAT:
                continue
            if kinds == {int}:
                total += sum(map(int.bit_length, item)) // 64
            elif kinds == {str}:
                total += sum(map(len, item))
            else:
                stack.extend(item)
        elif isinstance(item, range):
            total += 1 + len(item)
        else:
            total += 1
    return total


def by_key(*keys: Any) -> Callable[[Any], Any]:
    """``key=`` helper for sorted/min/max (there are no lambdas): ``sorted(rows, key=by_key("score"))``."""
    if not keys:
        raise TypeError("by_key() needs at least one key")
    if len(keys) == 1:
        only = keys[0]

        def one_item(item: Any) -> Any:
            return item[only]

        return one_item

    def items(item: Any) -> tuple[Any, ...]:
        return tuple(item[k] for k in keys)

    return items


_BUILTINS: dict[str, object] = {
    "abs": abs, "all": all, "any": any, "bool": bool, "by_key": by_key, "dict": dict, "enumerate": enumerate,
    "float": float, "frozenset": frozenset, "int": int, "isinstance": isinstance, "len": len, "list": list,
    "max": max, "min": min, "range": range, "reversed": reversed, "round": round, "set": set, "sorted": sorted,
    "str": str, "sum": sum, "tuple": tuple, "zip": zip,
}  # fmt: skip
SAFE_BUILTINS: Mapping[str, object] = MappingProxyType(_BUILTINS)

# Attribute rules: "free" O(1); "linear" charged by len(receiver); "deep" by its deep weight;
# "hash" charges the first argument's weight; a callable builds a size-checking wrapper.
_STR_LINEAR = (
    "lower upper strip lstrip rstrip split rsplit splitlines find rfind index rindex count isdigit isalpha "
    "isalnum isspace isnumeric isdecimal islower isupper title capitalize casefold partition rpartition "
    "removeprefix removesuffix"
)
_DATE = dict.fromkeys("year month day weekday isoweekday isoformat isocalendar toordinal replace".split(), "free")
_TIME = dict.fromkeys("hour minute second microsecond isoformat replace".split(), "free")
_SET_ALLOC = "union intersection difference symmetric_difference update"


def _rule_table(**groups: str) -> dict[str, Any]:
    return {name: rule for rule, names in groups.items() for name in names.split()}


def _pad(g: Guards, s: str, name: str) -> Callable[..., Any]:
    def pad(width: Any, *rest: Any) -> Any:
        if isinstance(width, int):
            g.check_size(width, f"the result of str.{name}()")
        return getattr(s, name)(width, *rest)

    return pad


def _replace(g: Guards, s: str) -> Callable[..., Any]:
    def replace(old: Any, new: Any, count: Any = -1) -> Any:
        if isinstance(old, str) and isinstance(new, str) and isinstance(count, int):
            hits = s.count(old) if old else len(s) + 1
            hits = count if 0 <= count < hits else hits
            g.check_size(len(s) + hits * (len(new) - len(old)), "the result of str.replace()")
        return s.replace(old, new, count)

    return replace


def _join(g: Guards, s: str) -> Callable[..., Any]:
    def join(iterable: Any) -> Any:
        items = g.materialize(iterable)
        try:
            total = sum(map(len, items)) + len(s) * max(0, len(items) - 1)
        except TypeError:  # not all strings: str.join raises the proper error below
            total = 0
        g.check_size(total, "the result of str.join()")
        return s.join(items)

    return join


def _extend(g: Guards, xs: list[Any]) -> Callable[..., Any]:
    def extend(iterable: Any) -> None:
        items = g.materialize(iterable)
        g.check_size(len(xs) + len(items), "the result of list.extend()")
        xs.extend(items)

    return extend


def _update(g: Guards, d: dict[Any, Any]) -> Callable[..., Any]:
    def update(other: Any = (), **kwargs: Any) -> None:
        other = other if isinstance(other, Mapping) else g.materialize(other)
        g.charge_weight(other)
        g.check_size(len(d) + len(other) + len(kwargs), "the result of dict.update()")
        d.update(other, **kwargs)

    return update


def _set_op(name: str) -> Callable[[Guards, Any], Callable[..., Any]]:
    def build(g: Guards, s: Any) -> Callable[..., Any]:
        def op(*others: Any) -> Any:
            items = [g.materialize(o) for o in others]
            for o in items:
                g.charge_weight(o)
            g.check_size(len(s) + sum(map(len, items)), f"the result of set.{name}()")
            return getattr(s, name)(*items)

        return op

    return build


def _hashing(g: Guards, obj: Any, name: str) -> Callable[..., Any]:
    method = getattr(obj, name)

    def hashing(*args: Any) -> Any:
        if args:
            g.charge_weight(args[0])
        return method(*args)

    return hashing


_STR = _rule_table(free="startswith endswith", linear=_STR_LINEAR)
_STR.update(replace=_replace, join=_join, **{n: n for n in ("ljust", "rjust", "center", "zfill")})
_LIST = _rule_table(free="append pop", linear="copy clear reverse insert", deep="index count remove sort")
_LIST["extend"] = _extend
_DICT = _rule_table(free="keys values items popitem", linear="copy clear", hash="get pop setdefault")
_DICT["update"] = _update
_SET = _rule_table(free="pop", linear="copy clear isdisjoint issubset issuperset", hash="add discard remove")
_SET.update({name: _set_op(name) for name in _SET_ALLOC.split()})
_FROZENSET = {k: v for k, v in _SET.items() if k in ("copy", "isdisjoint", "issubset", "issuperset")}
_FROZENSET.update({name: _set_op(name) for name in _SET_ALLOC.split()[:-1]})
METHODS: dict[type, dict[str, Any]] = {
    str: _STR,
    list: _LIST,
    tuple: _rule_table(deep="index count"),
    dict: _DICT,
    set: _SET,
    frozenset: _FROZENSET,
    datetime: {**_DATE, **_TIME, "date": "free", "time": "free"},
    date: _DATE,
    time: _TIME,
    timedelta: _rule_table(free="days seconds microseconds total_seconds"),
    float: {"is_integer": "free"},
}
ALLOWED_ATTRIBUTES = frozenset(name for table in METHODS.values() for name in table)


class Guards:
    """Budget and guard functions for one evaluation of one expression."""

    __slots__ = ("source", "budget", "used")

    def __init__(self, source: str, budget: int) -> None:
        self.source = source
        self.budget = budget
        self.used = 0

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
        kind = type(value)
        if kind in _SCALARS:
            return
        if kind is str:
            self.charge_size(len(value))
            return
        limit = (self.budget - self.used + 1) * ELEMENTS_PER_STEP
        self.charge_size(weight(value, limit))

    def text_weight(self, value: Any) -> None:
        """Before rendering a container as text: its text is about 25 characters per element at most."""
        if type(value) in _SCALARS or type(value) is str:
            return
        size = weight(value, MAX_TEXT_WEIGHT)
        if size > MAX_TEXT_WEIGHT:
            raise self.refuse(f"a value with more than {MAX_TEXT_WEIGHT:,} elements is too large to show as text")
        self.charge(size // TEXT_ELEMENTS_PER_STEP)

    def iter(self, iterable: Any, cost: int) -> Iterator[Any]:
        for item in iterable:
            self.used += cost
            if self.used > self.budget:
                self.charge(0)
            yield item

    def tick(self, cost: int) -> bool:
        self.charge(cost)
        return True

    def counted(self, iterable: Any, deep: bool = False) -> Iterator[Any]:
        """Pass an unsized iterable through to C code, charging for every element."""
        n = 0
        for item in iterable:
            n += 1
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

    def spread(self, value: Any) -> Any:
        """``*value`` in a call, display or starred assignment."""
        return self.materialize(value)

    def spread_map(self, value: Any) -> Any:
        """``**value`` in a call or dict display."""
        if isinstance(value, _SIZED):
            self.charge_size(len(value))
        return value

    def key(self, key: Any) -> Any:
        """A dict key, set element or subscript: hashing a tuple costs its deep size."""
        if isinstance(key, (tuple, frozenset)):
            self.charge_weight(key)
        return key

    def augitem(self, code: int, obj: Any, key: Any, value: Any) -> None:
        """``obj[key] op= value`` with obj and key evaluated once (key already passed through ``key``)."""
        obj[key] = self.binop(code, obj[key], value)

    def sliced(self, obj: Any, lower: Any, upper: Any, step: Any) -> Any:
        part = slice(lower, upper, step)
        if isinstance(obj, _SIZED) and not isinstance(obj, (dict, MappingView)):
            try:
                self.charge_size(len(range(*part.indices(len(obj)))))
            except (TypeError, ValueError):
                pass  # invalid slice: obj[part] below raises the proper error
        return obj[part]

    def binop(self, code: int, a: Any, b: Any) -> Any:
        op = code % INPLACE
        ta, tb = type(a), type(b)
        if ta in (int, bool) and tb in (int, bool):
            self._check_int_op(op, a, b)
        elif ta not in _SCALARS or tb not in _SCALARS:
            if op == _MOD and isinstance(a, (str, bytes)):
                raise self.refuse("printf-style '%' formatting is not available; use an f-string")
            sa = len(a) if isinstance(a, _SIZED) else 0
            sb = len(b) if isinstance(b, _SIZED) else 0
            if op == _MULT and sa and isinstance(b, int):
                self.check_size(sa * b, "the repeated sequence")
            elif op == _MULT and sb and isinstance(a, int):
                self.check_size(sb * a, "the repeated sequence")
            else:
                self.check_size(sa + sb, "the result")
        result = _BINOP_FUNCS[code](a, b)
        if type(result) is int and result.bit_length() > MAX_INT_BITS:
            raise self.refuse(f"the result has more than {MAX_INT_BITS:,} bits")
        return result

    def _check_int_op(self, op: int, a: int, b: int) -> None:
        bits = 0
        if op == _POW and b > 0 and abs(a) > 1:
            bits = a.bit_length() * b
        elif op == _LSHIFT and b > 0 and a:
            bits = a.bit_length() + b
        elif op == _MULT and a and b:
            bits = a.bit_length() + b.bit_length()
        if bits > MAX_INT_BITS:
            raise self.refuse(f"the result would have about {bits:,} bits, more than the limit of {MAX_INT_BITS:,}")

    def cmp(self, code: int, a: Any, b: Any) -> Any:
        if code < _IS and (type(a) not in _SCALARS or type(b) not in _SCALARS):
            self.charge_weight(a)
            self.charge_weight(b)
        elif code >= _IN:
            self.charge_weight(a)
            if not isinstance(b, _HASHED):
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
        table = METHODS.get(type(obj))
        if table is None:
            table = next((t for kind, t in METHODS.items() if isinstance(obj, kind)), None)
        if table is None or name not in table:
            raise self.refuse(f"attribute '{name}' is not available on {type(obj).__name__} values")
        rule = table[name]
        if rule == "free":
            return getattr(obj, name)
        if rule == "linear":
            self.charge_size(len(obj))
        elif rule == "deep":
            self.charge_weight(obj)
            if name == "sort":
                self.charge_size(int(len(obj) * log2(len(obj) + 1)))
        elif rule == "hash":
            return _hashing(self, obj, name)
        elif isinstance(rule, str):
            return _pad(self, obj, rule)
        else:
            return rule(self, obj)
        return getattr(obj, name)

    def call(self, func: Any, /, *args: Any, **kwargs: Any) -> Any:
        special = _SPECIAL.get(id(func))
        if special is not None:
            return special(self, func, args, kwargs)
        if type(func) is GenericAlias:
            raise self.refuse("subscripted types such as list[int] cannot be called")
        return func(*args, **kwargs)

    def fmt(self, value: Any, conversion: int, spec: str) -> str:
        """One ``{value!conversion:spec}`` field of an f-string, with widths and precisions capped."""
        self.text_weight(value)
        for run in _DIGITS.findall(spec):
            if len(run) > 8 or int(run) > MAX_SIZE:
                raise self.refuse(f"the width or precision {run} in an f-string is more than {MAX_SIZE:,}")
            self.charge_size(int(run))
        if conversion == ord("r"):
            value = repr(value)
        elif conversion == ord("a"):
            value = ascii(value)
        elif conversion == ord("s"):
            value = str(value)
        if isinstance(value, str):
            self.charge_size(len(value))
        return format(value, spec)


def _charged(g: Guards, arg: Any, deep: bool, sort: bool = False) -> Any:
    """An argument that a builtin iterates in C, charged first (deep: its elements get compared or hashed)."""
    if not isinstance(arg, _SIZED):
        return g.counted(arg, deep)
    if deep:
        g.charge_weight(arg)
    else:
        g.charge_size(len(arg))
    if sort and len(arg) > 1:
        g.charge_size(int(len(arg) * log2(len(arg))))
    return arg


def _consume(deep: bool, sort: bool = False) -> Callable[[Guards, Any, tuple[Any, ...], dict[str, Any]], Any]:
    def call(g: Guards, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if len(args) == 1:
            args = (_charged(g, args[0], deep, sort),)
        else:
            for arg in args:
                g.charge_weight(arg)
        return func(*args, **kwargs)

    return call


def _call_sum(g: Guards, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    start = args[1] if len(args) > 1 else kwargs.get("start", 0)
    if type(start) not in (int, float, bool):
        raise g.refuse("sum() adds numbers only (adding up lists or strings that way takes quadratic time)")
    if args:
        args = (_charged(g, args[0], deep=False), *args[1:])
    return func(*args, **kwargs)


def _call_str(g: Guards, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if args:
        g.text_weight(args[0])
    return func(*args, **kwargs)


def _call_number(g: Guards, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if args and isinstance(args[0], str):
        g.charge_size(len(args[0]))
    result = func(*args, **kwargs)
    if isinstance(result, int) and result.bit_length() > MAX_INT_BITS:
        raise g.refuse(f"the result has more than {MAX_INT_BITS:,} bits")
    return result


def _call_round(g: Guards, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    digits = args[1] if len(args) > 1 else kwargs.get("ndigits")
    if isinstance(digits, int) and abs(digits) > MAX_ROUND_DIGITS:
        raise g.refuse(f"round() to {digits} digits: at most {MAX_ROUND_DIGITS} are allowed")
    return func(*args, **kwargs)


def _call_range(g: Guards, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    result = func(*args, **kwargs)
    try:
        size = len(result)
    except OverflowError:
        size = MAX_RANGE + 1
    if size > MAX_RANGE:
        raise g.refuse(f"range() of more than {MAX_RANGE:,} elements")
    return result


_SPECIAL: dict[int, Callable[[Guards, Any, tuple[Any, ...], dict[str, Any]], Any]] = {
    **{id(f): _consume(False) for f in (list, tuple, any, all)},
    **{id(f): _consume(True) for f in (set, frozenset, dict, min, max)},
    id(sorted): _consume(True, sort=True),
    id(sum): _call_sum,
    id(str): _call_str,
    id(int): _call_number,
    id(float): _call_number,
    id(round): _call_round,
    id(range): _call_range,
}

