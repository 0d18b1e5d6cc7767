"""Every machine-readable error code chatd answers with, and the HTTP status each goes with.

One list for the core, the store, the faces and the websocket, so a code cannot be misspelt in one place and
a client can rely on the set. ``docs/api.md``'s error table lists exactly these (``tests/test_error_codes.py``
holds the two equal). Codes marked websocket-only never reach an HTTP answer.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Code(StrEnum):
    # 400: the request is malformed
    INVALID = "invalid"
    BAD_JSON = "bad_json"
    BAD_FORM = "bad_form"
    BAD_FRAME = "bad_frame"  # websocket only
    UNKNOWN_TYPE = "unknown_type"  # websocket only
    # 401: no credential, or a bad one
    UNAUTHENTICATED = "unauthenticated"
    BAD_CREDENTIALS = "bad_credentials"
    # 403: signed in, but not allowed
    FORBIDDEN = "forbidden"
    BY_REQUEST = "by_request"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    CROSS_SITE = "cross_site"  # a browser request from an origin chatd does not trust (edge/browser.py)
    # 404, 405
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    # 409: the request clashes with the state of things
    CONFLICT = "conflict"
    ARCHIVED = "archived"
    TAKEN = "taken"
    LAST_OWNER = "last_owner"
    ALREADY_MEMBER = "already_member"
    NOT_MEMBER = "not_member"
    NOT_IN_ORGANISATION = "not_in_organisation"
    DECIDED = "decided"
    ALREADY_PINNED = "already_pinned"
    NOT_PINNED = "not_pinned"
    ALREADY_FLAGGED = "already_flagged"
    NOT_FLAGGED = "not_flagged"
    ALREADY_REACTED = "already_reacted"
    NOT_REACTED = "not_reacted"
    INACTIVE = "inactive"
    UPLOAD_USED = "upload_used"
    NODE_ID_TAKEN = "node_id_taken"  # a node refusing to start, never an HTTP answer
    # 413, 429
    TOO_LARGE = "too_large"
    RANGE_NOT_SATISFIABLE = "range_not_satisfiable"  # a download's Range starts past its end (edge/ranges.py)
    RATE_LIMITED = "rate_limited"
    # 5xx
    INTERNAL = "internal"
    NOT_SUPPORTED = "not_supported"
    UNAVAILABLE = "unavailable"
    ERROR = "error"  # any other HTTP status (chatd has no more precise code for it)


STATUS: Final[dict[Code, int | None]] = {
    Code.INVALID: 400, Code.BAD_JSON: 400, Code.BAD_FORM: 400, Code.BAD_FRAME: 400, Code.UNKNOWN_TYPE: 400,
    Code.UNAUTHENTICATED: 401, Code.BAD_CREDENTIALS: 401,
    Code.FORBIDDEN: 403, Code.BY_REQUEST: 403, Code.BAD_SIGNATURE: 403, Code.EXPIRED: 403,
    Code.CROSS_SITE: 403,
    Code.NOT_FOUND: 404, Code.METHOD_NOT_ALLOWED: 405,
    Code.CONFLICT: 409, Code.ARCHIVED: 409, Code.TAKEN: 409, Code.LAST_OWNER: 409, Code.ALREADY_MEMBER: 409,
    Code.NOT_MEMBER: 409, Code.NOT_IN_ORGANISATION: 409, Code.DECIDED: 409, Code.ALREADY_PINNED: 409,
    Code.NOT_PINNED: 409, Code.ALREADY_FLAGGED: 409, Code.NOT_FLAGGED: 409, Code.ALREADY_REACTED: 409,
    Code.NOT_REACTED: 409, Code.INACTIVE: 409, Code.UPLOAD_USED: 409, Code.NODE_ID_TAKEN: 409,
    Code.TOO_LARGE: 413, Code.RANGE_NOT_SATISFIABLE: 416, Code.RATE_LIMITED: 429,
    Code.INTERNAL: 500, Code.NOT_SUPPORTED: 501, Code.UNAVAILABLE: 503, Code.ERROR: None,
}
WEBSOCKET_ONLY: Final = frozenset({Code.BAD_FRAME, Code.UNKNOWN_TYPE})
NOT_ANSWERED: Final = frozenset({Code.NODE_ID_TAKEN})
