"""The browser client, served at ``/``: plain ES modules and CSS from ``static/``, shipped in the package.

No build step. Every asset is read once at start-up and served from memory under a versioned path,
``/static/<hash of all assets>/<file>``, cached for a year as immutable; ``index.html`` names that path and
is served ``no-cache``, so a new release is picked up on the next page load and never mixed with old
files. A version or file we do not have answers 404. docs/web-client.md lists the security headers and why.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..edge.described import described, hidden
from ..edge.errors import error_body

STATIC = Path(__file__).parent / "static"
INDEX = "index.html"
PLACEHOLDER = "{{static}}"
PRELOAD = "{{preload}}"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webmanifest": "application/manifest+json",
}
COMPRESSIBLE = (".html", ".js", ".css", ".svg", ".webmanifest")
# The page runs only its own files: no inline script, no eval, nothing framed, no plugins, no <base>.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(self), geolocation=(), payment=()",  # the microphone: voice notes
}
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    content_type: str


def _asset(name: str, body: bytes) -> Asset:
    suffix = Path(name).suffix
    packed = gzip.compress(body, 9, mtime=0) if suffix in COMPRESSIBLE else None
    return Asset(body, packed if packed is not None and len(packed) < len(body) else None, TYPES[suffix])


class Assets:
    """The client's files, loaded once; ``version`` changes whenever any file's name or bytes change."""

    def __init__(self, root: Path = STATIC) -> None:
        files = {
            path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("*"))
            if path.is_file() and path.suffix in TYPES
        }
        digest = hashlib.sha256()
        for name, body in sorted(files.items()):
            digest.update(name.encode() + b"\0" + hashlib.sha256(body).digest())
        self.version = digest.hexdigest()[:16]
        self.prefix = f"/static/{self.version}"
        self.files = {name: _asset(name, body) for name, body in files.items()}
        # Every module is named up front, so the browser fetches them in parallel instead of discovering
        # the import graph one level at a time.
        preload = "\n".join(
            f'<link rel="modulepreload" href="{self.prefix}/{name}">' for name in sorted(files) if name.endswith(".js")
        )
        page = (root / INDEX).read_text(encoding="utf-8").replace(PRELOAD, preload).replace(PLACEHOLDER, self.prefix)
        self.index = _asset(INDEX, page.encode())

    def respond(self, request: Request, asset: Asset, cache: str) -> Response:
        headers = {**PAGE_HEADERS, "Cache-Control": cache, "Vary": "Accept-Encoding"}
        body = asset.body
        if asset.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
            body = asset.gzipped
            headers["Content-Encoding"] = "gzip"
        return Response(body, media_type=asset.content_type, headers=headers)


def routes() -> list[BaseRoute]:
    assets = Assets()

    @described(media_type="text/html", authenticated=False, errors=())
    async def index(request: Request) -> Response:
        """The web client (docs/web-client.md)."""
        return assets.respond(request, assets.index, "no-cache")

    @hidden  # the client's own files, not an operation of the API (/openapi.json)
    async def static(request: Request) -> Response:
        found = assets.files.get(request.path_params["path"])
        if request.path_params["version"] != assets.version or found is None or request.path_params["path"] == INDEX:
            return Response(
                error_body("not_found", "no such asset (reload the page for the current version)"),
                status_code=404,
                media_type="application/json",
                headers={"Cache-Control": "no-cache"},
            )
        return assets.respond(request, found, IMMUTABLE)

    return [
        Route("/", index, methods=["GET"]),
        Route("/static/{version}/{path:path}", static, methods=["GET"]),
    ]
