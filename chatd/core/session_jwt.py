"""The credential clients of the original Crust server expect: a JWT (HS256) that wraps a session id.

That server answered login with a JWT, and its clients check that the credential looks like one (three
base64url parts, a header ``{"alg": "HS256", "typ": "JWT"}``, more than 100 characters). chatd's JWT is
only a wrapper around a session: its ``sid`` claim is the session id itself, so verifying it means checking
the signature and then the session exactly as for ``X-Session-ID`` (``auth.authenticate``). Logout,
revocation, a password change or a suspended account end it at once, like the session it carries.

Why the session id and not a reference to the session row: a leaked signing key alone then forges nothing
(a JWT must carry a live session id), and the credential cache, the client-id binding and revocation need no
second path. The JWT is exactly as secret as the session id inside it and is handled as such: it is never
logged (``chatd/logs.py`` redacts it from URLs).

Written with ``hmac`` and ``base64`` rather than a JWT library: chatd only ever verifies tokens it issued, so
it accepts exactly the header it writes and nothing else. None of a general decoder's choices (``alg``
negotiation, ``none``, key ids, critical headers) exist here to get wrong, and no dependency is added.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any

import orjson

from ..domain.codes import Code
from ..domain.errors import Unauthenticated
from .context import Core
from .secrets import derived_key

_PURPOSE = b"chatd crust session jwt v1"


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


HEADER = _encode(orjson.dumps({"alg": "HS256", "typ": "JWT"}))


def _signature(core: Core, signed: str) -> str:
    return _encode(hmac.new(derived_key(core, _PURPOSE), signed.encode("ascii"), hashlib.sha256).digest())


def looks_like_jwt(secret: str) -> bool:
    """Session ids and access tokens never contain a dot; a JWT is three dot-separated parts."""
    return secret.count(".") == 2


def issue(core: Core, session_id: str, user_id: int, expires_at_ms: int) -> str:
    """A JWT for this session, expiring with it."""
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "sid": session_id,
        "iat": core.clock.now_ms() // 1000,
        "exp": expires_at_ms // 1000,
    }
    signed = f"{HEADER}.{_encode(orjson.dumps(claims))}"
    return f"{signed}.{_signature(core, signed)}"


def unwrap(core: Core, token: str) -> tuple[str, int]:
    """(session id, user id) from a JWT chatd issued and that has not expired; 401 for anything else."""
    header, _, rest = token.partition(".")
    payload, _, signature = rest.partition(".")
    if header != HEADER:
        raise Unauthenticated("not a JWT issued by this server", code=Code.BAD_CREDENTIALS)
    expected = _signature(core, f"{header}.{payload}")
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii", "replace")):
        raise Unauthenticated("the JWT's signature does not match", code=Code.BAD_CREDENTIALS)
    try:
        claims = orjson.loads(_decode(payload))
        session_id, user_id, expires = str(claims["sid"]), int(claims["sub"]), int(claims["exp"])
    except (ValueError, KeyError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise Unauthenticated("the JWT's claims are malformed", code=Code.BAD_CREDENTIALS) from None
    if expires * 1000 <= core.clock.now_ms():
        raise Unauthenticated("the JWT has expired; log in again", code=Code.BAD_CREDENTIALS)
    return session_id, user_id
