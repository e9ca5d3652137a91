"""Deployment bundles: the BPMN and DMN files of one process version, parsed, checked and hashed.

A ``Bundle`` is deployed and stored once, keyed by ``content_hash``; every instance pins one.
``parse_bundle`` is the deploy-time gate: each file goes through the hardened ``parse_xml``
(SpiffWorkflow never reads a file itself) and the BPMN/DMN schemas, every executable process becomes
SpiffWorkflow specs, and every expression and script the engine would evaluate gets the sandbox's
static check, so an unsafe diagram is refused on upload, not when a case reaches it. ``load_specs``
caches specs per (content hash, process id); cached specs are shared by workflows: read only.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent, ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS
from SpiffWorkflow.spiff.parser.process import SPIFF_XSD, SpiffBpmnParser

from workflow.errors import InvalidSpec, NotFound, ShanyuError
from workflow.flowdepth import MAX_SEQUENCE, longest_sequence
from workflow.forms import FORM_SUFFIX, forms_of
from workflow.sandbox import check_expression
from workflow.xmlsafe import DEFAULT_MAX_BYTES, decode_xml, parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
XML_SUFFIXES = (".bpmn", ".dmn")
SUFFIXES = (*XML_SUFFIXES, FORM_SUFFIX)  # forms (JSON Schema) travel with the diagrams
# SpiffWorkflow names its own start and end specs like this; a BPMN element with such an id
# would silently replace them and leave a process that cannot start.
RESERVED_IDS = frozenset({"Start", "End", "Root"})
SPEC_CACHE_SIZE = 64

Mode = Literal["eval", "exec"]
Specs = tuple[Any, dict[str, Any]]  # (BpmnProcessSpec, {subprocess id: BpmnProcessSpec})


def _content_hash(files: tuple[tuple[str, str], ...]) -> str:
    """sha256 over each name and UTF-8 text, length-prefixed so no two bundles encode alike."""
    digest = hashlib.sha256(b"shanyu-bundle-v1\n")
    for name, text in files:
        for part in (name.encode("utf-8"), text.encode("utf-8")):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True, eq=False)
class Bundle:
    """The deployment unit: file name → XML text, sorted by name, and the hash of exactly that.
    Two bundles are equal (and hash alike) when their content hashes are."""

    files: tuple[tuple[str, str], ...]
    content_hash: str

    def __post_init__(self) -> None:
        names = [name for name, _ in self.files]
        if names != sorted(set(names)):
            raise ValueError("bundle files must be sorted by name, without duplicates")
        if self.content_hash != _content_hash(self.files):
            raise ValueError("bundle content_hash does not match its files")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Bundle) and other.content_hash == self.content_hash

    def __hash__(self) -> int:
        return hash(self.content_hash)


def bundle_from_files(files: Mapping[str, bytes | str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> Bundle:
    """Make a bundle of named .bpmn/.dmn documents; the order given does not matter."""
    if not files:
        raise InvalidSpec("The bundle is empty: give at least one .bpmn file.")
    decoded = []
    for name, data in files.items():
        if not name.lower().endswith(SUFFIXES) or "\x00" in name:
            raise InvalidSpec(f"{name!r}: only .bpmn, .dmn and .json (form) files can be deployed.", file=name)
        if name.lower().endswith(FORM_SUFFIX):
            decoded.append((name, _decode_json(name, data, max_bytes)))
        else:
            decoded.append((name, decode_xml(data, filename=name, max_bytes=max_bytes)))
    ordered = tuple(sorted(decoded))
    return Bundle(files=ordered, content_hash=_content_hash(ordered))


def _decode_json(name: str, data: bytes | str, max_bytes: int) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise InvalidSpec(f"{name}: {len(raw)} bytes is larger than the limit of {max_bytes}.", file=name)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidSpec(f"{name}: a form file must be UTF-8 ({exc.reason} at byte {exc.start}).", file=name) from exc


def bundle_from_paths(paths: Iterable[Path], *, max_bytes: int = DEFAULT_MAX_BYTES) -> Bundle:
    """Make a bundle of files; a directory contributes its *.bpmn and *.dmn files, recursively,
    named by their path relative to it (so the hash does not depend on where it lies)."""
    collected: dict[str, bytes] = {}
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
            items = [(p.relative_to(path).as_posix(), p) for p in found]
        elif path.is_file():
            items = [(path.name, path)]
        else:
            raise InvalidSpec(f"{path}: no such file or directory.", file=str(path))
        for name, file in items:
            if name in collected:
                raise InvalidSpec(f"Two files would both be named {name!r} in the bundle.", file=name)
            collected[name] = file.read_bytes()
    return bundle_from_files(collected, max_bytes=max_bytes)


def connect_loop_merges(process_spec: Any) -> None:
    """Make each loop or multi-instance task merge the results of its instances when they
    complete, as SpiffWorkflow's serializer does when it restores a process spec.

    The parser leaves this connection out: SpiffWorkflow makes it on the task spec (shared by every
    case) the first time a running case creates an instance. A process that only loads a case from
    the database and then completes an instance (a CLI command, a web request) would otherwise
    complete it without merging, and the loop would wait for ever (tests/program/
    test_cycle__fresh_process.py). Idempotent.
    """
    for task_spec in process_spec.task_specs.values():
        if isinstance(task_spec, LoopTask):
            child_spec = process_spec.task_specs[task_spec.task_spec]
            if not child_spec.completed_event.is_connected(task_spec.merge_child):
                child_spec.completed_event.connect(task_spec.merge_child)


@dataclass(eq=False)
class ParsedBundle:
    """A bundle turned into SpiffWorkflow specs. ``documents`` maps file name → parsed root."""

    bundle: Bundle
    parser: Any  # SpiffBpmnParser, holding every file of the bundle
    process_ids: list[str]
    process_names: dict[str, str]
    documents: dict[str, Any]

    def get_specs(self, process_id: str) -> Specs:
        """The process spec and the specs of every subprocess and called process it needs."""
        if process_id not in self.process_ids:
            known = ", ".join(self.process_ids)
            raise NotFound(
                f"The bundle has no executable process {process_id!r}; it has {known}.", process=process_id
            )
        file = self.parser.get_process_parser(process_id).filename
        with _spiff_errors(self.documents, file):
            spec, subprocess_specs = self.parser.get_spec(process_id), self.parser.get_subprocess_specs(process_id)
        _own_lanes(self.documents, [spec, *subprocess_specs.values()])
        for process_spec in [spec, *subprocess_specs.values()]:
            connect_loop_merges(process_spec)
        return spec, subprocess_specs

    def lanes(self, process_id: str) -> list[str]:
        """Names of the process's lanes (its roles), in document order."""
        node = self.parser.get_process_parser(process_id).node
        names = (lane.get("name") for lane in node.iter(f"{{{BPMN_NS}}}lane"))
        return list(dict.fromkeys(name for name in names if name))


