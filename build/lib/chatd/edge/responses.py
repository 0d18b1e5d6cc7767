"""JSON responses with orjson, and the wrapper that turns a small handler into a Starlette endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Generic, TypeVar

import orjson
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from ..core.context import Core
from ..core.models import Principal
from .auth import authenticate_request
from .params import parse

P = TypeVar("P", bound=BaseModel)


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


@dataclass(slots=True)
class Call(Generic[P]):
    """What a handler gets: the core, the authenticated caller, validated parameters, the raw request."""

    core: Core
    who: Principal
    params: P
    request: Request


def endpoint(
    model: type[P], *, status: int = 200
) -> Callable[[Callable[[Call[P]], Awaitable[Any]]], Callable[[Request], Awaitable[Response]]]:
    """Authenticate (401 first), then validate parameters (400), then run the handler."""

    def wrap(handler: Callable[[Call[P]], Awaitable[Any]]) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            who = await authenticate_request(request)
            params = await parse(request, model)
            result = await handler(Call(request.app.state.core, who, params, request))
            return result if isinstance(result, Response) else JSON(result, status_code=status)

        run.__name__ = handler.__name__
        run.__doc__ = handler.__doc__
        return run

    return wrap
