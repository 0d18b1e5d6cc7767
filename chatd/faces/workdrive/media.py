"""``/api/media``: the WorkDrive media API, a presigned upload in two steps.

``GET /api/media?mime=&name=&moduleCode=`` (authenticated) answers ``{fileId, signedRequest: {url,
fields}, url}``; the client then posts the fields and the ``file`` as multipart form data to
``signedRequest.url``, with no credential of its own: the signed policy is the credential.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...core.upload_policy import do_upload_with_policy, issue_upload
from ...edge.params import Params
from ...edge.responses import JSON, Call, endpoint
from ...edge.uploads import read_upload


class IssueParams(Params):
    mime: str = Field(min_length=1, max_length=128)
    name: str = Field("", max_length=1024)
    module_code: str | int = Field("", alias="moduleCode")


@endpoint(IssueParams, fields={"module": "moduleCode"})
async def issue(call: Call[IssueParams]) -> dict[str, Any]:
    p = call.params
    return await issue_upload(call.core, call.who, p.mime, p.name, str(p.module_code))


async def upload(request: Request) -> Response:
    """The bytes of a presigned upload: ``{fileId, url, contentType, size}`` once stored."""
    core = request.app.state.core
    fields, filename, data = await read_upload(request, core.settings.limits.upload_max_bytes)
    stored = await do_upload_with_policy(core, fields, filename, data)
    return JSON(
        {
            "fileId": str(stored.id),
            "url": f"/file/download?id={stored.id}",
            "contentType": stored.content_type,
            "size": stored.size,
        }
    )


routes = [
    Route("/api/media", issue, methods=["GET"]),
    Route("/api/media/upload", upload, methods=["POST"]),
]
