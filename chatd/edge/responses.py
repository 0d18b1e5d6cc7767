"""JSON responses with orjson, and the wrapper that turns a small handler into a Starlette endpoint.

Every JSON answer of a route goes through ``respond``, which applies the Crust envelope where a request
gets it (``envelope.py``); handlers return plain payloads and never know about it. ``endpoint`` also declares
the route for the OpenAPI document (``described.py``): its parameters model, and its answer's type, the
handler's return annotation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Generic, Iterable, TypeVar

import orjson
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..core.context import Core
from ..domain.errors import Rename, fields_renamed
from ..domain.models import Principal
from . import envelope
from .auth import authenticate_request
from .described import Description, describe
from .params import parse

P = TypeVar("P", bound=BaseModel)


def encoded(content: Any) -> bytes:
    return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return encoded(content)


def _answer(scope: Scope, payload: Any, status: int) -> tuple[Any, int]:
    """``payload`` and ``status``, or ``{"response": payload}`` with 200 where the Crust envelope is wanted."""
    if envelope.wanted_in(scope):
        return envelope.success(payload), 200
    return payload, status


def respond(request: Request, payload: Any, status: int = 200) -> Response:
    """``payload`` as JSON (``_answer``)."""
    payload, status = _answer(request.scope, payload, status)
    return JSON(payload, status_code=status)


@dataclass(slots=True)
class Call(Generic[P]):
    """What a handler gets: the core, the authenticated caller, validated parameters, the raw request."""

    core: Core
    who: Principal
    params: P
    request: Request


def endpoint(
    model: type[P],
    *,
    status: int = 200,
    fields: Rename | None = None,
    response: Any = None,
    statuses: tuple[int, ...] = (),
    errors: tuple[int, ...] | None = None,
    media_type: str = "application/json",
) -> Callable[[Callable[[Call[P]], Awaitable[Any]]], Callable[[Request], Awaitable[Response]]]:
    """Authenticate (401 first), then validate parameters (400), then run the handler. ``fields``: how this
    face names the fields of the core's errors (``domain.errors.fields_renamed``). ``response``, ``statuses``,
    ``errors`` and ``media_type`` only describe the answer (``described.Description``), where the handler's
    return annotation does not say it all."""

    def wrap(handler: Callable[[Call[P]], Awaitable[Any]]) -> Callable[[Request], Awaitable[Response]]:
        async def answer(request: Request) -> Any:
            who = await authenticate_request(request)
            params = await parse(request, model)
            call = Call(request.app.state.core, who, params, request)
            if fields is None:  # most routes: no renaming, and no context to enter
                return await handler(call)
            with fields_renamed(fields):
                return await handler(call)

        async def run(request: Request) -> Response:
            result = await answer(request)
            return result if isinstance(result, Response) else respond(request, result, status)

        async def direct(scope: Scope, receive: Receive, send: Send) -> None:
            result = await answer(Request(scope, receive, send))
            if isinstance(result, Response):
                await result(scope, receive, send)
            else:
                await send_json(scope, result, status, send)

        run.__name__ = handler.__name__
        run.__doc__ = handler.__doc__
        _DIRECT[run] = direct
        declared = Description(
            model, response=response, handler=handler, status=status, statuses=statuses, errors=errors,
            media_type=media_type,
        )
        return describe(run, declared)

    return wrap


_DIRECT: dict[Callable[..., Any], ASGIApp] = {}
_JSON_TYPE = (b"content-type", b"application/json")


async def send_json(scope: Scope, payload: Any, status: int, send: Send) -> None:
    """``respond``'s answer sent straight to the server, without building a ``Response``."""
    payload, status = _answer(scope, payload, status)
    body = encoded(payload)
    headers = [_JSON_TYPE, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def serve_directly(routes: Iterable[BaseRoute]) -> None:
    """Let each route of an ``endpoint`` view run it as a plain ASGI app: Starlette wraps a view function in
    ``request_response``, whose per-route error layer repeats what the app's ``ExceptionMiddleware`` does
    with the same handlers, and whose ``Response`` objects ``send_json`` skips. Two layers fewer on every
    call: a tenth of a send's own CPU (docs/performance.md, "Sends: the request path")."""
    for route in routes:
        if isinstance(route, Route) and (app := _DIRECT.get(route.endpoint)) is not None:
            route.app = app
