"""Browsers at the edge: which origins are trusted, cross-site write protection, CORS, and safe defaults.

One origin rule for every surface (HTTP faces and the websocket): an origin is trusted when it is the
server's own — the request's scheme with its ``Host`` header — or listed in ``server.allowed_origins``
(``"*"`` trusts every origin). Origins compare case-insensitively in scheme and host, with default ports
dropped, so ``HTTPS://Chat.Example.com:443`` is ``https://chat.example.com``.

``BrowserGuard`` (applied to every HTTP request by ``front.Front``):

- refuses a write (POST, PUT, PATCH, DELETE) authenticated only by the session cookie unless its
  ``Origin`` — or, without one, its ``Referer``'s origin — is trusted: 403 ``cross_site``. A cookie write
  with neither header is refused too (browsers always send ``Origin`` on such requests; only a forged or
  stripped request lacks both). Writes authenticated by ``X-Session-ID``, ``Authorization`` or
  ``X-API-KEY`` carry a secret no other site can read, and pass untouched;
- refuses ``POST /user/login`` from an untrusted origin (login CSRF: signing a victim in as the attacker);
  a login without ``Origin`` or ``Referer`` (curl, bots) is not a browser and passes;
- answers CORS for the listed origins only: preflights get the allowed methods and headers with
  credentials; actual responses get ``Access-Control-Allow-Origin`` and ``-Credentials``. Any other origin
  gets no CORS header at all (a refused preflight is a 403 ``cross_site``);
- adds ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` and, where a response sets no
  policy of its own, ``Content-Security-Policy: frame-ancestors 'none'`` to every response.

docs/web-client.md explains each decision.
"""

from __future__ import annotations

import operator
from typing import Callable, Iterable
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import Message, Scope

from ..config import Settings
from ..domain.codes import Code
from .auth import SESSION_COOKIE
from .errors import error_body
from .headers import header, headers_of

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HEADER_CREDENTIALS = (b"x-session-id", b"authorization", b"x-api-key")
LOGIN_PATH = "/user/login"
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE"
CORS_HEADERS = "Accept, Authorization, Content-Type, X-API-KEY, X-Client-ID, X-Requested-With, X-Session-ID"
CORS_MAX_AGE = "600"
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_WEB_SCHEME = {"ws": "http", "wss": "https"}
_COOKIE_SET = f"{SESSION_COOKIE}=".encode()


def normalise_origin(value: str) -> str | None:
    """``scheme://host[:port]`` in lower case without a default port, or None for anything else
    (``null``, a bare host, a path-only value)."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    scheme = _WEB_SCHEME.get(scheme, scheme)
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}:{port}"
    return f"{scheme}://{host}"


class OriginRule:
    """Which origins may act for a signed-in browser user: our own, and the configured ones."""

    def __init__(self, allowed: Iterable[str]) -> None:
        listed = list(allowed)
        self.any = "*" in listed
        self.allowed = frozenset(o for o in (normalise_origin(v) for v in listed if v != "*") if o)

    @staticmethod
    def own(scope: Scope) -> str | None:
        """This server as the browser addressed it: the request's scheme and its ``Host`` header."""
        host = header(scope, b"host")
        return normalise_origin(f"{scope.get('scheme', 'http')}://{host}") if host else None

    def listed(self, origin: str | None) -> bool:
        """Configured (for CORS: our own origin never needs CORS answers)."""
        return origin is not None and (self.any or origin in self.allowed)

    def trusted(self, origin: str | None, scope: Scope) -> bool:
        if origin is None:
            return False
        return self.listed(origin) or origin == self.own(scope)


def request_origin(headers: dict[bytes, bytes]) -> str | None:
    """The origin a browser request came from: ``Origin``, or failing that ``Referer``'s origin."""
    origin = headers.get(b"origin")
    if origin is not None:
        return normalise_origin(origin.decode("latin-1"))
    referer = headers.get(b"referer")
    return normalise_origin(referer.decode("latin-1")) if referer else None


def _cookie_only(headers: dict[bytes, bytes]) -> bool:
    for name in HEADER_CREDENTIALS:
        value = headers.get(name)
        if value and value.decode("latin-1").strip():
            return False
    return _COOKIE_SET in headers.get(b"cookie", b"")


