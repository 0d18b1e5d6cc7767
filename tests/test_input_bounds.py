"""Every input is bounded (docs/security.md): bodies before they are read, every string, nesting, and every
id or page number, on every face and on websocket frames; a bad input is a 4xx, never a 500 or a drop."""

from __future__ import annotations

from typing import Any, AsyncIterator, Awaitable

import httpx
import orjson
import pytest
from harness import Actor, Harness, LiveServer, error_of, no_trace_between, team, workdrive_org
from starlette.routing import Route

from chatd.app import _routes
from chatd.domain.errors import BadRequest
from chatd.edge import bounds
from chatd.edge.params import Id, Params, validate
from chatd.faces.workdrive.unsupported import UNSUPPORTED

pytestmark = pytest.mark.slow_on_postgresql  # a face or transport suite: SQLite every day, both in CI

BEYOND_64_BITS = "99999999999999999999"
NOT_ASCII_DIGITS = ["²", "٣", "１２"]  # superscript two, Arabic-Indic three, fullwidth twelve


def _nested(depth: int, leaf: Any = "x") -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


async def _refused(chat: Harness, request: Awaitable[httpx.Response], status: int, code: str) -> dict[str, Any]:
    """The refusal's error object: ``status``, ``code``, nothing stored or published (``Harness.refused``)."""
    return (await chat.refused(request, status, code))["error"]  # type: ignore[no-any-return]


# Bodies -------------------------------------------------------------------------------------------------


async def test_a_body_over_the_limit_is_refused_with_413_before_it_is_read(chat: Harness) -> None:
    huge = orjson.dumps({"username": "u" * (5 << 20), "password": "p"})
    login = chat.anonymous("POST", "/user/login", content=huge, headers={"content-type": "application/json"})
    assert "4 MiB (4,194,304 bytes)" in (await _refused(chat, login, 413, "too_large"))["message"]
    form = chat.anonymous("POST", "/user/login", data={"username": "u" * (5 << 20), "password": "p"})
    await _refused(chat, form, 413, "too_large")


async def test_a_chunked_body_is_counted_as_it_arrives(chat: Harness) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"username": "'
        for _ in range(80):
            yield b"u" * 65536
        yield b'", "password": "p"}'

    request = chat.anonymous("POST", "/user/login", content=chunks(), headers={"content-type": "application/json"})
    before = await chat.trace()
    response = await request
    assert "content-length" not in response.request.headers
    error_of(response, 413, "too_large")
    no_trace_between(before, await chat.trace(), "a chunked body over the limit")


async def test_uploads_have_their_own_larger_limit(chat: Harness) -> None:
    alice = await chat.user("alice")
    chat.core.settings.limits.body_max_bytes = 4096
    chat.core.settings.limits.upload_max_bytes = 200_000
    upload = await alice.call("POST", "/file/upload", files={"file": ("a.bin", b"x" * 150_000, "application/octet-stream")})
    assert upload.status_code == 200, upload.text
    await alice.post("/user/tokens/create", label="x" * 5000, expect=413, code="too_large")
    # a multipart body to a route that takes no upload gets the small limit, file part or not
    other = alice.call("POST", "/user/tokens/create", files={"file": ("a.bin", b"x" * 150_000, "text/plain")})
    await _refused(chat, other, 413, "too_large")
    too_big = alice.call("POST", "/file/upload", files={"file": ("a.bin", b"x" * 300_000, "text/plain")})
    await _refused(chat, too_big, 413, "too_large")


# Strings and nesting ---------------------------------------------------------------------------------------


async def test_every_string_is_bounded_unless_its_field_says_longer(chat: Harness) -> None:
    alice = await chat.user("alice")
    login = chat.anonymous("POST", "/user/login", json={"username": "u" * 5000, "password": "p"})
    assert "username" in (await _refused(chat, login, 400, "invalid"))["fields"]
    org = (await alice.post("/organisation/edit", name="Acme"))["id"]
    long_name = await alice.post("/channel/edit", organisation_id=org, name="n" * 5000, expect=400, code="invalid")
    assert long_name["error"]["fields"] == {"name": "at most 4096 characters"}
    cid = (await alice.post("/channel/edit", organisation_id=org, name="general"))["id"]
    posted = await alice.post("/message/edit", channel_id=cid, contents="c" * 20_000)  # contents declare more
    assert len(posted["contents"]) == 20_000
    await alice.post("/channel/edit", organisation_id=org, name="x", **{"k" * 5000: 1}, expect=400, code="invalid")


