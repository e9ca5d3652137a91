"""Hardened XML parsing for uploaded BPMN and DMN.

Uploading BPMN is deploying code, so an upload is read as plain data and nothing else: no DOCTYPE
(internal or external subset), no entity declarations or references (beyond the five predefined
ones and character references), no XInclude, no ``xml-stylesheet`` processing instruction, and
nothing bigger than ``max_bytes``. Every refusal is an ``UnsafeXml`` naming the file and what was
found; it happens before anything is expanded, and nothing outside the upload is ever read.

Three layers, each sufficient on its own for the DOCTYPE/entity attacks:

1. Python decodes the bytes (BOM, byte layout, then the declared encoding) and the decoded text is
   searched for ``<!DOCTYPE`` / ``<!ENTITY``. The text is handed to libxml2 re-encoded as UTF-8
   with the encoding forced, so libxml2 parses exactly the text that was checked (an upload
   cannot hide a DOCTYPE behind an encoding only libxml2 would apply).
2. The lxml parser neither loads DTDs nor resolves entities nor touches the network, and its
   resolver refuses every external resource should libxml2 ever ask for one.
3. The parsed tree is checked again (doctype, entity nodes, XInclude, stylesheet PIs).
"""

from __future__ import annotations

import codecs
import re
from typing import Any

from lxml import etree

from workflow.errors import InvalidSpec, UnsafeXml

DEFAULT_MAX_BYTES = 5_000_000
XINCLUDE_NS = "http://www.w3.org/2001/XInclude"

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_LAYOUTS: tuple[tuple[bytes, str], ...] = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z][A-Za-z0-9._:-]*)["']""")
_MARKUP_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_POSITION_SUFFIX = re.compile(r", line \d+, column \d+$")
# libxml2 errors that mean "an entity was used" (not a stray '&', which is ERR_ENTITYREF_*).
_ENTITY_ERRORS = frozenset(
    getattr(etree.ErrorTypes, name)
    for name in dir(etree.ErrorTypes)
    if "ENTITY" in name and "ENTITYREF" not in name
)


class _RefuseAll(etree.Resolver):  # type: ignore[misc]
    """Refuses every external resource (DTD, entity, XInclude) libxml2 might ask lxml for."""

    def __init__(self, filename: str) -> None:
        super().__init__()
        self.filename = filename

    def resolve(self, url: str, pubid: str | None, context: Any) -> Any:
        raise UnsafeXml(
            f"{self.filename}: the document asks to load {url!r}; uploads may not refer to other files "
            f"or network resources.",
            file=self.filename,
            found="external resource",
        )


def _parser(filename: str) -> Any:
    parser = etree.XMLParser(
        encoding="utf-8",  # we hand over UTF-8 we decoded ourselves; any declaration is overridden
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        remove_pis=False,  # kept so that stylesheet PIs can be seen and refused
        remove_comments=False,
    )
    parser.resolvers.add(_RefuseAll(filename))
    return parser


def _too_big(size: int, max_bytes: int, filename: str) -> UnsafeXml:
    return UnsafeXml(
        f"{filename}: the upload is {size:,} bytes; at most {max_bytes:,} bytes are accepted.",
        file=filename,
        found="oversized upload",
        size=size,
        max_bytes=max_bytes,
    )


def _encoding_of(raw: bytes) -> str:
    """The Python codec to decode ``raw`` with: BOM, then byte layout, then declaration, then UTF-8."""
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            return codec
    for prefix, codec in _LAYOUTS:
        if raw.startswith(prefix):
            return codec
    match = _DECLARED_ENCODING.match(raw[:1024])
    if match is None:
        return "utf-8"
    declared = match.group(1).decode("ascii")
    try:
        name = codecs.lookup(declared).name
    except LookupError:
        return declared  # decoding will fail with a clear message
    # A declaration of UTF-16/32 in an ASCII-compatible layout is a lie; read the bytes as they are.
    return "utf-8" if name.startswith(("utf-16", "utf-32")) else name


