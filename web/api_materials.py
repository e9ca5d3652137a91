"""Materials through the JSON API: upload a file for a task's upload field, read a material back.

``POST /api/tasks/{id}/materials`` (``multipart/form-data``: ``field``, the form's upload field, and
``file``) stores the file through the material store (``workflow.materials.add``), as the task page
does, and answers the material's id; the client then completes the task with that id in the field
(``POST /api/tasks/{id}/complete``), which the engine checks names a material of the task's case.
Only the task's holder uploads (the page shows its upload fields to the holder only); the size
limit, the type sniffed from the content and the messages are the store's, so the page and the
API refuse a file alike: 413 too large, 415 a type not accepted, 422 empty or not an upload field
of the form, 403 an auditor, 404 a task the caller may not see, 409 a task someone else holds, or
nobody, or no longer ready. The file is stored in the request's own transaction: a refused upload
stores nothing.

``GET /api/materials/{id}`` answers a material's bytes to users who may see its case, with the
headers of the page's ``/materials/ID``; any other id, and one the caller may not see, is 404.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

from apiflask import Schema
from apiflask.fields import File, Integer, String
from apiflask.validators import Length
from flask import Response, g
from flask.typing import ResponseReturnValue

from web.api import ERRORS, _as_conflict, _services, _visible_task, bp
from web.api_auth import actor_in, auth
from workflow import materials
from workflow.errors import InvalidData, PermissionDenied, TaskNotReady
from workflow.store import Instance

INLINE = ("application/pdf", "image/png", "image/jpeg")


class MaterialIn(Schema):
    field = String(required=True, validate=Length(1, 200),
                   metadata={"description": "the form's field with an upload widget the file is for"})
    file = File(required=True, metadata={"description": "the file; its type is sniffed from the content"})


class MaterialOut(Schema):
    id = String(required=True, metadata={"example": "m-0123456789abcdef0123",
                                         "description": "put this id in the field's value when completing"})
    sha256 = String(required=True)
    size = Integer(required=True)
    media_type = String(required=True, metadata={"example": "application/pdf"})
    filename = String(required=True)
    instance_id = Integer(required=True)
    task_id = Integer(required=True)
    field = String(required=True)


def _size(upload: Any) -> int:
    """The uploaded file's size, from its spooled stream, before reading it."""
    stream = upload.stream
    size = int(stream.seek(0, os.SEEK_END))
    stream.seek(0)
    return size


@bp.post("/tasks/<int:task_id>/materials")
@bp.auth_required(auth)
@bp.input(MaterialIn, location="form_and_files", arg_name="body")
@bp.output(MaterialOut, status_code=201)
@bp.doc(summary="Upload a material for an upload field of a task I hold (then complete with its id)",
        responses={403: ERRORS[403], 409: ERRORS[409], 413: "The file is over the size limit; nothing was stored",
                   415: "The file's content is not of an accepted type; nothing was stored",
                   422: "Not an upload field of the task's form, or an empty file"})
def upload(task_id: int, body: dict[str, Any]) -> ResponseReturnValue:
    db, engine = _services()
    upload = body["file"]
    with db.write() as session:
        actor = actor_in(session)
        task = _visible_task(session, task_id, actor)
        actor.require_writer()  # an auditor holds nothing: 403 rather than "claim it first"
        if task.state != "ready":
            raise TaskNotReady(f"Task {task.id} '{task.name}' is {task.state}; no material can be added for it.",
                               task_id=task.id)
        if task.claimed_by != actor.name:
            raise _as_conflict(PermissionDenied(
                f"Task {task.id} '{task.name}' must be claimed by you before you add materials for it.",
                task_id=task.id), task, actor)
        instance = session.get(Instance, task.instance_id)
        assert instance is not None
        schema = engine.cases.forms_for(session, instance.process_version_id).get(task.form) if task.form else None
        fields = materials.upload_fields(schema) if schema else []
        if body["field"] not in fields:
            offered = ", ".join(fields) if fields else "none: its form has no upload field"
            message = (f"'{body['field']}' is not an upload field of task {task.id} '{task.name}' "
                       f"(its upload fields: {offered}). Nothing was stored.")
            raise InvalidData(message, errors=[{"field": "field", "location": "form", "message": message}])
        name = materials.clean_filename(upload.filename or "")
        size, limit = _size(upload), materials.max_bytes()
        if size > limit:
            raise materials.too_large(name, size, limit)
        material_id = materials.add(session, task.instance_id, upload.read(limit + 1), name, actor, g.now)
        info = materials.get(session, material_id, actor)
    return {**info.to_dict(), "task_id": task.id, "field": body["field"]}


@bp.get("/materials/<material_id>")
@bp.auth_required(auth)
@bp.doc(summary="A material's bytes (to users who may see its case), with its media type",
        responses={200: {"description": "the file, as stored", "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
def material(material_id: str) -> Response:
    db, _engine = _services()
    with db.read() as session:
        info, data = materials.read(session, material_id, actor_in(session))
    disposition = "inline" if info.media_type in INLINE else "attachment"
    return Response(data, mimetype=info.media_type.split(";")[0], headers={
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(info.filename)}",
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox",
        "Cache-Control": "private, max-age=3600", "ETag": f'"{info.sha256}"'})