async def test_nesting_is_bounded(chat: Harness) -> None:
    alice = await chat.user("alice")
    org = (await alice.post("/organisation/edit", name="Acme"))["id"]
    deep = await alice.post("/channel/edit", organisation_id=org, name=_nested(40), expect=400, code="invalid")
    assert "nested deeper than 16 levels" in deep["error"]["message"]
    deeper = alice.call("POST", "/channel/edit", content=b"[" * 5000 + b"]" * 5000, headers={"content-type": "application/json"})
    await _refused(chat, deeper, 400, "bad_json")
    wd = await workdrive_org(chat, root=await chat.user(admin=True))
    await wd.admin.patch(f"/api/organization/{wd.id}", address={"street": _nested(30)}, expect=400, code="invalid")


async def test_integers_are_ascii_digits_within_64_bits(chat: Harness) -> None:
    alice = await chat.user("alice")
    org = (await alice.post("/organisation/edit", name="Acme"))["id"]
    cid = (await alice.post("/channel/edit", organisation_id=org, name="general"))["id"]
    for bad in [*NOT_ASCII_DIGITS, BEYOND_64_BITS, "1" * 5000]:
        await alice.get("/channel/read", id=bad, expect=400, code="invalid")
        await alice.get("/message/read", channel_id=cid, limit=bad, expect=400, code="invalid")
    await alice.post("/message/read", channel_id=cid, limit=2**70, expect=405, code="method_not_allowed")
    big = await alice.get("/message/read", channel_id=cid, limit=str(2**64), expect=400, code="invalid")
    assert "limit" in big["error"]["fields"]


class _Mixed(Params):
    """Fields of every kind ``check_integers`` looks into or, bounded by their own parser, skips."""

    id: Id
    ids: list[Id] | None = None
    name: str = ""
    flag: bool = False
    count: int = 0
    counts: list[int] = []
    table: dict[str, int] = {}
    either: int | str = ""


@pytest.mark.parametrize("field", ["count", "counts", "table", "either", "id", "ids"])
def test_an_integer_beyond_64_bits_is_refused_in_any_field_that_holds_one(field: str) -> None:
    big = 2**64
    value: Any = {"counts": [1, big], "table": {"k": big}, "ids": [1, big]}.get(field, big)
    with pytest.raises(BadRequest) as refused:
        validate(_Mixed, {"id": 1, field: value})
    assert field in str(refused.value.fields)


def test_only_fields_no_parser_bounded_are_walked_after_validation() -> None:
    assert [key for _, key in bounds._unchecked_fields(_Mixed)] == ["either", "table", "counts", "count"]


# Ids and page numbers: the 500s of issue 13, on both databases -------------------------------------------


async def _listings(chat: Harness) -> tuple[Actor, list[tuple[str, dict[str, str], str]]]:
    """Every paged listing of both faces: (path, required parameters, the page parameter's name)."""
    wd = await workdrive_org(chat, root=await chat.user(admin=True))
    admin = wd.admin
    group = await admin.post("/api/group-chats", title="Launch", isPrivate=True, byRequest=True)
    listings = [
        ("/user/search", {}, "page"),
        ("/organisation/search", {}, "page"),
        ("/organisation/members", {"id": wd.id}, "page"),
        ("/team/search", {"organisation_id": wd.id}, "page"),
        ("/channel/search", {"organisation_id": wd.id}, "page"),
        ("/message/search", {"query": "hello"}, "page"),
        ("/message/flags", {}, "page"),
        ("/api/users", {}, "cur_page"),
        ("/api/group-chats", {}, "cur_page"),
        (f"/api/{group['id']}/messages", {}, "cur_page"),
        (f"/api/group-chats/{group['id']}/join-requests", {}, "cur_page"),
    ]
    return admin, listings