def decode_xml(data: bytes | str, *, filename: str = "<upload>", max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Decode an upload to text (BOM stripped) the way ``parse_xml`` will read it. Checks only size."""
    if isinstance(data, str):
        data = data.encode("utf-8", errors="surrogatepass")
        codec = "utf-8"
    else:
        codec = _encoding_of(data)
    if len(data) > max_bytes:
        raise _too_big(len(data), max_bytes, filename)
    try:
        text = data.decode(codec)
    except LookupError:
        raise InvalidSpec(
            f"{filename}: unknown text encoding {codec!r}; save the file as UTF-8.", file=filename
        ) from None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidSpec(
            f"{filename}: the file is not valid {codec} text (byte {exc.start}, near line {line}); "
            f"save it as UTF-8.",
            file=filename,
            line=line,
        ) from None
    return text.removeprefix("\ufeff")


def _refuse_declarations(text: str, filename: str) -> None:
    match = _MARKUP_DECLARATION.search(text)
    if match is not None:
        kind = match.group(1).upper()
        line = text.count("\n", 0, match.start()) + 1
        raise UnsafeXml(
            f"{filename}, line {line}: the document contains a <!{kind} …> declaration. Uploads may not "
            f"use DOCTYPE or entity declarations; remove it (BPMN and DMN files never need one).",
            file=filename,
            line=line,
            found=kind,
        )


def _refuse_tree(root: Any, filename: str) -> None:
    tree = root.getroottree()
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXml(f"{filename}: the document has a DOCTYPE; remove it.", file=filename, found="DOCTYPE")
    for entity in root.iter(etree.Entity):
        raise UnsafeXml(
            f"{filename}, line {entity.sourceline}: the document refers to the entity {entity.text}; "
            f"uploads may not use entities.",
            file=filename,
            line=entity.sourceline,
            found="entity reference",
        )
    for element in root.iter(f"{{{XINCLUDE_NS}}}*"):
        raise UnsafeXml(
            f"{filename}, line {element.sourceline}: the document uses XInclude "
            f"(<{etree.QName(element).localname}>); uploads may not include other files.",
            file=filename,
            line=element.sourceline,
            found="XInclude",
        )
    pis = [*root.itersiblings(preceding=True), *root.itersiblings(), *root.iter(etree.PI)]
    for pi in pis:
        if isinstance(pi, etree._ProcessingInstruction) and pi.target.lower() == "xml-stylesheet":
            raise UnsafeXml(
                f"{filename}, line {pi.sourceline}: the document has an xml-stylesheet processing "
                f"instruction; remove it.",
                file=filename,
                line=pi.sourceline,
                found="xml-stylesheet",
            )


def parse_xml(
    data: bytes | str, *, filename: str = "<upload>", max_bytes: int = DEFAULT_MAX_BYTES
) -> etree._Element:
    """Parse an uploaded BPMN/DMN document into its root element, refusing anything unsafe.

    Raises ``UnsafeXml`` for a DOCTYPE, entity declaration or reference, XInclude, xml-stylesheet
    PI or an upload over ``max_bytes``; ``InvalidSpec`` (with line and column) for text that is not
    well-formed XML.
    """
    text = decode_xml(data, filename=filename, max_bytes=max_bytes)
    _refuse_declarations(text, filename)
    if not text.strip():
        raise InvalidSpec(f"{filename}: the file is empty.", file=filename)
    try:
        root = etree.fromstring(text.encode("utf-8"), _parser(filename))
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        reason = _POSITION_SUFFIX.sub("", exc.msg)
        error: type[InvalidSpec] = UnsafeXml
        if exc.code in _ENTITY_ERRORS:
            what = "uses an entity, which uploads may not"
        elif exc.code == etree.ErrorTypes.ERR_RESOURCE_LIMIT:
            what = "exceeds the parser's resource limits"
        else:
            error, what = InvalidSpec, "is not well-formed XML"
        raise error(
            f"{filename}, line {line}, column {column}: the document {what}: {reason}",
            file=filename,
            line=line,
            column=column,
        ) from None
    _refuse_tree(root, filename)
    return root