def _own_lanes(documents: dict[str, Any], process_specs: list[Any]) -> None:
    """Give every task the lane whose ``flowNodeRef`` lists it. SpiffWorkflow gives each task inside a
    subprocess the subprocess's lane when it has one, and a modeler puts a subprocess in a lane as
    soon as it is moved: the tasks of a stage that spans two lanes would silently change role."""
    by_file: dict[str, dict[str, str]] = {}
    for file, root in documents.items():
        refs = by_file[file] = {}
        for lane in root.iter(f"{{{BPMN_NS}}}lane"):
            for ref in lane.iterfind(f"{{{BPMN_NS}}}flowNodeRef"):
                if lane.get("name") and ref.text and ref.text.strip():
                    refs[ref.text.strip()] = lane.get("name")
    for process_spec in process_specs:
        refs = by_file.get(getattr(process_spec, "file", None) or "", {})
        for task_spec in process_spec.task_specs.values():
            lane = refs.get(getattr(task_spec, "bpmn_id", None) or "")
            if lane is not None:
                task_spec.lane = lane


_MISSING_PROCESS = re.compile(r"The process '([^']*)' was not found")
_CLARK_NAME = re.compile(r"\{(https?://[^}\s]+)\}")
_REF_ATTRIBUTES = ("sourceRef", "targetRef", "attachedToRef", "default", "processRef", "messageRef",
                   "signalRef", "errorRef", "escalationRef", "dataObjectRef", "dataStoreRef")  # fmt: skip
