"""``/file/*``: upload a file, download it or its thumbnail.

Downloads never let a browser run what a user uploaded: the stored (sniffed) type with ``nosniff``, a
sandboxing CSP, and ``attachment`` for everything but plain raster images. Uploads are read by
``edge/uploads.py``, as the WorkDrive media upload's are.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...core.files import do_store_file, fetch_file, file_payload
from ...domain.models import StoredFile
from ...edge.auth import authenticate_request
from ...edge.described import described
from ...edge.openapi import AUTHENTICATED_ERRORS
from ...edge.params import Id, Params, validate
from ...edge.ranges import byte_range
from ...edge.responses import Call, endpoint, respond
from ...edge.uploads import read_upload
from ...edge import shape_types as out

INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
_NOT_IN_QUOTED_NAME = re.compile(r"[^A-Za-z0-9 !#$&'()+,.;=@\[\]^_`{}~-]")
_RFC5987_SAFE = "!#$&+-.^_`|~"
RANGED_ERRORS = (*AUTHENTICATED_ERRORS, 416)  # a range past the end of the file (``edge/ranges.py``)


class IdParams(Params):
    id: Id


class UploadParams(Params):
    module: str = ""


def content_disposition(kind: str, name: str) -> str:
    """``kind; filename="ascii"; filename*=UTF-8''…``: exact for modern clients, harmless for old ones.

    The ASCII fallback keeps only characters that need no escaping in a quoted string, so quotes,
    backslashes, line breaks and percent signs can neither break the header nor be decoded twice.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = _NOT_IN_QUOTED_NAME.sub("_", ascii_name).strip() or "file"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe=_RFC5987_SAFE)}"


def file_response(request: Request, data: bytes, content_type: str, name: str, etag: str, inline: bool) -> Response:
    headers = {
        "Content-Disposition": content_disposition("inline" if inline else "attachment", name),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": CSP,
        "Cache-Control": "private, no-cache",
    }
    if etag:
        headers["ETag"] = f'"{etag}"'
    if etag and request.headers.get("if-none-match", "").strip() == headers["ETag"]:
        return Response(status_code=304, headers={k: v for k, v in headers.items() if k in ("ETag", "Cache-Control")})
    media_type = f"{content_type}; charset=utf-8" if content_type == "text/plain" else content_type
    headers["Accept-Ranges"] = "bytes"
    part = byte_range(request.headers.get("range", ""), len(data), request.headers.get("if-range"), etag)
    if part is None:
        return Response(data, media_type=media_type, headers=headers)
    first, end = part
    headers["Content-Range"] = f"bytes {first}-{end - 1}/{len(data)}"
    return Response(data[first:end], status_code=206, media_type=media_type, headers=headers)


@described(UploadParams, response=out.File, body="multipart")
async def upload(request: Request) -> Response:
    """Multipart ``file`` (and optional ``module``): the stored file's description."""
    who = await authenticate_request(request)
    core = request.app.state.core
    fields, name, data = await read_upload(request, core.settings.limits.upload_max_bytes)
    params = validate(UploadParams, fields)
    return respond(request, file_payload(await do_store_file(core, who, name, data, module=params.module)))


def _thumbnail_name(stored: StoredFile, content_type: str) -> str:
    stem = stored.name.rpartition(".")[0] or stored.name
    return f"{stem}-thumbnail.{'png' if content_type == 'image/png' else 'jpg'}"


@endpoint(IdParams, media_type="*/*", statuses=(206, 304), errors=RANGED_ERRORS)
async def download(call: Call[IdParams]) -> Response:
    stored, content_type, data = await fetch_file(call.core, call.who, call.params.id)
    inline = content_type in INLINE_TYPES
    return file_response(call.request, data, content_type, stored.name or "file", stored.sha256, inline)


@endpoint(IdParams, media_type="*/*", statuses=(206, 304), errors=RANGED_ERRORS)
async def thumbnail(call: Call[IdParams]) -> Response:
    stored, content_type, data = await fetch_file(call.core, call.who, call.params.id, thumbnail=True)
    etag = f"{stored.sha256}-thumbnail"
    return file_response(call.request, data, content_type, _thumbnail_name(stored, content_type), etag, True)


routes = [
    Route("/file/upload", upload, methods=["POST"]),
    Route("/file/download", download, methods=["GET"]),
    Route("/file/thumbnail", thumbnail, methods=["GET"]),
]
