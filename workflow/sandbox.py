"""The sandbox in which every BPMN expression, condition, timer, script and DMN cell runs.

Contract
    ``check_expression(source)`` decides statically (parse and AST walk, no execution) whether
    ``source`` may run; deployment calls it on every expression in a diagram. ``SandboxEnvironment``
    runs checked code with task data as its only namespace, plus ``SAFE_BUILTINS`` and the vetted
    ``functions`` its owner passes in; ``SandboxScriptEngine`` is the SpiffWorkflow script engine
    built on it. Unsafe code raises ``UnsafeExpression`` (statically or at run time); safe code that
    fails (a missing variable, a type error) raises ``ExpressionError``. Both name the expression,
    and the engine adds the task's name.

Threat model
    Uploading BPMN is deploying code, so the author of an expression may be hostile (a stolen
    modeler account) or careless, and task data comes from district users. Code must not reach
    anything but data and vetted functions (no modules, files, frames, classes, dunders, imports,
    introspection) and must not exhaust memory or CPU. Defences, in order:

    1. A whitelist of AST node types. Refused: names or attributes starting with ``_``; import,
       global, nonlocal, lambda, def, class, yield, await, with, match, try, raise, assert;
       attribute assignment; attributes not in a whitelist of data methods (``str.format`` too,
       since format fields read attributes); printf-style ``%`` formatting; builtins such as
       ``eval``, ``open``, ``getattr``, ``type``. There is no try/except, so user code can never
       swallow a refusal: failures belong to BPMN error events, not to scripts.
    2. A rewrite before compiling: every operation whose cost depends on data (arithmetic,
       comparison, subscripts, attribute access, calls, f-string fields, loops, comprehensions)
       goes through a per-evaluation ``Guards`` object (see ``workflow.sandbox_guards``) that
       caps sizes before allocating and counts a step budget.
    3. A namespace whose ``__builtins__`` is ``SAFE_BUILTINS`` only, and run-time type checks on
       every attribute access (only plain data values: str, list, dict, set, tuple, dates...).

    Compiled code is cached per source text, so a repeated condition costs microseconds. Not
    covered: the vetted functions themselves (trusted code), and a process-level memory limit,
    which the deployment should still set (a single value may reach ``MAX_SIZE`` elements).
"""

from __future__ import annotations

import ast
import copy
import functools
import textwrap
import traceback
from collections.abc import Callable, Iterator, Mapping, MappingView
from datetime import date, time
from types import CodeType
from typing import Any, Literal

from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from workflow import jsondata
from workflow.adapters.spiff import library_merge
from workflow.errors import ExpressionError, ShanyuError, UnsafeExpression, WorkflowFailed
from workflow.sandbox_guards import (
    _BUILTINS,
    ALLOWED_ATTRIBUTES,
    BINOPS,
    CMPOPS,
    DEFAULT_BUDGET,
    INPLACE,
    LOOP_NODES_PER_STEP,
    Guards,
)
from workflow.sandbox_guards import SAFE_BUILTINS as SAFE_BUILTINS  # re-exported: part of this API

MAX_SOURCE = 50_000  # characters of one expression or script
MAX_INSTANCES = 10_000  # multi-instance cardinality
FILENAME = "<sandbox>"
FORBIDDEN_NAMES = frozenset(
    "eval exec compile open getattr setattr delattr hasattr globals locals vars dir type input print "
    "breakpoint help exit quit memoryview bytearray bytes object super classmethod staticmethod property "
    "issubclass callable iter next format id hash".split()
)
_NODES = (
    "Expression Module Assign AugAssign For While If Expr Pass Break Continue Delete BoolOp NamedExpr BinOp "
    "UnaryOp IfExp Dict Set ListComp SetComp DictComp GeneratorExp Compare Call FormattedValue JoinedStr "
    "Constant Attribute Subscript Starred Name List Tuple Slice comprehension keyword Load Store Del And Or "
    "Not USub UAdd Invert " + " ".join(BINOPS + CMPOPS)
)
_ALLOWED_NODES = frozenset(getattr(ast, name) for name in _NODES.split())
_REFUSED_NODES = {
    "Lambda": "lambda functions are not allowed (for sorted/min/max use key=by_key('field'))",
    "FunctionDef": "function definitions (def) are not allowed",
    "AsyncFunctionDef": "function definitions (def) are not allowed",
    "ClassDef": "class definitions are not allowed",
    "Import": "import is not allowed",
    "ImportFrom": "import is not allowed",
    "Global": "global is not allowed",
    "Nonlocal": "nonlocal is not allowed",
    "Try": "try/except is not allowed (use BPMN error events)",
    "TryStar": "try/except is not allowed (use BPMN error events)",
    "Raise": "raise is not allowed (use BPMN error events)",
    "MatMult": "the @ operator is not allowed",
}
_CONSTANT_TYPES = (str, int, float, bool, type(None))
_DATA_RESULTS = frozenset({list, dict, tuple, str, int, float})
_SANDBOX_VALUES = (date, time)  # expressions work with them; storing them is refused by name (workflow.texts)
_NOT_DATA = (Iterator, MappingView, range)
# Methods that change a list, dict or set in place: refused in expressions (see ``_check``).
_MUTATING = frozenset("append extend insert pop remove clear reverse sort popitem setdefault update add discard".split())


