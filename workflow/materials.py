"""Materials: the files a case's forms refer to (申报材料, 自评报告, 审核报告 …), stored in the database.

The store's contract, for the CLI (``shanyu material add``) and the web upload alike:

- ``add(session, case, data, filename, actor, now)`` stores ``data`` as a material of case ``case``
  and returns its id (``m-`` and 20 hex digits). The actor must be a writer allowed to act in the
  case's district (``Actor.may_act_in``), the case must be running, the size must be within
  ``max_bytes()`` and the content must sniff as an accepted type (``sniff``; the file's name is
  never trusted for the type). Adding the same bytes under the same name to the same case again
  returns the first id and stores nothing. Runs in the caller's write transaction, like an engine
  command: when the caller rolls back (a failed completion, say), nothing is half-stored.
- ``get(session, id, actor)`` → ``MaterialInfo`` and ``read(session, id, actor)`` → ``(info, bytes)``
  for users who may see the case (district users: their district's cases only). A material that
  does not exist and one that may not be seen give the same ``NotFound``, so ids cannot be probed.
- ``check_uploads(session, case, schema, data)``: the engine's check behind every form field with
  an ``upload`` widget: each id must name a material of *that* case. It returns
  ``[{"field", "id", "sha256"}]``, which the engine records in the completion's history event, so
  that the hash chain pins the exact bytes each decision was taken on.

**Why in the database, not on disk.** The bytes are content-addressed (``material_blob``, keyed by
SHA-256, stored once however many cases and names refer to them) in the same database as the
cases: a material and the completion that refers to it commit or roll back together, every web
process and every host sees the same store without a shared file system, and one backup (or
``pg_dump``) holds cases and materials alike. The size limit keeps rows small enough for both
SQLite and PostgreSQL (``bytea``).

**Size limit** (本地设定, a local setting: the programme's notice names no number):
``SHANYU_MATERIAL_MAX_BYTES``, default 20 MiB. ``max_bytes()`` reads it; a caller that knows the
size before reading the bytes (a file's size, a request's ``Content-Length``) refuses with
``too_large(name, size, limit)``, the same error ``add`` raises (``MaterialTooLarge``, HTTP 413;
a refused type is ``MaterialTypeRefused``, HTTP 415).
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from .errors import InvalidData, MaterialTooLarge, MaterialTypeRefused, NotFound, PermissionDenied
from .store import Base, Instance, UTCDateTime, table_of
from .users import Actor

MAX_BYTES_ENV = "SHANYU_MATERIAL_MAX_BYTES"
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
ID_PREFIX = "m-"
UPLOAD_WIDGETS = ("upload", "upload-many")

# media type → what a person calls it; the order is the order the refusal message lists them in
ACCEPTED = {
    "application/pdf": "PDF",
    "application/ofd": "OFD (版式文档)",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word (.docx)",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel (.xlsx)",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint (.pptx)",
    "text/plain; charset=utf-8": "plain text (UTF-8)",
}
# a ZIP entry that says which OOXML/OFD document it is
_ZIP_MARKERS = (
    ("word/document.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("ppt/presentation.xml", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    ("OFD.xml", "application/ofd"),
)
_TEXT_CONTROLS = frozenset(range(32)) - {9, 10, 12, 13}  # tab, newline, form feed, carriage return


class MaterialBlob(Base):
    """The bytes of materials, stored once per content (SHA-256)."""

    __tablename__ = "material_blob"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Material(Base):
    """One file added to one case: who added it, when, under which name, and which bytes."""

    __tablename__ = "material"
    __table_args__ = (UniqueConstraint("instance_id", "sha256", "filename", name="uq_material_case_content"),)
    id: Mapped[str] = mapped_column(String(66), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("material_blob.sha256"))
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(100))
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class MaterialInfo:
    id: str
    instance_id: int
    filename: str
    size: int
    sha256: str
    media_type: str
    uploaded_by: str
    uploaded_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "instance_id": self.instance_id, "filename": self.filename, "size": self.size,
                "sha256": self.sha256, "media_type": self.media_type, "uploaded_by": self.uploaded_by,
                "uploaded_at": self.uploaded_at.isoformat()}

    @classmethod
    def of(cls, row: Material) -> MaterialInfo:
        return cls(row.id, row.instance_id, row.filename, row.size, row.sha256, row.media_type, row.uploaded_by,
                   row.uploaded_at)


def max_bytes(explicit: int | None = None) -> int:
    """``explicit``, else ``SHANYU_MATERIAL_MAX_BYTES``, else 20 MiB."""
    if explicit is not None:
        return explicit
    text = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_BYTES
    try:
        value = int(text)
    except ValueError:
        raise InvalidData(f"{MAX_BYTES_ENV} must be a whole number of bytes, not {text!r}.") from None
    if value < 1:
        raise InvalidData(f"{MAX_BYTES_ENV} must be at least 1, not {value}.")
    return value


def _refuse(filename: str, what: str) -> MaterialTypeRefused:
    accepted = ", ".join(ACCEPTED.values())
    return MaterialTypeRefused(f"{filename}: {what}, which is not accepted as a material. Accepted: {accepted}. "
                               "Convert the file (e.g. save it as PDF) and add it again.", filename=filename)


def sniff(data: bytes, filename: str = "the file") -> str:
    """The media type of ``data`` from its content; ``MaterialTypeRefused`` for anything else."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"PK\x03\x04"):
        return _zip_type(data, filename)
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise _refuse(filename, "it is a legacy Office file (.doc/.xls/.ppt, which can carry macros)")
    if _is_text(data):
        return "text/plain; charset=utf-8"
    raise _refuse(filename, "its content is of an unknown binary type")