async def test_a_page_number_beyond_64_bits_is_a_400_on_every_listing(chat: Harness) -> None:
    admin, listings = await _listings(chat)
    for path, params, page in listings:
        assert (await admin.call("GET", path, params=params)).status_code == 200, path
        for bad in [BEYOND_64_BITS, "²", "0", "-1"]:
            await admin.get(path, **params, **{page: bad}, expect=400, code="invalid")
        last = await admin.call("GET", path, params={**params, page: str(2**63 - 1)})
        assert last.status_code == 200, f"{path}: {last.text}"


def _workdrive_paths_with_ids() -> list[tuple[str, str]]:
    """Every WorkDrive route with an id in its path that chatd serves (the spec's others answer 501)."""
    unsupported = {(method, path) for method, path, _ in UNSUPPORTED}
    found = []
    for route in _routes():
        if isinstance(route, Route) and route.path.startswith("/api/") and "{" in route.path:
            for method in sorted((route.methods or set()) - {"HEAD"}):
                if (method, route.path) not in unsupported:
                    found.append((method, route.path))
    return found


def test_the_workdrive_routes_with_path_ids_are_all_found() -> None:
    assert len(_workdrive_paths_with_ids()) >= 12


@pytest.mark.parametrize("bad", [*NOT_ASCII_DIGITS, BEYOND_64_BITS, "0"])
async def test_a_path_id_that_is_not_ascii_digits_is_a_400_on_every_workdrive_route(chat: Harness, bad: str) -> None:
    wd = await workdrive_org(chat, root=await chat.user(admin=True))
    for method, template in _workdrive_paths_with_ids():
        path = template
        for name in ("conversationId", "requestId", "id"):
            path = path.replace("{" + name + "}", bad)
        refused = await wd.admin.request(method, path, 400, "invalid", json={} if method in ("POST", "PATCH") else None)
        assert refused["error"]["fields"], f"{method} {template}: {refused}"


# Websocket frames: an error frame, and the socket stays open -----------------------------------------------


async def test_bad_frames_get_error_frames_and_the_socket_stays_open(server: LiveServer) -> None:
    (alice,), org = await team(server, "alice")
    cid = (await alice.post("/channel/edit", organisation_id=org, name="general"))["id"]
    async with alice.socket() as sock:
        await sock.ws.send('{"type": "ping", "ref": ' + "[" * 300 + "]" * 300 + "}")  # too deep to echo
        assert (await sock.expect("error"))["error"]["fields"] == {"ref": "must be a number or a string of at most 128 characters"}
        await sock.ws.send("[" * 3000 + "]" * 3000)
        assert (await sock.expect("error"))["error"]["code"] == "bad_json"
        await sock.ws.send("[1, 2]")
        assert (await sock.expect("error"))["error"]["code"] == "bad_frame"
        frames: list[dict[str, Any]] = [
            {"type": "message.send", "channel_id": _nested(40), "contents": "x"},
            {"type": "message.send", "channel_id": cid, "contents": "x", "ref2": _nested(40)},
            {"type": "message.send", "channel_id": cid, "contents": "x", "client_msg_id": "c" * 5000},
            *({"type": "message.send", "channel_id": bad, "contents": "x"} for bad in [*NOT_ASCII_DIGITS, BEYOND_64_BITS]),
            {"type": "history", "channel_id": cid, "limit": BEYOND_64_BITS},
            {"type": "history", "channel_id": cid, "limit": 2**64 - 1},
            {"type": "resume", "channels": {"٣": 0}},
            {"type": "resume", "channels": {cid: 2**64 - 1}},
            {"type": "resume", "channels": {BEYOND_64_BITS: 0}},
        ]
        for frame in frames:
            answer = await sock.call(frame.pop("type"), **frame)
            assert answer["type"] == "error" and answer["error"]["code"] == "invalid", answer
        await sock.ws.send('{"type": "history", "ref": "big", "channel_id": "%s", "limit": 1%s}' % (cid, "0" * 30))
        refused = await sock.expect("error", ref="big")
        assert refused["error"]["code"] == "invalid" and list(refused["error"]["fields"]) == ["limit"]
        assert await sock.drain() == []  # no refused frame sent a message (alice would have got it)
        assert [m for m in (await alice.get("/message/read", channel_id=cid))["items"] if m["type"] == "MESSAGE"] == []
        assert (await sock.call("ping"))["type"] == "pong"
        sent = await sock.call("message.send", channel_id=cid, contents="still here")
        assert sent["type"] == "ack"