def check_expression(source: str, *, mode: Literal["eval", "exec"] = "eval", task: str | None = None) -> None:
    """Raise ``UnsafeExpression`` unless ``source`` parses and passes the static whitelist."""
    try:
        _compiled(source, mode)
    except UnsafeExpression as err:
        if task is None:
            raise
        raise UnsafeExpression(err.reason, expression=source, task=task) from None


@functools.lru_cache(maxsize=4096)
def _compiled(source: str, mode: str) -> CodeType:
    if not isinstance(source, str):
        raise UnsafeExpression(
            f"an expression must be text, not {type(source).__name__}", expression=repr(source)
        )
    if len(source) > MAX_SOURCE:
        raise UnsafeExpression(f"longer than {MAX_SOURCE:,} characters", expression=source)
    text = source.strip() if mode == "eval" else textwrap.dedent(source)
    try:
        tree = ast.parse(text, FILENAME, mode)
        _check(tree, source)
        tree = ast.fix_missing_locations(_Rewriter().visit(tree))
        return compile(tree, FILENAME, mode)
    except SyntaxError as err:
        where = f" (line {err.lineno}, column {err.offset})" if err.lineno else ""
        raise UnsafeExpression(f"not valid Python syntax: {err.msg}{where}", expression=source) from None
    except (RecursionError, MemoryError):
        raise UnsafeExpression("nested too deeply", expression=source) from None


def _check(tree: ast.AST, source: str) -> None:
    def refuse(reason: str) -> UnsafeExpression:
        return UnsafeExpression(reason, expression=source)

    nodes = list(ast.walk(tree))
    if isinstance(tree, ast.Expression):  # an expression reads data; changing it in place would change other tasks'
        for node in nodes:
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATING:
                raise refuse(f"an expression may not change data in place (.{node.func.attr}); "
                             "do that in a script task")
    slices = {id(node.slice) for node in nodes if isinstance(node, ast.Subscript)}
    for node in nodes:
        kind = type(node)
        if kind not in _ALLOWED_NODES:
            raise refuse(_REFUSED_NODES.get(kind.__name__, f"{kind.__name__} is not allowed"))
        if isinstance(node, ast.Name):
            if node.id.startswith("_"):
                raise refuse(f"names starting with '_' are not allowed ({node.id})")
            if node.id in FORBIDDEN_NAMES:
                raise refuse(f"'{node.id}' is not available in expressions")
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("_"):
                raise refuse(f"attributes starting with '_' are not allowed (.{node.attr})")
            if not isinstance(node.ctx, ast.Load):
                raise refuse(f"assigning or deleting attributes is not allowed (.{node.attr})")
            if node.attr not in ALLOWED_ATTRIBUTES:
                extra = " (use an f-string)" if node.attr in ("format", "format_map") else ""
                raise refuse(f"attribute '.{node.attr}' is not allowed{extra}")
        elif isinstance(node, ast.Constant) and not isinstance(node.value, _CONSTANT_TYPES):
            raise refuse(f"{type(node.value).__name__} literals are not allowed")
        elif isinstance(node, ast.keyword) and node.arg is not None and node.arg.startswith("_"):
            raise refuse(f"names starting with '_' are not allowed ({node.arg}=)")
        elif isinstance(node, ast.comprehension) and node.is_async:
            raise refuse("async comprehensions are not allowed")
        elif isinstance(node, (ast.For, ast.comprehension)) and _has(node.target, ast.Starred):
            raise refuse("starred loop targets are not allowed")
        elif isinstance(node, ast.Slice) and id(node) not in slices:
            raise refuse("slices are only allowed directly inside [ ]")
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Slice)
            and type(node.ctx) is not ast.Load
        ):
            raise refuse("assigning to or deleting a slice is not allowed")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and _is_str(node.left):
            raise refuse("printf-style '%' formatting is not available; use an f-string")
        elif isinstance(node, ast.Compare) and len(node.ops) > 1 and _has(node.comparators, ast.NamedExpr):
            raise refuse("':=' inside a chained comparison is not supported")