def _zip_type(data: bytes, filename: str) -> str:
    """OOXML and OFD documents are ZIP archives; only the directory is read, nothing is unpacked."""
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        raise _refuse(filename, "it is a damaged ZIP archive") from None
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise _refuse(filename, "it is an Office document with macros")
    for marker, media_type in _ZIP_MARKERS:
        if marker in names:
            return media_type
    raise _refuse(filename, "it is a ZIP archive, not an Office or OFD document")


def _is_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return not any(ord(c) in _TEXT_CONTROLS for c in text)


def clean_filename(filename: str) -> str:
    """The last part of a path, without control characters, at most 255 characters."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip()
    return name[:255] or "material"


def _case(session: Session, case: int) -> tuple[str, str | None]:
    row = session.execute(select(Instance.status, Instance.district).where(Instance.id == case)).first()
    if row is None:
        raise NotFound(f"There is no case {case}.", instance_id=case)
    return row[0], row[1]


def add(session: Session, case: int, data: bytes, filename: str, actor: Actor, now: datetime, *,
        limit: int | None = None) -> str:
    """Store ``data`` as a material of ``case``; returns its id. See the module's contract."""
    actor.require_writer()
    status, district = _case(session, case)
    if not actor.may_act_in(district):
        where = f"district {district}" if district else "no district (a municipal case)"
        raise PermissionDenied(f"The {actor.describe()} may not add materials to case {case}, which has {where}: "
                               "district staff add materials to cases of their own district only.",
                               instance_id=case)
    if status != "running":
        raise InvalidData(f"Case {case} is {status}: materials are added to running cases only.", instance_id=case)
    name = clean_filename(filename)
    allowed = max_bytes(limit)
    if len(data) > allowed:
        raise too_large(name, len(data), allowed)
    if not data:
        raise InvalidData(f"{name} is empty; there is nothing to store.", filename=name)
    media_type = sniff(data, name)
    digest = hashlib.sha256(data).hexdigest()
    _insert_ignoring_conflict(session, MaterialBlob, sha256=digest, size=len(data), body=data, created_at=now)
    # a concurrent add of the same file under the same name to the same case keeps the row it made
    _insert_ignoring_conflict(session, Material, id=ID_PREFIX + secrets.token_hex(10), instance_id=case,
                              sha256=digest, filename=name, size=len(data), media_type=media_type,
                              uploaded_by=actor.name, uploaded_at=now)
    found: str = session.execute(select(Material.id).where(
        Material.instance_id == case, Material.sha256 == digest, Material.filename == name)).scalar_one()
    return found


