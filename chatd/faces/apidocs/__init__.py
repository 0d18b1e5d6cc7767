"""The API's own description: ``GET /openapi.json`` (generated, ``edge/openapi.py``) and ``GET /docs``, a page
that renders it as readable HTML.

The page is ours, not a vendored viewer: three small files in ``static/`` (HTML, one script, one style
sheet), so it runs under a policy that allows only its own files (no inline script or style, nothing from a
CDN, which this server may not reach) and builds every element with the DOM, never from HTML strings. Both
need no credential: the description tells nothing about any account.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...edge.described import described, hidden
from ...edge.openapi import document

STATIC = Path(__file__).parent / "static"
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@cache
def _asset(name: str) -> bytes:
    return (STATIC / name).read_bytes()


@described(media_type="application/json", authenticated=False, errors=())
async def openapi_json(request: Request) -> Response:
    """This document: OpenAPI 3.1, generated from the routes and their models."""
    return Response(document(request.app), media_type="application/json", headers={"Cache-Control": "no-cache"})


@described(media_type="text/html", authenticated=False, errors=())
async def docs_page(_request: Request) -> Response:
    """This document as a browsable page."""
    return Response(_asset("index.html"), media_type="text/html; charset=utf-8", headers=HEADERS)


@hidden
async def docs_script(_request: Request) -> Response:
    return Response(_asset("docs.js"), media_type="text/javascript; charset=utf-8", headers=HEADERS)


@hidden
async def docs_style(_request: Request) -> Response:
    return Response(_asset("docs.css"), media_type="text/css; charset=utf-8", headers=HEADERS)


routes = [
    Route("/openapi.json", openapi_json, methods=["GET"]),
    Route("/docs", docs_page, methods=["GET"]),
    Route("/docs/docs.js", docs_script, methods=["GET"]),
    Route("/docs/docs.css", docs_style, methods=["GET"]),
]