def _has(nodes: ast.AST | list[ast.expr], kind: type[ast.AST]) -> bool:
    roots = nodes if isinstance(nodes, list) else [nodes]
    return any(isinstance(n, kind) for root in roots for n in ast.walk(root))


def _is_str(node: ast.expr) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def _guard(name: str, *args: ast.expr) -> ast.Call:
    func = ast.Attribute(value=ast.Name(id="_g", ctx=ast.Load()), attr=name, ctx=ast.Load())
    return ast.Call(func=func, args=list(args), keywords=[])


def _cost(nodes: list[Any]) -> ast.Constant:
    count = sum(1 for root in nodes for _ in ast.walk(root))
    return ast.Constant(1 + count // LOOP_NODES_PER_STEP)


def _simple_key(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (str, int)


class _Rewriter(ast.NodeTransformer):
    """Route every data-dependent operation through ``_g`` (see ``workflow.sandbox_guards.Guards``)."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        code = ast.Constant(BINOPS.index(type(node.op).__name__))
        return ast.copy_location(_guard("binop", code, node.left, node.right), node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        code = ast.Constant(BINOPS.index(type(node.op).__name__) + INPLACE)
        target = node.target
        if isinstance(target, ast.Subscript):  # obj[key] op= value, with obj and key evaluated once
            call = _guard("augitem", code, target.value, target.slice, node.value)
            return ast.copy_location(ast.Expr(call), node)
        assert isinstance(target, ast.Name)
        value = _guard("binop", code, ast.Name(id=target.id, ctx=ast.Load()), node.value)
        return ast.copy_location(ast.Assign(targets=[target], value=value), node)

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        codes = [ast.Constant(CMPOPS.index(type(op).__name__)) for op in node.ops]
        if len(codes) == 1:
            return ast.copy_location(_guard("cmp", codes[0], node.left, node.comparators[0]), node)
        rest: list[ast.expr] = []
        for code, operand in zip(codes, node.comparators, strict=True):
            rest += [code, _thunk(operand)]
        return ast.copy_location(_guard("chain", node.left, *rest), node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        return ast.copy_location(_guard("attr", node.value, ast.Constant(node.attr)), node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        for kw in node.keywords:
            if kw.arg is None:
                kw.value = _guard("spread_map", kw.value)
        call = _guard("call", node.func, *node.args)
        call.keywords = node.keywords
        return ast.copy_location(call, node)

    def visit_Starred(self, node: ast.Starred) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load):
            node.value = _guard("spread", node.value)
        return node

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        self.generic_visit(node)
        if _has(node.targets, ast.Starred):  # a, *rest = value copies value
            node.value = _guard("spread", node.value)
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        self.generic_visit(node)
        part = node.slice
        if isinstance(part, ast.Slice):
            bounds = [b if b is not None else ast.Constant(None) for b in (part.lower, part.upper, part.step)]
            return ast.copy_location(_guard("sliced", node.value, *bounds), node)
        if not _simple_key(part):
            node.slice = _guard("key", part)
        return node

    def visit_Dict(self, node: ast.Dict) -> ast.AST:
        self.generic_visit(node)
        for i, key in enumerate(node.keys):
            if key is None:
                node.values[i] = _guard("spread_map", node.values[i])
            elif not _simple_key(key):
                node.keys[i] = _guard("key", key)
        return node

    def visit_Set(self, node: ast.Set) -> ast.AST:
        self.generic_visit(node)
        node.elts = [
            e if isinstance(e, ast.Starred) or _simple_key(e) else _guard("key", e) for e in node.elts
        ]
        return node

    def visit_ListComp(self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp) -> ast.AST:
        body = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        costs = [_cost([*body, *gen.ifs]) for gen in node.generators]
        self.generic_visit(node)
        for gen, cost in zip(node.generators, costs, strict=True):
            gen.iter = _guard("iter", gen.iter, cost)
        if isinstance(node, ast.DictComp):
            node.key = _guard("key", node.key)
        elif isinstance(node, ast.SetComp):
            node.elt = _guard("key", node.elt)
        return node

    visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_ListComp

    def visit_For(self, node: ast.For) -> ast.AST:
        cost = _cost(node.body)
        self.generic_visit(node)
        node.iter = _guard("iter", node.iter, cost)
        return node

    def visit_While(self, node: ast.While) -> ast.AST:
        cost = _cost([node.test, *node.body])
        self.generic_visit(node)
        node.test = ast.BoolOp(op=ast.And(), values=[_guard("tick", cost), node.test])
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        self.generic_visit(node)
        spec: ast.expr = node.format_spec if node.format_spec is not None else ast.Constant("")
        value = _guard("fmt", node.value, ast.Constant(node.conversion), spec)
        return ast.copy_location(ast.FormattedValue(value=value, conversion=-1, format_spec=None), node)


def _thunk(body: ast.expr) -> ast.Lambda:
    """``lambda: body`` (generated here only; user code may not write lambdas)."""
    no_args = ast.arguments(
        posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]
    )
    return ast.Lambda(args=no_args, body=body)


class SandboxEnvironment(BasePythonScriptEngineEnvironment):  # type: ignore[misc]
    """SpiffWorkflow's ``TaskDataEnvironment`` semantics, run through the sandbox.

    ``functions`` are the vetted helpers offered to expressions (trusted Python code); ``budget``
    is the step budget of one evaluation (see ``workflow.sandbox_guards``).
    """

    def __init__(
        self, functions: Mapping[str, Callable[..., Any]] | None = None, *, budget: int = DEFAULT_BUDGET
    ) -> None:
        vetted = dict(functions or {})
        bad = [n for n, f in vetted.items() if not n.isidentifier() or n[0] == "_" or n in FORBIDDEN_NAMES]
        if bad or not all(map(callable, vetted.values())):
            raise ValueError(
                f"vetted functions need plain public names and must be callable: {bad or vetted}"
            )
        if budget < 1:
            raise ValueError("the step budget must be positive")
        super().__init__(vetted)
        self.globals: dict[str, Callable[..., Any]] = vetted
        self.budget = budget

    def evaluate(
        self, expression: str, context: dict[str, Any], external_context: Mapping[str, Any] | None = None
    ) -> Any:
        """Evaluate an expression over task data (``external_context``: data objects, DMN input)."""
        code = _compiled(expression, "eval")
        self._refuse_shadowing(context, {})
        namespace = {**self.globals, **(external_context or {}), **context}
        result = self._run(code, expression, namespace)
        if type(result) in _DATA_RESULTS:  # it may be stored (a DMN output, a payload): refuse what would
            _refuse_non_data(result, expression, "the result", limits_only=True)  # explode when written out
        return result

    def execute(
        self, script: str, context: dict[str, Any], external_context: Mapping[str, Any] | None = None
    ) -> bool:
        """Run a script with task data as its namespace; on success ``context`` takes its variables.

        New and changed variables are kept; deleted ones are removed; functions, globals and
        ``external_context`` entries are not stored. On failure ``context`` is left as it was
        entirely.

        The script works on its own copy of the data: a task's values share their lists and dicts
        with the tasks before it (SpiffWorkflow copies data one level deep from task to task), so
        ``report["items"].append(x)`` on the task's own values would change those earlier tasks
        too, and a case run without a break would then differ from the same case restored from
        the database. (Cases started before this run scripts on the data itself, as they did:
        ``workflow.adapters.spiff.MERGE_MODE``.)
        """
        code = _compiled(script, "exec")
        external = dict(external_context or {})
        self._refuse_shadowing(context, external)
        own = context if library_merge() else {key: _detached(value) for key, value in context.items()}
        namespace = {**self.globals, **external, **own}
        self._run(code, script, namespace)
        result: dict[str, Any] = {}
        for key, value in namespace.items():
            if key in ("_g", "__builtins__") or key in self.globals or key in external or callable(value):
                continue
            if isinstance(value, _NOT_DATA):
                raise _expression_error(
                    f"variable '{key}' holds a {type(value).__name__}, which cannot be stored in task data; "
                    f"convert it with list()",
                    script,
                )
            result[key] = value
        _refuse_non_data(result, script, "")
        context.clear()
        context.update(result)
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        raise WorkflowFailed(
            "Service tasks do not run in the expression sandbox: the engine routes them to registered "
            "handlers. Route the service task to its handler before running the workflow step.",
            operation=kwargs.get("operation_name"),
        )

    def _refuse_shadowing(self, context: Mapping[str, Any], external: Mapping[str, Any]) -> None:
        clash = sorted(set(context).intersection(set(self.globals) | set(external)))
        if clash:
            reason = f"task data has variables named like functions or data objects: {', '.join(clash)}"
            raise _expression_error(reason + "; rename these form fields or variables", "", names=clash)

    def _run(self, code: CodeType, source: str, namespace: dict[str, Any]) -> Any:
        namespace["__builtins__"] = _BUILTINS
        namespace["_g"] = Guards(source, self.budget)
        try:
            return eval(code, namespace)  # noqa: S307 - checked and rewritten code, see the module docstring
        except ExpressionError as err:  # from a vetted function: say which expression called it
            if "expression" in err.details:
                raise
            raise _expression_error(err.message, source, _line(err, source), **err.details) from err
        except ShanyuError:
            raise
        except RecursionError as err:
            raise UnsafeExpression("nested too deeply", expression=source) from err
        except MemoryError as err:
            raise UnsafeExpression("ran out of memory: it needs more than this server has", expression=source) from err
        except NameError as err:
            names = sorted(k for k in namespace if not k.startswith("_") and k not in self.globals)
            shown = ", ".join(names[:20]) + (", …" if len(names) > 20 else "") if names else "(none)"
            reason = f"name '{err.name}' is not defined in the task data; available: {shown}"
            raise _expression_error(reason, source, _line(err, source)) from err
        except Exception as err:
            text = str(err) if len(str(err)) <= 300 else str(err)[:300] + "…"
            raise _expression_error(f"{type(err).__name__}: {text}", source, _line(err, source)) from err


def _detached(value: Any) -> Any:
    """A copy of a task data value that shares no list, dict or set with it."""
    kind = type(value)
    if kind is dict:
        return {key: _detached(item) for key, item in value.items()}
    if kind is list:
        return [_detached(item) for item in value]
    if kind in (str, int, float, bool) or value is None:
        return value
    return copy.deepcopy(value)


def _refuse_non_data(value: Any, source: str, what: str, *, limits_only: bool = False) -> None:
    """Task data holds JSON data only, within ``workflow.jsondata``'s limits; this walk is bounded
    by them too, so a value that would explode when written out is refused before it is. With
    ``limits_only`` (an expression's result, which often only decides a condition), values that
    are merely not JSON pass: the store refuses them by name if they ever get there."""
    found = jsondata.fault(value, also=_SANDBOX_VALUES)
    if found is None or (limits_only and not found.is_limit):
        return
    if what:
        label = f"{what} at {found.where}" if found.where else what
    else:
        label = f"variable {found.where}" if found.where else "the task data"
    reason = f"{label}: {found.reason}"
    if found.is_limit:
        raise UnsafeExpression(reason + "; task data is limited so that it can always be stored", expression=source)
    raise _expression_error(reason + "; task data holds JSON data only", source)


def _line(err: BaseException, source: str) -> int | None:
    lines = [f.lineno for f in traceback.extract_tb(err.__traceback__) if f.filename == FILENAME]
    return lines[-1] if lines and "\n" in source.strip() else None


def _expression_error(reason: str, source: str, line: int | None = None, task: str | None = None,
                      **details: Any) -> ExpressionError:  # fmt: skip
    """An ``ExpressionError`` worded like ``UnsafeExpression`` (reason, task, expression)."""
    where = (f" on line {line}" if line else "") + (f" in task '{task}'" if task else "")
    shown = source if len(source) <= 200 else source[:200] + "…"
    message = f"{reason}{where}: expression {shown!r}" if source else f"{reason}{where}"
    return ExpressionError(message, reason=reason, expression=source, line=line, task=task, **details)


class SandboxScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """A SpiffWorkflow script engine whose every path runs in a ``SandboxEnvironment``.

    Errors: ``evaluate``/``execute`` raise ``UnsafeExpression``/``ExpressionError`` carrying the
    task's name (and ``bpmn_id`` in ``details``), not SpiffWorkflow's ``WorkflowTaskException``.
    Two SpiffWorkflow paths wrap whatever they catch: DMN rule evaluation and business rule tasks
    raise ``WorkflowTaskException`` whose ``__context__`` chain holds our error; use
    ``find_sandbox_error`` to get it. Correlation keys and ad hoc completion conditions call the
    environment directly, so their errors carry no task name.
    """

    def __init__(self, environment: SandboxEnvironment | None = None) -> None:
        super().__init__(environment if environment is not None else SandboxEnvironment())

    @property
    def environment(self) -> SandboxEnvironment:
        return self._environment

    @environment.setter
    def environment(self, value: SandboxEnvironment) -> None:
        if not isinstance(value, SandboxEnvironment):  # anything else would run code unchecked
            raise TypeError(f"SandboxScriptEngine needs a SandboxEnvironment, not {type(value).__name__}")
        self._environment = value

    def validate(self, expression: str) -> None:
        """Raise ``SyntaxError`` if unparsable (DMN relies on that to add ``==``), else check safety."""
        ast.parse(expression.strip(), FILENAME, "eval")
        check_expression(expression)

    def evaluate(self, task: Any, expression: str, external_context: Mapping[str, Any] | None = None) -> Any:
        try:
            result = self.environment.evaluate(expression, task.data, external_context)
        except (UnsafeExpression, ExpressionError) as err:
            raise _with_task(err, task) from err
        spec = task.task_spec
        if (
            isinstance(result, int)
            and result > MAX_INSTANCES
            and expression == getattr(spec, "cardinality", None)
        ):
            reason = f"multi-instance cardinality {result:,} is more than the limit of {MAX_INSTANCES:,}"
            raise UnsafeExpression(reason, expression=expression, task=_task_name(task), bpmn_id=spec.bpmn_id)
        return result

    def execute(self, task: Any, script: str, external_context: Mapping[str, Any] | None = None) -> bool:
        try:
            return self.environment.execute(script, task.data, external_context)
        except (UnsafeExpression, ExpressionError) as err:
            raise _with_task(err, task) from err

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        try:
            return self.environment.call_service(task.data, **kwargs)
        except WorkflowFailed as err:
            raise WorkflowFailed(f"Service task '{_task_name(task)}': {err.message}", **err.details) from err


def _task_name(task: Any) -> str:
    spec = task.task_spec
    return str(getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None) or spec.name)


def _with_task(err: UnsafeExpression | ExpressionError, task: Any) -> ShanyuError:
    name, bpmn_id = _task_name(task), getattr(task.task_spec, "bpmn_id", None)
    details = {k: v for k, v in err.details.items() if k not in ("expression", "task", "reason", "bpmn_id")}
    if isinstance(err, UnsafeExpression):
        return UnsafeExpression(err.reason, expression=err.expression, task=name, bpmn_id=bpmn_id, **details)
    reason, source = err.details.get("reason", err.message), err.details.get("expression", "")
    line = details.pop("line", None)
    return _expression_error(reason, source, line, task=name, bpmn_id=bpmn_id, **details)


def find_sandbox_error(error: BaseException | None) -> UnsafeExpression | ExpressionError | None:
    """The sandbox error behind ``error`` (itself, or wrapped by SpiffWorkflow's DMN code), if any."""
    for _ in range(20):  # follows the chain a traceback would show
        if error is None or isinstance(error, (UnsafeExpression, ExpressionError)):
            return error
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    return None
