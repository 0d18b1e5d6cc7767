"""What the OpenAPI document says about a route, declared with the route's view (docs/api.md, "The OpenAPI
document").

``responses.endpoint`` declares every view it wraps: its parameters model, and its answer's type, which is
the handler's return annotation (a TypedDict of ``edge/shape_types.py`` or ``faces/workdrive/shape_types.py``)
unless ``response=`` names another. Views that read their request themselves (login, uploads, downloads,
the operator endpoints) declare the same with ``described``, and the static files of a page are ``hidden``.
``edge/openapi.py`` reads the declarations through the app's route table, so the document is generated
from the code that validates and answers; a route declared nowhere still appears in it, and a test fails.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any, Callable, Literal, TypeVar

from pydantic import BaseModel
from starlette.responses import Response

F = TypeVar("F", bound=Callable[..., Any])

Body = Literal["params", "multipart"]


@dataclass(frozen=True, slots=True)
class Description:
    """``params``: where parameters are validated; ``body``: a write sends them as JSON or a form
    (``params``) or as multipart with a ``file`` (``multipart``). ``response``: the answer's type, or None to
    read it from ``handler``'s return annotation; with neither, the answer is not JSON (``media_type``).
    ``statuses``: successes besides ``status`` (a 201 beside a 200, a 304); ``errors``: the error statuses,
    None for those of every authenticated call (``openapi.AUTHENTICATED_ERRORS``)."""

    params: type[BaseModel] | None = None
    response: Any = None
    handler: Callable[..., Any] | None = None
    status: int = 200
    statuses: tuple[int, ...] = ()
    authenticated: bool = True
    body: Body = "params"
    media_type: str = "application/json"
    errors: tuple[int, ...] | None = None
    hidden: bool = False

    def response_type(self) -> Any:
        """The answer's type: declared, or the handler's return annotation if that is one pydantic can
        describe (not a ``Response``, not a bare ``dict``). Read lazily: annotations are strings until their
        module has finished importing."""
        if self.response is not None or self.handler is None:
            return self.response
        returned = typing.get_type_hints(self.handler).get("return")
        if returned is None or returned in (dict, typing.Any) or typing.get_origin(returned) is dict:
            return None
        if isinstance(returned, type) and issubclass(returned, Response):
            return None
        return returned

    def summary(self) -> str:
        doc = (self.handler.__doc__ if self.handler is not None else None) or ""
        return " ".join(doc.strip().split("\n\n")[0].split())


_DESCRIBED: dict[Callable[..., Any], Description] = {}


def describe(view: F, description: Description) -> F:
    _DESCRIBED[view] = description
    return view


def described(
    params: type[BaseModel] | None = None,
    *,
    response: Any = None,
    status: int = 200,
    statuses: tuple[int, ...] = (),
    authenticated: bool = True,
    body: Body = "params",
    media_type: str = "application/json",
    errors: tuple[int, ...] | None = None,
) -> Callable[[F], F]:
    """Declare a view that does not go through ``endpoint`` (it reads its own request)."""

    def declare(view: F) -> F:
        declared = Description(
            params, response=response, handler=view, status=status, statuses=statuses,
            authenticated=authenticated, body=body, media_type=media_type, errors=errors,
        )
        return describe(view, declared)

    return declare


def hidden(view: F) -> F:
    """Leave a route out of the document: a static file a page loads, not an operation of the API."""
    return describe(view, Description(hidden=True))


def description_of(view: Callable[..., Any]) -> Description | None:
    return _DESCRIBED.get(view)