def _insert_ignoring_conflict(session: Session, model: type[Base], **values: Any) -> None:
    """Insert a row unless one with the same key is there: the bytes may be stored already (another
    case's material, or a concurrent add of the same bytes), and so may the material itself."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(table_of(model)).values(**values).on_conflict_do_nothing())


def too_large(filename: str, size: int, limit: int) -> MaterialTooLarge:
    """The refusal of a file of ``size`` bytes; for callers that check a size before reading the
    bytes (the CLI from the file's size, the web from the request's length)."""
    return MaterialTooLarge(f"{filename} is {_size_text(size)}; a material may be at most {_size_text(limit)} "
                            f"(setting {MAX_BYTES_ENV}, 本地设定 a local setting). Split or compress it and add "
                            "it again.", size=size, limit=limit, filename=filename)


def _size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MiB ({size} bytes)"
    return f"{size} bytes"


def get(session: Session, material_id: str, actor: Actor) -> MaterialInfo:
    """A material's record, for a user who may see its case."""
    found = session.execute(select(Material, Instance.district).join(Instance, Instance.id == Material.instance_id)
                            .where(Material.id == material_id)).first()
    if found is None or not actor.may_act_in(found[1]):
        raise NotFound(f"There is no material {material_id!r} that user '{actor.name}' may see.")
    return MaterialInfo.of(found[0])


def read(session: Session, material_id: str, actor: Actor) -> tuple[MaterialInfo, bytes]:
    """A material's record and bytes, for a user who may see its case."""
    info = get(session, material_id, actor)
    body = session.execute(select(MaterialBlob.body).where(MaterialBlob.sha256 == info.sha256)).scalar_one()
    return info, bytes(body)


def of_case(session: Session, case: int) -> list[MaterialInfo]:
    """The materials of one case, oldest first (the caller has checked who may see the case)."""
    rows = session.execute(select(Material).where(Material.instance_id == case)
                           .order_by(Material.uploaded_at, Material.id)).scalars()
    return [MaterialInfo.of(row) for row in rows]


def upload_fields(schema: Mapping[str, Any]) -> list[str]:
    """The top-level fields of a form whose widget is an upload: ``x-ui.widget`` on the field, or
    the form's ``x-ui.widgets`` map."""
    widgets = (schema.get("x-ui") or {}).get("widgets") or {}
    found = []
    for key, field in (schema.get("properties") or {}).items():
        widget = ((field.get("x-ui") or {}).get("widget") if isinstance(field, Mapping) else None) or widgets.get(key)
        if widget in UPLOAD_WIDGETS:
            found.append(key)
    return found


def _ids(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def check_uploads(session: Session, case: int | None, schema: Mapping[str, Any], data: Mapping[str, Any], *,
                  form: str = "") -> list[dict[str, str]]:
    """Every id in an upload field of ``data`` must be a material of ``case`` (``None``: a case
    being started, which has none yet). Returns the ids with their hashes, field by field;
    ``InvalidData`` lists each field at fault once."""
    fields = [(key, _ids(data[key])) for key in upload_fields(schema) if key in data]
    wanted = sorted({i for _key, ids in fields for i in ids})
    known: dict[str, str] = {}
    if wanted and case is not None:
        known = {material_id: digest for material_id, digest in session.execute(
            select(Material.id, Material.sha256).where(Material.instance_id == case, Material.id.in_(wanted)))}
    problems, found = [], []
    for key, ids in fields:
        missing = [i for i in ids if i not in known]
        if missing:
            label = str((schema.get("properties") or {}).get(key, {}).get("title") or key)
            where = f"case {case}" if case is not None else "a case that is being started"
            problems.append({"field": key, "label": label,
                             "message": f"材料不存在或不属于本案 no material {', '.join(missing)} in {where}; add the file "
                                        f"with `shanyu material add FILE --case N` and use the id it prints"})
        found += [{"field": key, "id": i, "sha256": known[i]} for i in ids if i in known]
    if problems:
        title = schema.get("title") or form or "form"
        lines = "\n".join(f"- {p['label']} ({p['field']}): {p['message']}" for p in problems)
        raise InvalidData(f"The data does not fit the form {title}: {len(problems)} field(s) name materials that "
                          f"are not in the case. Nothing was saved.\n{lines}", form=form, errors=problems)
    return found
