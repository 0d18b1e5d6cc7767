"""Cross-site protection and CORS at the edge (``chatd/edge/browser.py``), on both databases.

The harness serves ``http://chatd.test``: that is the server's own origin here. The browser tests
(``test_web_client.py``) repeat the form POST and the ``fetch`` from a foreign page in chromium.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from harness import PASSWORD, Actor, Harness, make_settings
from live import LiveServer, live, team

OWN = "http://chatd.test"
LISTED = "https://App.Example.com"


@pytest.fixture
async def guarded(database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    """A chatd that lists one foreign origin (in mixed case, as an operator might write it)."""
    settings = make_settings(database_url, tmp_path, server={"allowed_origins": [LISTED + "/"]})
    async with Harness.running(settings) as harness:
        yield harness


async def _channel(actor: Actor) -> str:
    org = (await actor.post("/organisation/edit", name="Acme"))["id"]
    return str((await actor.post("/channel/edit", organisation_id=org, name="general"))["id"])


async def _cookie_post(chat: Harness, actor: Actor, channel: str, text: str, **headers: str) -> Any:
    """A form POST carrying only the session cookie, as a browser sends one from a page."""
    return await chat.client.post(
        "/message/edit",
        data={"channel_id": channel, "contents": text},
        headers={"Cookie": f"chatd_session={actor.secret}", **headers},
    )


async def _contents(actor: Actor, channel: str) -> list[str]:
    history = await actor.get("/message/read", channel_id=channel)
    return [m["contents"] for m in history["items"] if m["type"] == "MESSAGE"]


async def test_cookie_writes_from_other_origins_are_refused_and_write_nothing(chat: Harness) -> None:
    alice = await chat.user("alice")
    channel = await _channel(alice)
    chat.client.cookies.clear()
    for headers in (
        {"Origin": "http://evil.example"},
        {"Origin": "http://chatd.test:8081"},  # same site, another port
        {"Origin": "http://sub.chatd.test"},  # a sibling subdomain
        {"Origin": "https://chatd.test"},  # another scheme
        {"Origin": "null"},  # a sandboxed frame or a privacy redirect
        {"Referer": "http://evil.example/page.html"},
        {},  # neither header: only a forged or stripped request looks like this
    ):
        refused = await _cookie_post(chat, alice, channel, "forged", **headers)
        assert refused.status_code == 403, headers
        assert refused.json()["error"]["code"] == "cross_site"
        assert "access-control-allow-origin" not in refused.headers
    assert await _contents(alice, channel) == []


async def test_every_write_method_with_the_cookie_is_checked(chat: Harness) -> None:
    """Not only form POSTs: an upload (PUT) and a removal (DELETE) from a foreign page are refused too, and
    change nothing; from our own page they work."""
    alice = await chat.user("alice")
    channel = await _channel(alice)
    kept = (await alice.post("/message/edit", channel_id=channel, contents="keep me"))["id"]
    chat.client.cookies.clear()
    cookie = {"Cookie": f"chatd_session={alice.secret}"}
    for origin in ("http://evil.example", "http://chatd.test:8081"):
        headers = {**cookie, "Origin": origin}
        upload = await chat.client.put(
            "/message/attach", data={"channel_id": channel}, files={"file": ("a.txt", b"hi", "text/plain")}, headers=headers
        )
        removal = await chat.client.request("DELETE", "/message/remove", params={"id": kept}, headers=headers)
        for refused in (upload, removal):
            assert refused.status_code == 403 and refused.json()["error"]["code"] == "cross_site", refused.text
    history = await alice.get("/message/read", channel_id=channel)
    assert [m["contents"] for m in history["items"] if m["type"] != "CREATE"] == ["keep me"]
    removal = await chat.client.request("DELETE", "/message/remove", params={"id": kept}, headers={**cookie, "Origin": OWN})
    assert removal.status_code == 200, removal.text


async def test_cookie_writes_from_our_own_page_work(chat: Harness) -> None:
    alice = await chat.user("alice")
    channel = await _channel(alice)
    chat.client.cookies.clear()
    for text, headers in (
        ("by origin", {"Origin": OWN}),
        ("by case", {"Origin": "HTTP://ChatD.test:80"}),
        ("by referer", {"Referer": f"{OWN}/#/channel/1"}),
    ):
        response = await _cookie_post(chat, alice, channel, text, **headers)
        assert response.status_code == 200, response.text
    assert await _contents(alice, channel) == ["by origin", "by case", "by referer"]


async def test_header_credentials_are_not_checked_for_origin(chat: Harness) -> None:
    alice = await chat.user("alice")
    channel = await _channel(alice)
    token = (await alice.post("/user/tokens/create", label="bot"))["token"]
    chat.client.cookies.clear()
    for headers in ({"X-Session-ID": alice.secret}, {"Authorization": f"Bearer {token}"}, {"X-API-KEY": token}):
        response = await chat.client.post(
            "/message/edit", json={"channel_id": channel, "contents": "bot"}, headers={"Origin": "http://evil.example", **headers}
        )
        assert response.status_code == 200, headers
    assert len(await _contents(alice, channel)) == 3


async def test_reads_with_the_cookie_are_not_refused_but_get_no_cors(chat: Harness) -> None:
    alice = await chat.user("alice")
    chat.client.cookies.clear()
    response = await chat.client.get(
        "/user/read", headers={"Cookie": f"chatd_session={alice.secret}", "Origin": "http://evil.example"}
    )
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-credentials" not in response.headers
    assert "Origin" in response.headers["vary"]


async def test_sign_in_from_another_site_is_refused(chat: Harness) -> None:
    await chat.user("alice")
    body = {"username": "alice", "password": PASSWORD}
    foreign = await chat.anonymous("POST", "/user/login", data=body, headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == "cross_site"
    assert "set-cookie" not in foreign.headers
    own = await chat.anonymous("POST", "/user/login", data=body, headers={"Origin": OWN})
    assert own.status_code == 200
    scripted = await chat.anonymous("POST", "/user/login", data=body)  # curl, bots: no browser, no Origin
    assert scripted.status_code == 200


async def test_every_response_forbids_framing_and_sniffing(chat: Harness) -> None:
    alice = await chat.user("alice")
    for response in (
        await alice.call("GET", "/user/read"),
        await chat.anonymous("GET", "/healthz"),
        await chat.anonymous("GET", "/no/such/path"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_listed_origin_gets_cors_with_credentials(guarded: Harness) -> None:
    alice = await guarded.user("alice")
    channel = await _channel(alice)
    guarded.client.cookies.clear()
    origin = "https://app.example.com"
    preflight = await guarded.client.options(
        "/message/edit",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == origin
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "Content-Type" in preflight.headers["access-control-allow-headers"]
    posted = await _cookie_post(guarded, alice, channel, "from the app", Origin=origin)
    assert posted.status_code == 200
    assert posted.headers["access-control-allow-origin"] == origin
    assert posted.headers["access-control-allow-credentials"] == "true"
    assert await _contents(alice, channel) == ["from the app"]
    assert "Origin" in posted.headers["vary"]  # an answer for one origin is never cached for another
    for spelled in ("https://app.example.com:443", "HTTPS://APP.EXAMPLE.COM"):  # scheme and host in any case
        again = await guarded.client.options(
            "/message/remove", headers={"Origin": spelled, "Access-Control-Request-Method": "DELETE"}
        )
        assert again.status_code == 204 and again.headers["access-control-allow-origin"] == spelled
        assert "DELETE" in again.headers["access-control-allow-methods"]
    for other in ("https://app.example.com:8443", "http://app.example.com", "https://evil.app.example.com"):
        refused = await guarded.client.options("/message/edit", headers={"Origin": other, "Access-Control-Request-Method": "POST"})
        assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers, other


async def test_other_origins_get_no_cors_at_all(guarded: Harness) -> None:
    alice = await guarded.user("alice")
    channel = await _channel(alice)
    guarded.client.cookies.clear()
    preflight = await guarded.client.options(
        "/message/edit", headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 403 and preflight.json()["error"]["code"] == "cross_site"
    assert not [h for h in preflight.headers if h.startswith("access-control-")]
    refused = await _cookie_post(guarded, alice, channel, "forged", Origin="https://evil.example.com")
    assert refused.status_code == 403
    assert not [h for h in refused.headers if h.startswith("access-control-")]
    own = await _cookie_post(guarded, alice, channel, "own page", Origin=OWN)  # a list does not lock out our page
    assert own.status_code == 200
    assert "access-control-allow-origin" not in own.headers  # same origin needs no CORS
    assert await _contents(alice, channel) == ["own page"]


async def test_websocket_uses_the_same_origin_rule(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, server={"allowed_origins": [LISTED]})
    async with live(settings) as server:
        (alice,), _ = await team(server, "alice")
        cookie = {"Cookie": f"chatd_session={alice.secret}"}
        for origin in ("https://APP.example.com", f"http://127.0.0.1:{server.port}"):
            async with connect(server.ws, additional_headers=cookie, origin=origin) as ws:  # type: ignore[arg-type]
                assert '"ready"' in str(await ws.recv())
        for origin in ("https://evil.example.com", f"http://127.0.0.1:{server.port + 1}", "null"):
            with pytest.raises(InvalidStatus) as denied:
                async with connect(server.ws, additional_headers=cookie, origin=origin):  # type: ignore[arg-type]
                    pass
            assert denied.value.response.status_code == 403
            assert b"cross_site" in denied.value.response.body


async def test_an_admin_creates_a_colleague_who_can_sign_in(chat: Harness) -> None:
    alice = await chat.user("alice")
    org = (await alice.post("/organisation/edit", name="Acme"))["id"]
    made = await alice.post(
        "/user/create", organisation_id=org, email="bob@example.com", username="bob", password="a long password",
        first_name="Bob", last_name="Builder",
    )
    assert made["username"] == "bob" and made["display_name"] == "Bob Builder"
    members = await alice.get("/organisation/members", id=org)
    assert {m["user_id"]: m["role"] for m in members["items"]}[made["id"]] == "member"
    login = await chat.anonymous("POST", "/user/login", json={"username": "bob", "password": "a long password"})
    assert login.status_code == 200
    bob = Actor(chat, alice.user, login.json()["session_id"])
    refused = await bob.post("/user/create", expect=403, organisation_id=org, email="eve@example.com")
    assert refused["error"]["code"] == "forbidden"
    taken = await alice.post("/user/create", expect=409, organisation_id=org, email="b2@example.com", username="bob")
    assert taken["error"]["code"] == "taken" and "username" in taken["error"]["fields"]
    bad = await alice.post("/user/create", expect=400, organisation_id=org, email="not-an-email")
    assert "email" in bad["error"]["fields"]


async def test_ready_lists_who_is_online(server: LiveServer) -> None:
    (alice, bob), _ = await team(server, "alice", "bob")
    async with bob.socket():
        async with alice.socket() as sock:
            assert sock.ready["data"]["presence"].get(bob.id) == "online"