_REF_ELEMENTS = frozenset(f"{{{BPMN_NS}}}{name}" for name in ("sourceRef", "targetRef", "flowNodeRef"))


def _located(
    message: str, file: str | None, line: int | None, element: str | None, **more: Any
) -> InvalidSpec:
    """``InvalidSpec`` whose message starts with where: "file, line 7, element 'Task_1': …"."""
    where = [file, f"line {line}" if line else None, f"element '{element}'" if element else None]
    prefix = ", ".join(part for part in where if part)
    message = _CLARK_NAME.sub(lambda m: "bpmn:" if m[1] == BPMN_NS else "", message)  # {uri}tag → bpmn:tag
    message = f"{prefix}: {message}" if prefix else message
    return InvalidSpec(message, file=file, line=line, element=element, **more)


def _invalid(exc: ValidationException, documents: dict[str, Any], file: str | None) -> InvalidSpec:
    """An ``InvalidSpec`` for a SpiffWorkflow error, with the line or element it lacks looked up."""
    file, line, element, text = exc.file_name or file, exc.line_number or None, exc.id or None, exc.args[0]
    root = documents.get(file or "")
    if root is not None and element and not line:
        line = next((el.sourceline for el in root.xpath("//*[@id=$id]", id=element)), None)
    elif root is not None and line and not element:
        element = next((el.get("id") for el in root.iter() if el.sourceline == line and el.get("id")), None)
    missing = _MISSING_PROCESS.match(str(text))
    if missing and not element:  # SpiffWorkflow does not say which call activity wants it
        for name, doc in documents.items():
            for call in doc.xpath("//*[@calledElement=$id]", id=missing[1]):
                file, line, element = name, call.sourceline, call.get("id")
    return _located(str(text), file, line, element)


def _check_references(root: Any, file: str) -> None:
    """Every in-document reference must name an element of the document (SpiffWorkflow would
    otherwise fail later with a misleading message, or not at all until a case gets there)."""
    ids = set(root.xpath("//@id"))
    for element in root.iter(f"{{{BPMN_NS}}}*"):
        refs = [(name, element.get(name)) for name in _REF_ATTRIBUTES if element.get(name)]
        if element.tag in _REF_ELEMENTS and (element.text or "").strip():
            refs.append((etree.QName(element).localname, element.text.strip()))
        for name, ref in refs:
            if ref.rpartition(":")[2] not in ids:
                holder = (element if element.get("id") else element.getparent()).get("id")
                message = f"{name} refers to '{ref}', but the file has no element with that id."
                raise _located(message, file, element.sourceline, holder, missing=ref)
    for prop in root.iter(f"{{{SPIFF_NS}}}propertyId"):  # SpiffWorkflow pastes it into an XPath query
        if not re.fullmatch(r"[\w.-]+", prop.text or ""):
            raise _located(
                f"correlation property id {prop.text!r} is not a plain name.", file, prop.sourceline, None
            )


@contextmanager
def _spiff_errors(documents: dict[str, Any], file: str | None) -> Iterator[None]:
    """Turn whatever SpiffWorkflow raises while reading a document into an ``InvalidSpec``."""
    try:
        yield
    except ShanyuError:
        raise
    except ValidationException as exc:
        raise _invalid(exc, documents, file) from exc
    except Exception as exc:  # SpiffWorkflow's parsers raise KeyError, IndexError… on odd input
        message = f"SpiffWorkflow cannot read this document ({type(exc).__name__}: {exc})."
        raise _located(message, file, None, None) from exc