Decorate = Callable[[Message], None]
"""What a response's ``http.response.start`` message needs added: the safe defaults and any CORS headers. It
gives the message a header list of its own, which the caller may extend."""


class BrowserGuard:
    """The rules described in the module docstring, for ``front.Front`` to apply to every HTTP request; the
    websocket applies ``rule`` itself."""

    def __init__(self, settings: Settings) -> None:
        self.rule = OriginRule(settings.server.allowed_origins)

    def screen(self, scope: Scope) -> Response | Decorate:
        """The answer this request gets instead of the app's (a preflight, a refusal), or what the app's
        response needs added (most requests: the safe defaults alone, with nothing allocated for them)."""
        headers = headers_of(scope)
        method = scope["method"]
        origin = request_origin(headers)
        origin_sent = b"origin" in headers
        cors = headers[b"origin"].decode("latin-1") if origin_sent and self.rule.listed(origin) else None
        if method == "OPTIONS" and origin_sent and b"access-control-request-method" in headers:
            return self._preflight(cors)
        refusal = self._refusal(scope, headers, method, origin)
        if refusal is not None:
            return _refuse(refusal, cors)
        if cors is None and not origin_sent:
            return add_safe_defaults

        def decorate(message: Message) -> None:
            out = MutableHeaders(scope=message)
            _safe_defaults(out)
            if cors is not None:
                _allow(out, cors)
            else:
                out.add_vary_header("Origin")

        return decorate

    def _refusal(self, scope: Scope, headers: dict[bytes, bytes], method: str, origin: str | None) -> str | None:
        if method not in WRITE_METHODS:
            return None
        if scope.get("path") == LOGIN_PATH:
            if (b"origin" in headers or b"referer" in headers) and not self.rule.trusted(origin, scope):
                return "sign-in from another site is refused: open chatd's own page to sign in"
            return None
        if not _cookie_only(headers) or self.rule.trusted(origin, scope):
            return None
        if b"origin" not in headers and b"referer" not in headers:
            return "a write authenticated by the session cookie needs an Origin header; scripts send X-Session-ID"
        return "cross-site request refused: this origin may not act with the chatd session cookie"

    def _preflight(self, cors: str | None) -> Response:
        if cors is None:
            return _refuse("origin not allowed: add it to server.allowed_origins", None)
        response = Response(status_code=204)
        response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
        response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE
        _allow(response.headers, cors)
        _safe_defaults(response.headers)
        return response


def _allow(headers: MutableHeaders, origin: str) -> None:
    headers["Access-Control-Allow-Origin"] = origin
    headers["Access-Control-Allow-Credentials"] = "true"
    headers.add_vary_header("Origin")


SAFE_DEFAULTS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "frame-ancestors 'none'"),
)
_RAW_SAFE_DEFAULTS = tuple((name.lower().encode(), value.encode()) for name, value in SAFE_DEFAULTS)
_SAFE_DEFAULT_NAMES = frozenset(name for name, _ in _RAW_SAFE_DEFAULTS)
_NAME = operator.itemgetter(0)


def _safe_defaults(headers: MutableHeaders) -> None:
    for name, value in SAFE_DEFAULTS:
        headers.setdefault(name, value)


def add_safe_defaults(message: Message) -> None:
    """``_safe_defaults`` on a response's raw header list: each default the response does not set itself."""
    out = list(message.get("headers", ()))
    present = set(map(bytes.lower, map(_NAME, out)))  # no loop of Python's: this runs for every answer
    if present.isdisjoint(_SAFE_DEFAULT_NAMES):  # most answers: they set none of them
        out += _RAW_SAFE_DEFAULTS
    else:
        out += [default for default in _RAW_SAFE_DEFAULTS if default[0] not in present]
    message["headers"] = out


def _refuse(message: str, cors: str | None) -> Response:
    response = Response(error_body(Code.CROSS_SITE, message), status_code=403, media_type="application/json")
    if cors is not None:
        _allow(response.headers, cors)
    else:
        response.headers.add_vary_header("Origin")
    _safe_defaults(response.headers)
    return response
