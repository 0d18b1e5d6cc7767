"""Route lookup by exact path (``chatd/edge/routing.py``) picks the route Starlette's own loop would: the
first that matches fully, else the first that matches the path but not the method (405); anything else is
left to Starlette (pattern routes, 404, trailing-slash redirects)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Awaitable, Callable

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Match, Route, WebSocketRoute
from starlette.websockets import WebSocket

from chatd.app import create_app
from chatd.edge.routing import IndexedRouter
from harness.app import make_settings


def _starlette_pick(routes: list[BaseRoute], scope: dict[str, Any]) -> BaseRoute | None:
    """What ``starlette.routing.Router.app`` hands a request to (its loop, without the redirect)."""
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial


def _scope(kind: str, path: str, method: str = "GET") -> dict[str, Any]:
    scope: dict[str, Any] = {"type": kind, "path": path, "root_path": "", "headers": [], "query_string": b""}
    if kind == "http":
        scope["method"] = method
    return scope


def test_every_literal_path_of_chatd_goes_where_starlettes_loop_sends_it(tmp_path: Path) -> None:
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path}/unused.db", tmp_path))
    router = app.router
    assert isinstance(router, IndexedRouter)
    routes = list(router.routes)
    literal = {r.path for r in routes if isinstance(r, (Route, WebSocketRoute)) and not r.param_convertors}
    assert len(literal) > 50  # the faces' table, not an empty one
    checked = 0
    for path in sorted(literal):
        for scope in [_scope("http", path, m) for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")] + [
            _scope("websocket", path)
        ]:
            expected = _starlette_pick(routes, scope)
            chosen = router.chosen(scope)
            assert (chosen[0] if chosen else None) is expected, (scope["type"], scope.get("method"), path)
            checked += expected is not None
    assert checked > len(literal)


def _text(name: str) -> Callable[[Request], Awaitable[PlainTextResponse]]:
    """An endpoint that answers with its route's name (``scope["route"]`` is only set by newer Starlettes)."""

    async def answer(request: Request) -> PlainTextResponse:
        return PlainTextResponse(name + " " + repr(request.path_params))

    return answer


async def _socket(websocket: WebSocket) -> None:
    await websocket.close()


def _client(routes: list[BaseRoute]) -> httpx.AsyncClient:
    app = Starlette()
    app.router = IndexedRouter(routes)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_a_pattern_route_listed_first_still_wins_over_a_literal_one() -> None:
    routes: list[BaseRoute] = [
        Route("/files/{name}", _text("pattern"), methods=["GET"], name="pattern"),
        Route("/files/upload", _text("literal"), methods=["GET", "POST"], name="literal"),
        Route("/files/upload", _text("second"), methods=["DELETE"], name="second"),
        WebSocketRoute("/socket", _socket, name="socket"),
    ]
    async with _client(routes) as client:
        assert (await client.get("/files/upload")).text == "pattern {'name': 'upload'}"
        assert (await client.post("/files/upload")).text == "literal {}"
        assert (await client.delete("/files/upload")).text == "second {}"
        wrong = await client.put("/files/upload")  # every route refuses the method: the first partial one answers
        assert wrong.status_code == 405 and set(wrong.headers["allow"].split(", ")) == {"GET", "HEAD"}
        assert (await client.get("/files/other")).text == "pattern {'name': 'other'}"
        assert (await client.get("/socket")).status_code == 404  # a websocket path asked over HTTP
        assert (await client.get("/nowhere")).status_code == 404


async def test_routes_added_later_and_trailing_slashes_are_still_found() -> None:
    routes: list[BaseRoute] = [Route("/a", _text("a"), name="a")]
    async with _client(routes) as client:
        assert (await client.get("/a")).text == "a {}"
        redirect = await client.get("/a/")
        assert redirect.status_code == 307 and redirect.headers["location"] == "http://test/a"
        client._transport.app.router.routes.append(Route("/b", _text("b"), name="b"))  # type: ignore[attr-defined]
        assert (await client.get("/b")).text == "b {}"