def parse_bundle(bundle: Bundle) -> ParsedBundle:
    """Parse, validate and statically check every file of ``bundle``; see the module docstring."""
    parser = SpiffBpmnParser(validator=BpmnValidator(imports={"spiffworkflow": SPIFF_XSD}))
    documents: dict[str, Any] = {}
    names: dict[str, str] = {}
    forms = forms_of(bundle.files)
    for file, text in bundle.files:
        if file in forms:
            continue
        root = documents[file] = parse_xml(text, filename=file)
        tag = etree.QName(root)
        with _spiff_errors(documents, file):
            if (tag.namespace, tag.localname) == (BPMN_NS, "definitions"):
                _check_reserved_ids(root, file)
                parser.add_bpmn_xml(root, filename=file)
                _check_references(root, file)
                _check_sequences(root, file)
                for process in root.iterchildren(f"{{{BPMN_NS}}}process"):
                    if process.get("isExecutable", "true") == "true":
                        names[process.get("id")] = process.get("name") or process.get("id")
            elif tag.namespace in DMN_SCHEMAS and tag.localname == "definitions":
                known = len(parser.dmn_parsers)
                parser.add_dmn_xml(root, filename=file)
                if len(parser.dmn_parsers) == known:
                    raise _located("its decision id is already used by another DMN file.", file, None, None)
            else:
                message = f"<{tag.localname}> in {tag.namespace} is neither BPMN 2.0 nor DMN 1.1-1.3."
                raise _located(message, file, root.sourceline, None)
    if not names:
        raise InvalidSpec("The bundle has no executable process (a bpmn:process with isExecutable='true').")
    parsed = ParsedBundle(bundle, parser, list(names), names, documents)
    for process_id in parsed.process_ids:
        parsed.get_specs(process_id)
    for dmn in parser.dmn_parsers.values():
        with _spiff_errors(documents, dmn.filename):
            dmn.parse()
    check_bundle_expressions(parsed)
    _check_forms(parsed, forms)
    _check_user_task_lanes(parsed)
    return parsed


def _check_sequences(root: Any, file: str) -> None:
    """SpiffWorkflow parses a sequence recursively: refuse one too long for it, naming the limit."""
    for process in root.iterchildren(f"{{{BPMN_NS}}}process"):
        depth, where = longest_sequence(process)
        if depth > MAX_SEQUENCE:
            line = next((el.sourceline for el in root.xpath("//*[@id=$id]", id=where)), None) if where else None
            raise _located(f"process '{process.get('id')}' has {depth} elements one after another (counting "
                           f"from a start event); at most {MAX_SEQUENCE} can be deployed. Move part of the "
                           "sequence into a call activity or a subprocess.", file, line, where,
                           limit=MAX_SEQUENCE)


def _check_user_task_lanes(parsed: ParsedBundle) -> None:
    """Every user task must lie in a lane: the lane names the role whose members may claim it. A
    task outside every lane would have no owner (claimable by anyone, or by no one)."""
    for process_id in parsed.process_ids:
        spec, subprocess_specs = parsed.get_specs(process_id)
        for sp in [spec, *subprocess_specs.values()]:
            for ts in sp.task_specs.values():
                if isinstance(ts, UserTask) and not getattr(ts, "lane", None):
                    file = getattr(sp, "file", None)
                    root = parsed.documents.get(file or "")
                    line = next((el.sourceline for el in root.xpath("//*[@id=$id]", id=ts.bpmn_id)), None) \
                        if root is not None else None
                    lanes = ", ".join(parsed.lanes(process_id)) or "none yet"
                    raise _located(f"user task '{ts.bpmn_name or ts.bpmn_id}' ({ts.bpmn_id}) of process "
                                   f"'{process_id}' is outside every lane. Put it in the lane of the role that "
                                   f"does it (the process's lanes: {lanes}); a lane's name is the role whose users "
                                   "may claim its tasks.", file, line, ts.bpmn_id, task=ts.bpmn_id)


def _check_reserved_ids(root: Any, file: str) -> None:
    for element in root.iter():
        if isinstance(element.tag, str) and element.get("id") in RESERVED_IDS:
            raise _located(f"the id '{element.get('id')}' is reserved by the engine; rename the element "
                           f"(for example to '{element.get('id')}Event_1').", file, element.sourceline, element.get("id"))


def _check_forms(parsed: ParsedBundle, forms: dict[str, Any]) -> None:
    """Every user task that names a form must find it in the bundle."""
    for process_id in parsed.process_ids:
        spec, subprocess_specs = parsed.get_specs(process_id)
        for sp in [spec, *subprocess_specs.values()]:
            for ts in sp.task_specs.values():
                props = (getattr(ts, "extensions", None) or {}).get("properties") or {}
                form = props.get("form") or props.get("formJsonSchemaFilename")
                if form and form not in forms:
                    known = ", ".join(sorted(forms)) or "none"
                    raise InvalidSpec(f"Task '{ts.bpmn_name or ts.bpmn_id}' ({ts.bpmn_id}) uses form '{form}', "
                                      f"which is not in the deployment (forms deployed: {known}). Deploy the "
                                      "folder that holds both the diagram and its forms/.", task=ts.bpmn_id, form=form)


