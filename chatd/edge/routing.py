"""Route lookup by exact path: Starlette's router tries every route's pattern in turn, for every request.

With the faces' ~140 routes, a request for a route near the end of the table (``POST /message/edit`` sits
past the operator, document and most Crust routes) paid for a hundred regular-expression matches before its
handler ran (docs/performance.md, "Sends: the request path"). ``IndexedRouter`` keeps, for each path that a
route names literally, the few routes that could match it at all (that route, its namesakes for other
methods or the websocket, and any pattern route that also matches the path), in table order, and asks only
those. The answer is the one Starlette's loop gives, because a route whose pattern does not match the path
answers ``Match.NONE`` whatever the request: the first full match wins, else the first partial one (405).
Any other path (a pattern route such as ``/files/{id}``, a 404, a trailing-slash redirect) goes through
Starlette's own loop unchanged.
"""

from __future__ import annotations

from typing import Awaitable

from starlette.routing import BaseRoute, Match, Mount, Route, Router, WebSocketRoute
from starlette.types import Receive, Scope, Send

_PATTERNED = (Route, WebSocketRoute, Mount)
_PLAIN_MATCHES = (Route.matches, WebSocketRoute.matches)  # a match that depends on the path and method alone


def _literal(route: BaseRoute) -> str | None:
    """The path a route matches literally, or None for one with parameters (or of another kind)."""
    if isinstance(route, (Route, WebSocketRoute)) and not route.param_convertors:
        return route.path
    return None


def _may_match(route: BaseRoute, path: str) -> bool:
    """False only when ``route`` answers ``Match.NONE`` to every request for ``path``: its pattern, which
    depends on the path alone, does not match. Routes of other kinds (``Host``) are always asked."""
    if isinstance(route, _PATTERNED):
        return route.path_regex.match(path) is not None
    return True


def path_index(routes: list[BaseRoute]) -> dict[str, tuple[BaseRoute, ...]]:
    """For each literal path: the routes that may match it, in table order."""
    paths = {path for path in map(_literal, routes) if path is not None}
    return {path: tuple(r for r in routes if _may_match(r, path)) for path in paths}


class IndexedRouter(Router):
    """Starlette's router with the index described in the module docstring. The index is rebuilt when the
    route table changes length (routes are only ever added)."""

    _index: dict[str, tuple[BaseRoute, ...]] = {}
    _indexed = -1
    _settled: dict[tuple[str, str], Route] = {}

    def chosen(self, scope: Scope) -> tuple[BaseRoute, Scope, bool] | None:
        """The route Starlette's loop would hand this request to, its child scope, and whether it matched
        fully, when the path is one a route names literally and some route answers it; None leaves the
        request to Starlette's loop."""
        if scope["type"] == "lifespan" or scope.get("root_path"):
            return None
        if self._indexed != len(self.routes):
            self._index, self._indexed = path_index(self.routes), len(self.routes)
            self._settled = {}
        partial: tuple[BaseRoute, Scope, bool] | None = None
        for route in self._index.get(scope["path"], ()):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return route, child_scope, True
            if match is Match.PARTIAL and partial is None:
                partial = (route, child_scope, False)
        return partial

    def dispatch(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """What ``app`` does, for a caller that is not Starlette's stack (``front.Front``): a route that
        matched fully is handed the request itself, without ``Route.handle``'s frame, whose method check the
        full match has already passed. An HTTP request for a literal path whose candidates are plain routes
        is answered by the same route for every request of its method: that answer is kept (``_settle``)."""
        if scope["type"] == "http" and "path_params" not in scope and not scope.get("root_path"):
            settled = self._settled.get((scope["path"], scope["method"]))
            if settled is not None and self._indexed == len(self.routes):
                if "router" not in scope:
                    scope["router"] = self
                scope["route"] = settled
                scope["endpoint"] = settled.endpoint  # the child scope ``Route.matches`` gives a literal path
                scope["path_params"] = {}
                return settled.app(scope, receive, send)
        chosen = self.chosen(scope)
        if chosen is None:  # a pattern route, a 404, a redirect, the lifespan: Starlette's own loop
            return super().app(scope, receive, send)
        route, child_scope, full = chosen
        if "router" not in scope:
            scope["router"] = self
        scope["route"] = route
        if full and isinstance(route, Route):
            self._settle(scope, route)
            scope.update(child_scope)
            return route.app(scope, receive, send)
        scope.update(child_scope)
        return route.handle(scope, receive, send)

    def _settle(self, scope: Scope, route: Route) -> None:
        """Keep ``route`` for this path and method when no request of them can be answered otherwise: an
        HTTP request at the top (no path parameters yet), and only plain routes among the path's candidates
        (their match depends on the path and the method alone)."""
        if scope["type"] != "http" or "path_params" in scope:
            return
        candidates = self._index.get(scope["path"], ())
        if all(type(r).matches in _PLAIN_MATCHES for r in candidates):
            self._settled[(scope["path"], scope["method"])] = route

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.dispatch(scope, receive, send)
