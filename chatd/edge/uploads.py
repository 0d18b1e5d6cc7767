"""Reading a multipart upload (the Crust face's files and attachments, the WorkDrive face's presigned uploads).

An oversized body is refused before it is parsed, when ``Content-Length`` already says so, and the parsed
form (its spooled file) is always closed again.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request

from ..domain.codes import Code
from ..domain.errors import BadRequest, ChatdError, TooLarge
from .body_limit import MULTIPART_OVERHEAD, allow_upload



_FORM_ESCAPES = {"%22": '"', "%0D": "\r", "%0A": "\n"}


def form_file_name(sent: str) -> str:
    """The name the person chose: browsers (the HTML standard's multipart encoding) and httpx write ``"``, CR
    and LF in a file name as ``%22``, ``%0D`` and ``%0A``, and escape nothing else (not even ``%``), so
    exactly those three are undone; the core then cleans the name as any other."""
    return re.sub("%(?:22|0D|0A)", lambda found: _FORM_ESCAPES[found.group(0)], sent)


async def read_upload(request: Request, limit: int) -> tuple[dict[str, Any], str, bytes]:
    """(query and form fields, the file's name, its bytes) of a multipart upload whose file part is ``file``;
    at most one byte past ``limit`` is read, so the core can refuse a file that is too large."""
    allow_upload(request, limit)  # this request may carry more than the body limit of other requests
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit + MULTIPART_OVERHEAD:
        raise TooLarge.over("the file", limit)
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "multipart/form-data":
        raise BadRequest.field("file", "send the file as multipart/form-data")
    try:
        form = await request.form(max_files=1, max_fields=64)
    except ChatdError:
        raise  # the body limit, counted as the body arrives
    except Exception as exc:  # python-multipart raises several types for a malformed body
        raise BadRequest(f"malformed form body: {exc}", code=Code.BAD_FORM) from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise BadRequest.field("file", "required: a file part named 'file'")
        data = await upload.read(limit + 1)
        fields: dict[str, Any] = dict(request.query_params)
        fields.update((key, value) for key, value in form.multi_items() if isinstance(value, str))
        return fields, form_file_name(upload.filename or ""), data
    finally:
        await form.close()
