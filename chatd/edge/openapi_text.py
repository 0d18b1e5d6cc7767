"""The prose of the OpenAPI document: its description, the tags (one per face and area) and the meaning of
each error status. Everything else in the document is generated (``openapi.py``)."""

from __future__ import annotations

from typing import Final

DESCRIPTION: Final = """\
chatd serves two HTTP faces over one core, plus a websocket that this document does not describe
(docs/websocket.md):

- **Crust** (`/user/…`, `/organisation/…`, `/team/…`, `/channel/…`, `/message/…`, `/file/…`): snake_case,
  the Crust messaging API and chatd's additions (docs/api.md).
- **WorkDrive** (`/api/…`): camelCase, the chat part of the WorkDrive API (docs/workdrive.md); the rest of
  that spec answers 501.
- **Operations**: `/healthz`, `/readyz`, `/metrics`, and this document: `/openapi.json`, browsable at `/docs`.

This document is generated from the code: paths from the server's route table, parameters from the pydantic
models that validate them, answers from the types the answers are built as. A test runs schemathesis against
a live server with it, so what it says is what the server does.

## Authentication

Operations with a security requirement take any one credential: `X-Session-ID` (the session id from
`POST /user/login`, with `X-Client-ID` if the session was made with one), `Authorization: Bearer` (a
session id, an access token, or the JWT of the Crust envelope), `X-API-KEY` (an access token), or the
`chatd_session` cookie that login sets. Missing or bad: 401.

## Parameters

chatd reads every parameter from the query string, a JSON object body or a form body (urlencoded or
multipart) alike; with the same name in the query and the body, the body wins. This document lists each
operation's parameters where a client would send them: for `GET` and `DELETE` in the query string, for
`POST`, `PUT` and `PATCH` in the body, as JSON (and on the Crust face also as an urlencoded form, when no
parameter is an object). Uploads are `multipart/form-data` with a `file` part. A list parameter in a query
string or form is repeated keys (`id=1&id=2`), `id[]=…`, or one comma-separated value. Unknown parameters
are ignored.

## Ids and times

Ids are 64-bit integers, sent as strings of digits; as input, a string of ASCII digits or a JSON number.
Times are UTC ISO 8601 with milliseconds (`2026-11-24T02:27:10.004Z`).

## Errors

Every failure has the body `{"error": {"code", "message", "fields"}}`: `code` is machine-readable, one per
cause, and `fields` (on 400s) names each bad parameter. Each status, and the codes it comes with, is under
`components.responses`. Operations list every status they may answer.

## The Crust envelope

Answers are described in chatd's own form. On the Crust face, a request that sends
`X-Chatd-Envelope: crust`, or every request on a deployment with `compat.crust_envelope = true` (unless it
sends `X-Chatd-Envelope: plain`), gets the original Crust server's envelope instead: a success is
`{"response": <the answer described here>}` with HTTP 200, and `POST /user/login` adds `JWT`; a failure
keeps the error body but answers HTTP 200 where it would be 400, 403, 404 or 409 (401, 405, 413, 416, 429,
500 and 503 keep their status). Downloads are never wrapped. See docs/api.md, "Clients of the original Crust
server".

## Pagination

Crust listings take `page` and `per_page` and answer `{items, page, per_page, total, next_page}`;
WorkDrive listings take `cur_page` and `per_page` and answer their items with the spec's `meta`.

## Stability

The answers' schemas are closed (`additionalProperties: false`): they list every field chatd sends now, so
the test fails when the code and this document disagree. Clients should still ignore fields they do not
know: later versions may add some.
"""

_CRUST = " Crust face: the envelope applies (see the description)."

TAGS: Final[dict[str, tuple[str, str]]] = {
    "ops": ("Operations", "Health, readiness and metrics for operators; no credential."),
    "apidocs": ("API description", "This document and its browsable page; no credential."),
    "crust.users": ("Crust: users and sessions", "Login, the directory, one's own sessions and tokens." + _CRUST),
    "crust.orgs": ("Crust: organisations", "Organisations and their members." + _CRUST),
    "crust.teams": ("Crust: teams", "Teams of an organisation." + _CRUST),
    "crust.channels": ("Crust: channels", "Channels, their membership, moving and merging." + _CRUST),
    "crust.messages": ("Crust: messages", "Posting, history, search, pins, flags and reactions." + _CRUST),
    "crust.files": ("Crust: files", "Uploads, downloads and thumbnails (downloads are never enveloped)." + _CRUST),
    "workdrive.users": ("WorkDrive: users", "The organisation directory."),
    "workdrive.organization": ("WorkDrive: organization", "Opening and editing an organisation."),
    "workdrive.tokens": ("WorkDrive: access tokens", "Tokens an organisation admin mints for its users."),
    "workdrive.media": ("WorkDrive: media", "Presigned uploads in two steps."),
    "workdrive.group_chats": ("WorkDrive: group chats", "Group chats and their join requests."),
    "workdrive.messages": ("WorkDrive: messages", "Messages of a conversation."),
    "workdrive.meetings": ("WorkDrive: meetings", "Meetings scheduled in a conversation."),
    "workdrive.unsupported": (
        "WorkDrive: not served",
        "The WorkDrive spec's endpoints chatd does not serve: each answers 501 saying why (docs/workdrive.md).",
    ),
}

ERROR_TEXT: Final[dict[int, str]] = {
    400: "A parameter is missing or malformed (`fields` names each), or the body is not JSON or a form",
    401: "No credential, or a bad one",
    403: "Signed in, but not allowed",
    404: "No such thing, or one the caller may not see",
    405: "Wrong HTTP method",
    409: "Clashes with the state of things (archived, taken, already done …)",
    413: "The body or upload is above its limit",
    416: "The `Range` asked for starts past the end of the file (`Content-Range: bytes */<length>`)",
    429: "Too many requests: retry after `Retry-After` seconds",
    500: "A bug: logged, answered without internals",
    501: "Not supported by chatd",
    503: "Unavailable for now (shutting down, or a dependency is down): retry",
}