_TASK_EXPRESSIONS: tuple[tuple[str, str, Mode], ...] = (
    ("script", "script", "exec"), ("prescript", "pre-script", "exec"), ("postscript", "post-script", "exec"),
    ("cardinality", "loop cardinality", "eval"), ("condition", "loop condition", "eval"),
)  # fmt: skip
# SpiffWorkflow's DMN engine: a '?' outside quotes stands for the input value.
_DMN_QUESTION_MARK = re.compile(r"""\?(?=(?:[^'"]|['"][^'"]*['"])*$)""")


def _label(task_spec: Any) -> str:
    bpmn_id = getattr(task_spec, "bpmn_id", None) or task_spec.name
    name = getattr(task_spec, "bpmn_name", None)
    return f"{name} [{bpmn_id}]" if name else str(bpmn_id)


def _event_expressions(event: Any) -> Iterator[tuple[str, str]]:
    part = {TimerEventDefinition: "timer", ConditionalEventDefinition: "condition"}
    kind = next((label for cls, label in part.items() if isinstance(event, cls)), "payload")
    if isinstance(getattr(event, "expression", None), str):
        yield f"{kind} expression", event.expression
    for prop in [*getattr(event, "correlation_properties", []), *getattr(event, "process_correlations", [])]:
        if isinstance(prop.retrieval_expression, str):
            yield f"correlation property {prop.name}", prop.retrieval_expression
    for inner in getattr(event, "event_definitions", []):
        yield from _event_expressions(inner)


def _flow_label(parsed: ParsedBundle, process: Any, gateway: Any, condition: str, target: str) -> str:
    process_parser = parsed.parser.get_process_parser(process.name)
    for flow in process_parser.get_outgoing_sequence_flows(gateway.bpmn_id) if process_parser else []:
        if process_parser.parse_condition(flow) == condition:
            name = f"{flow.get('name')} [{flow.get('id')}]" if flow.get("name") else flow.get("id")
            return f"sequence flow {name} from {_label(gateway)}"
    return f"{_label(gateway)} condition towards {target}"


def _process_expressions(parsed: ParsedBundle, process: Any) -> Iterator[tuple[str, str, Mode]]:
    if isinstance(getattr(process, "completion_condition", None), str):
        yield f"ad hoc subprocess {process.name} completion condition", process.completion_condition, "eval"
    for task_spec in process.task_specs.values():
        label = _label(task_spec)
        for attr, part, mode in _TASK_EXPRESSIONS:
            source = getattr(task_spec, attr, None)
            if isinstance(source, str) and (mode == "eval" or source.strip()):
                yield f"{label} {part}", source, mode
        for condition, target in getattr(task_spec, "cond_task_specs", None) or []:
            if condition is not None:
                source = condition.args[0]
                yield _flow_label(parsed, process, task_spec, source, target), source, "eval"
        params = getattr(task_spec, "operation_params", None)
        for name, param in params.items() if isinstance(params, Mapping) else []:
            if isinstance(param, Mapping) and isinstance(param.get("value"), str):
                yield f"{label} parameter {name}", param["value"], "eval"
        event = getattr(task_spec, "event_definition", None)
        if event is not None:
            for part, source in _event_expressions(event):
                yield f"{label} {part}", source, "eval"


def dmn_input_test(input_expression: str, entry: str) -> str:
    """The Python expression SpiffWorkflow's DMN engine evaluates for one input entry cell:
    ``?`` stands for the input value; a cell that parses on its own is compared with ``==``;
    otherwise (``> 80``) it is appended to the input expression as it is (so ``in (1, 2)`` gives
    ``scorein (1, 2)``; write ``? in (1, 2)``)."""
    replaced = _DMN_QUESTION_MARK.sub("dmninputexpr", entry)
    if "dmninputexpr" in replaced:
        return replaced
    try:
        ast.parse(entry)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return input_expression + entry
    return f"({input_expression}) == ({entry})"


