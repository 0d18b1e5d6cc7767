"""The WorkDrive spec's endpoints chatd does not serve: each answers 501 ``not_supported`` saying so and why.

chatd implements the chat part of the WorkDrive API (docs/workdrive.md). Without these routes the rest of
the spec (an intranet: posts, news, events, media libraries, tasks, departments …) would answer a bare 404,
or a misleading 405 where its path looks like one chatd serves (``GET /api/users/supervisors`` against
``PATCH /api/users/{id}``). The answer needs no credential: it tells nothing about any account. Paths are
the spec's, with its literal ``id`` placeholders read as ids and its typos (``/api/documnents``) kept.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...domain.codes import Code
from ...edge.described import described
from ...edge.errors import error_body

_FEED = "the intranet feed ({}) is not part of chat"
_LIBRARY = "the {} library is not part of chat; files for messages are uploaded with GET /api/media"
_DIRECTORY = "chatd keeps a user's {0} as a plain value of the profile (filter with GET /api/users?{0}=…)"

UNSUPPORTED: list[tuple[str, str, str]] = [
    ("GET", "/api/users/supervisors", "chatd keeps reportsTo as a plain value and has no reporting hierarchy to list"),
    ("GET", "/api/posts", _FEED.format("posts")),
    ("POST", "/api/posts", _FEED.format("posts")),
    ("PATCH", "/api/posts/{id}", _FEED.format("posts")),
    ("GET", "/api/news", _FEED.format("news")),
    ("POST", "/api/news", _FEED.format("news")),
    ("PATCH", "/api/news/{id}", _FEED.format("news")),
    ("GET", "/api/events", _FEED.format("events")),
    ("POST", "/api/events/meeting", "organisation events are not part of chat; a meeting in a conversation is "
     "scheduled with POST /api/{conversationId}/meetings"),
    ("PATCH", "/api/events/{id}", _FEED.format("events")),
    ("GET", "/api/videos", _LIBRARY.format("video")),
    ("POST", "/api/videos", _LIBRARY.format("video")),
    ("PATCH", "/api/videos/{id}", _LIBRARY.format("video")),
    ("GET", "/api/photos", _LIBRARY.format("photo")),
    ("POST", "/api/photos", _LIBRARY.format("photo")),
    ("PATCH", "/api/photos/{id}", _LIBRARY.format("photo")),
    ("GET", "/api/documents", _LIBRARY.format("document")),
    ("POST", "/api/documents", _LIBRARY.format("document")),
    ("PATCH", "/api/documnents", _LIBRARY.format("document")),
    ("PATCH", "/api/documents/{id}", _LIBRARY.format("document")),
    ("GET", "/api/faqs", "the FAQ knowledge base is not part of chat"),
    ("POST", "/api/faqs", "the FAQ knowledge base is not part of chat"),
    ("PATCH", "/api/faqs/{kbId}", "the FAQ knowledge base is not part of chat"),
    ("GET", "/api/categories", "chatd has no content modules, so no categories or courses"),
    ("GET", "/api/module-codes", "chatd has no content modules"),
    ("GET", "/api/enforcement-templates", "chatd has no enforcement templates"),
    ("GET", "/api/notifications/send", "chatd sends no notifications by other media (e-mail, SMS, push); "
     "connected clients get every event on the websocket"),
    ("GET", "/api/tasks", "tasks are not part of chat"),
    ("POST", "/api/tasks", "tasks are not part of chat"),
    ("PATCH", "/api/tasks/update/{id}", "tasks are not part of chat"),
    ("PATCH", "/api/tasks/assign/{id}", "tasks are not part of chat"),
    ("GET", "/api/departments", _DIRECTORY.format("department")),
    ("POST", "/api/departments", _DIRECTORY.format("department")),
    ("PATCH", "/api/departments/{id}", _DIRECTORY.format("department")),
    ("PATCH", "/api/departments/{id}/admin", _DIRECTORY.format("department")),
    ("GET", "/api/departments/{id}/members", _DIRECTORY.format("department")),
    ("POST", "/api/departments/{id}/members", _DIRECTORY.format("department")),
    ("GET", "/api/locations", _DIRECTORY.format("location")),
    ("PATCH", "/api/locations/{id}", _DIRECTORY.format("location")),
    ("GET", "/api/locations/{id}/members", _DIRECTORY.format("location")),
    ("POST", "/api/locations/{id}/members", _DIRECTORY.format("location")),
    ("GET", "/api/security_groups", "chatd's roles are per organisation, team and channel; it has no security groups"),
    ("POST", "/api/security_groups/{groupId}/members", "chatd has no security groups"),
    ("DELETE", "/api/security_groups/{groupId}/members", "chatd has no security groups"),
    ("GET", "/api/sso", "chatd signs users in itself (password, session, access tokens); it has no SSO providers"),
    ("POST", "/api/sso", "chatd signs users in itself (password, session, access tokens); it has no SSO providers"),
]


def _answer(method: str, path: str, reason: str) -> Route:
    body = error_body(Code.NOT_SUPPORTED, f"not supported by chatd: {method} {path}: {reason} (docs/workdrive.md)")

    @described(authenticated=False, status=501, errors=())
    async def not_supported(_request: Request) -> Response:
        return Response(body, status_code=501, media_type="application/json")

    not_supported.__doc__ = f"Not supported by chatd: {reason}."
    return Route(path, not_supported, methods=[method])


routes: list[BaseRoute] = [_answer(method, path, reason) for method, path, reason in UNSUPPORTED]