def _decision_expressions(dmn: Any) -> Iterator[tuple[str, str]]:
    decision = dmn.decision
    where = f"decision {decision.name} [{decision.id}]" if decision.name else f"decision {decision.id}"
    for table in decision.decisionTables:
        yield from ((f"{where} input {i.label or i.id}", i.expression) for i in table.inputs if i.expression)
        for rule in table.rules:
            for entry in rule.inputEntries:  # no input expression: the engine compares with a repr()
                column, test = entry.input, entry.input.expression or "dmn_input"
                for cell in (cell for cell in entry.lhs if cell and cell.strip()):
                    yield (
                        f"{where} rule {rule.row_number} input {column.label or column.id}",
                        dmn_input_test(test, cell),
                    )
            for entry in (entry for entry in rule.outputEntries if entry.text):
                yield (
                    f"{where} rule {rule.row_number} output {entry.output.name or entry.output.label}",
                    entry.text,
                )


def check_bundle_expressions(parsed: ParsedBundle) -> None:
    """Statically check, with the sandbox, every expression and script the engine would run:
    gateway conditions, scripts and pre/post-scripts, loop and multi-instance expressions, timer,
    conditional-event and payload expressions, message correlations, service task parameters, and
    every DMN input expression and cell. Raises ``UnsafeExpression`` naming file and element."""
    seen: set[str] = set()
    for process_id in parsed.process_ids:
        spec, subprocesses = parsed.get_specs(process_id)
        for process in (spec, *subprocesses.values()):
            if process is None or process.name in seen:
                continue
            seen.add(process.name)
            for where, source, mode in _process_expressions(parsed, process):
                check_expression(source, mode=mode, task=f"{process.file}: {where}")
    for dmn in parsed.parser.dmn_parsers.values():
        for where, source in _decision_expressions(dmn):
            check_expression(source, mode="eval", task=f"{dmn.filename}: {where}")


_TIMER_KINDS = {"DurationTimerEventDefinition": "duration", "TimeDateEventDefinition": "date",
                "CycleTimerEventDefinition": "cycle"}  # fmt: skip


def describe_bundle(parsed: ParsedBundle) -> list[dict[str, Any]]:
    """Per process: id, name, file, lanes, user tasks, timers and messages caught/thrown, each
    with bpmn id, name and lane, in document order. Embedded subprocesses count as their process's."""
    described = []
    for process_id in parsed.process_ids:
        spec, subprocesses = parsed.get_specs(process_id)
        own = [spec, *(sp for name, sp in subprocesses.items() if name not in parsed.process_ids)]
        order = {el.get("id"): n for n, el in enumerate(parsed.documents[spec.file].iter()) if el.get("id")}
        visible = {ts.name: ts for sp in own for ts in sp.task_specs.values() if getattr(ts, "bpmn_id", None)}
        entry: dict[str, Any] = {"id": process_id, "name": parsed.process_names[process_id], "file": spec.file,
                                 "lanes": parsed.lanes(process_id), "user_tasks": [], "timers": [],
                                 "messages_caught": [], "messages_thrown": []}  # fmt: skip
        for ts in sorted(visible.values(), key=lambda ts: order.get(ts.bpmn_id, len(order))):
            base = {"id": ts.bpmn_id, "name": ts.bpmn_name, "lane": ts.lane}
            if isinstance(ts, UserTask):
                entry["user_tasks"].append(base)
            event = getattr(ts, "event_definition", None)
            for inner in [event, *getattr(event, "event_definitions", [])]:
                if isinstance(inner, TimerEventDefinition):
                    kind = _TIMER_KINDS.get(type(inner).__name__, "timer")
                    entry["timers"].append({**base, "kind": kind, "expression": inner.expression})
                elif isinstance(inner, MessageEventDefinition) and isinstance(ts, CatchingEvent):
                    entry["messages_caught"].append({**base, "message": inner.name})
                elif isinstance(inner, MessageEventDefinition) and isinstance(ts, ThrowingEvent):
                    entry["messages_thrown"].append({**base, "message": inner.name})
        described.append(entry)
    return described


@functools.lru_cache(maxsize=SPEC_CACHE_SIZE)
def load_specs(bundle: Bundle, process_id: str) -> Specs:
    """The specs of one process of a deployed bundle. Cached per (content hash, process id), so
    that loading a case does not parse (and check) its diagrams again; clear with
    ``load_specs.cache_clear()``."""
    return parse_bundle(bundle).get_specs(process_id)
