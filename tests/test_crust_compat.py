"""Clients of the original Crust server: the envelope in and out, the JWT from login, the token in the
websocket URL (``compat.crust_envelope``, docs/api.md "Clients of the original Crust server").

``CrustClient`` behaves like the client Corteza's API-client generator writes from the spec: JSON bodies,
the spec's GET parameters in the query and its POST parameters in the body (also on GET), the JWT as a
Bearer token once it looks like one, and a call that resolves to ``response`` or rejects with ``error``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from chatd.core.users import do_create_user
from harness import PASSWORD, Actor, Harness, LiveServer, error_of, live, make_settings

pytestmark = pytest.mark.slow_on_postgresql  # a face or transport suite: SQLite every day, both in CI


class CrustError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.error = error


def looks_like_a_jwt(token: Any) -> bool:
    """What such clients check before they use a credential."""
    if not isinstance(token, str) or len(token) <= 100 or token.count(".") != 2:
        return False
    header = token.split(".")[0]
    decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    return bool(decoded == {"alg": "HS256", "typ": "JWT"})


class CrustClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.headers = {"Content-Type": "application/json"}
        self.jwt = ""

    def set_jwt(self, jwt: Any) -> None:
        if not looks_like_a_jwt(jwt):
            raise AssertionError(f"not a JWT: {jwt!r}")
        self.jwt = jwt
        self.headers["Authorization"] = "Bearer " + jwt

    async def call(self, method: str, path: str, params: dict[str, Any] | None = None, data: dict[str, Any] | None = None) -> Any:
        response = await self.http.request(
            method, path, params=params, content=orjson.dumps(data) if data is not None else None, headers=self.headers
        )
        assert response.status_code == 200, f"{method} {path}: HTTP {response.status_code} {response.text}"
        body = response.json()
        if body.get("error"):
            raise CrustError(body["error"])
        assert set(body) == {"response"}, body
        return body["response"]

    async def login(self, username: str) -> dict[str, Any]:
        answer = await self.call("POST", "/user/login", data={"username": username, "password": PASSWORD})
        self.set_jwt(answer["JWT"])
        return dict(answer)


async def enveloped_user(chat: Harness, name: str) -> tuple[Actor, dict[str, Any]]:
    """A user signed in on a deployment with the envelope on: (actor using the session id, login answer)."""
    user = await do_create_user(chat.core, name, f"{name}@example.com", PASSWORD)
    login = await chat.anonymous("POST", "/user/login", json={"username": name, "password": PASSWORD})
    assert login.status_code == 200, login.text
    answer = login.json()["response"]
    return Actor(chat, user, answer["session_id"]), answer


def compat_settings(database_url: str, tmp_path: Path, on: bool = True) -> Any:
    return make_settings(database_url, tmp_path, compat={"crust_envelope": on})


@pytest.fixture
async def crust(database_url: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with live(compat_settings(database_url, tmp_path)) as running:
        yield running


async def _client(server: LiveServer, name: str) -> tuple[CrustClient, httpx.AsyncClient, str]:
    user = await do_create_user(server.core, name, f"{name}@example.com", PASSWORD)
    http = httpx.AsyncClient(base_url=server.http)
    client = CrustClient(http)
    await client.login(name)
    return client, http, str(user.id)


async def _next(ws: ClientConnection, type: str, event: str) -> dict[str, Any]:
    while True:
        frame = orjson.loads(await ws.recv())
        if frame["type"] == type and frame.get("event") == event:
            return dict(frame)


async def test_a_client_of_the_original_server_walks_the_whole_api(crust: LiveServer) -> None:
    alice, alice_http, _ = await _client(crust, "alice")
    bob, bob_http, bob_id = await _client(crust, "bob")
    try:
        org = await alice.call("POST", "/organisation/edit", data={"name": "Acme"})
        await alice.call("POST", "/organisation/members/add", data={"id": org["id"], "user_id": bob_id})
        team = await alice.call(
            "POST", "/team/edit", data={"name": "Core", "members": [bob_id], "organisation_id": org["id"]}
        )
        assert [m["user_id"] for m in team["members"] if m["user_id"] == bob_id] == [bob_id]
        channel = await alice.call(
            "POST", "/channel/edit",
            data={"name": "general", "topic": "Hello", "organisation_id": org["id"], "team_id": team["id"]},
        )
        cid = channel["id"]
        await bob.call("POST", "/channel/join", data={"id": cid})

        async with connect(f"{crust.ws}?jwt={bob.jwt}") as socket:  # no header: the token is in the URL
            ready = orjson.loads(await socket.recv())
            assert ready["type"] == "ready" and cid in [c["id"] for c in ready["data"]["channels"]]

            posted = await alice.call("POST", "/message/edit", data={"channel_id": cid, "contents": "ship it"})
            assert (await _next(socket, "message", "CREATED"))["data"]["id"] == posted["id"]
            edited = await alice.call("POST", "/message/edit", data={"id": posted["id"], "contents": "ship it now"})
            assert edited["contents"] == "ship it now" and edited["edited"]
            assert (await _next(socket, "message", "EDITED"))["data"]["contents"] == "ship it now"

            assert (await bob.call("POST", "/message/pin", data={"id": posted["id"]}))["pinned"]
            assert (await bob.call("POST", "/message/flag", data={"id": posted["id"]}))["flagged"]
            found = await bob.call("GET", "/message/search", params={"query": "ship", "message_type": "MESSAGE"})
            assert [m["id"] for m in found["items"]] == [posted["id"]]
            history = await bob.call("GET", "/message/read", data={"channel_id": cid})  # the spec's body parameter
            assert history["items"][-1]["id"] == posted["id"] and history["items"][-1]["pinned"]

            with pytest.raises(CrustError) as refused:  # a failure is HTTP 200 with error.message
                await bob.call("POST", "/message/edit", data={"id": posted["id"], "contents": "mine now"})
            assert refused.value.error["message"] == "only the sender can edit a message"

            assert await alice.call("DELETE", "/message/remove", params={"id": posted["id"]}) == {"ok": True}
            assert (await _next(socket, "message", "REMOVED"))["data"]["id"] == posted["id"]
            with pytest.raises(CrustError):
                await bob.call("GET", "/message/read", params={"id": posted["id"]})

            assert await bob.call("POST", "/user/logout") == {"ok": True}
            with pytest.raises(ConnectionClosed) as closed:  # logging out ends the JWT's socket at once
                while True:
                    await socket.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        error_of(await bob_http.get("/channel/read", params={"id": cid}, headers=bob.headers), 401, "bad_credentials")
    finally:
        await alice_http.aclose()
        await bob_http.aclose()


async def test_the_websocket_takes_the_jwt_from_the_url_only_when_the_setting_is_on(
    database_url: str, tmp_path: Path
) -> None:
    async with live(compat_settings(database_url, tmp_path)) as server:
        client, http, _ = await _client(server, "alice")
        await http.aclose()
        with pytest.raises(InvalidStatus) as denied:
            async with connect(f"{server.ws}?jwt={client.jwt[:-2]}xx"):
                pass
        assert denied.value.response.status_code == 401
        async with connect(f"{server.ws}?jwt={client.jwt}") as socket:
            assert orjson.loads(await socket.recv())["type"] == "ready"
        server.settings.compat.crust_envelope = False
        async with connect(f"{server.ws}?jwt={client.jwt}") as socket:  # ignored: an auth frame must come
            with pytest.raises(ConnectionClosed) as closed:
                await socket.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


# --- the envelope, per deployment and per request -----------------------------------------------------


async def test_statuses_in_the_envelope(database_url: str, tmp_path: Path) -> None:
    async with Harness.running(compat_settings(database_url, tmp_path)) as chat:
        alice, _ = await enveloped_user(chat, "alice")
        # The envelope answers 200 with the error inside: a refusal is still its code, and leaves no trace.
        await chat.refused(alice.call("GET", "/channel/read", params={"id": "1"}), 200, "not_found")
        invalid = await chat.refused(alice.call("POST", "/organisation/edit", json={}), 200, "invalid")
        assert invalid["error"]["fields"] == {"name": "required"}
        org = (await alice.call("POST", "/organisation/edit", json={"name": "Acme"})).json()["response"]
        await alice.call("POST", "/organisation/archive", json={"id": org["id"]})
        await chat.refused(alice.call("POST", "/organisation/archive", json={"id": org["id"]}), 200, "archived")

        chat.client.cookies.clear()  # the login cookie would sign the next call in
        await chat.refused(chat.anonymous("GET", "/channel/read", params={"id": "1"}), 401, "unauthenticated")
        await chat.refused(alice.call("GET", "/message/edit"), 405, "method_not_allowed")
        other = (await alice.call("POST", "/organisation/edit", json={"name": "Other"})).json()["response"]
        channel = await alice.call("POST", "/channel/edit", json={"organisation_id": other["id"], "name": "general"})
        long_text = "x" * (chat.settings.limits.message_max_chars + 1)
        too_large = alice.call(
            "POST", "/message/edit", json={"channel_id": channel.json()["response"]["id"], "contents": long_text}
        )
        await chat.refused(too_large, 413, "too_large")
        for _ in range(chat.settings.auth.login_max_failures):
            wrong = chat.anonymous("POST", "/user/login", json={"username": "alice", "password": "nope"})
            await chat.refused(wrong, 401, "bad_credentials")
        throttled = await chat.anonymous("POST", "/user/login", json={"username": "alice", "password": "nope"})
        assert error_of(throttled, 429, "rate_limited") and throttled.headers["retry-after"]
        await chat.refused(alice.call("GET", "/message/nothing"), 404, "not_found")

        plain = await alice.call("GET", "/channel/read", params={"id": "1"}, headers={"X-Chatd-Envelope": "plain"})
        assert error_of(plain, 404, "not_found") and "response" not in plain.json()
        workdrive = await alice.call("GET", "/api/users")  # the envelope is the Crust face's only
        assert workdrive.status_code == 200 and "users" in workdrive.json()


async def test_a_request_may_ask_for_the_envelope_on_a_deployment_without_it(chat: Harness) -> None:
    alice = await chat.user("alice")
    asked = {"X-Chatd-Envelope": "crust"}
    login = await chat.anonymous("POST", "/user/login", json={"username": "alice", "password": PASSWORD}, headers=asked)
    answer = login.json()["response"]
    assert looks_like_a_jwt(answer["JWT"]) and answer["user"]["username"] == "alice"
    assert login.cookies.get("chatd_session") == answer["session_id"]
    org = await alice.call("POST", "/organisation/edit", json={"name": "Acme"}, headers=asked)
    assert org.status_code == 200 and org.json()["response"]["name"] == "Acme"
    refused = await alice.call("GET", "/organisation/read", params={"id": "1"}, headers=asked)
    assert refused.status_code == 200 and refused.json() == {"error": {"code": "not_found", "message": "no such organisation"}}
    plain = await chat.anonymous("POST", "/user/login", json={"username": "alice", "password": PASSWORD})
    assert "JWT" not in plain.json() and "response" not in plain.json()


# --- the JWT is a wrapper around a session ------------------------------------------------------------


async def test_the_jwt_is_accepted_wherever_a_session_id_is_and_ends_with_its_session(
    database_url: str, tmp_path: Path
) -> None:
    async with Harness.running(compat_settings(database_url, tmp_path)) as chat:
        _, answer = await enveloped_user(chat, "alice")
        jwt, session_id = answer["JWT"], answer["session_id"]
        for headers in ({"Authorization": f"Bearer {jwt}"}, {"X-Session-ID": jwt}, {"Cookie": f"chatd_session={jwt}"}):
            me = await chat.client.get("/user/read", headers=headers)
            assert me.status_code == 200 and me.json()["response"]["username"] == "alice", headers
        workdrive = await chat.client.get("/api/users", headers={"Authorization": f"Bearer {jwt}"})
        assert workdrive.status_code == 200

        header, payload, signature = jwt.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        assert claims["sid"] == session_id
        forged_claims = base64.urlsafe_b64encode(orjson.dumps({**claims, "sub": "1"})).rstrip(b"=").decode()
        none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
        for bad in (f"{header}.{forged_claims}.{signature}", f"{none_header}.{payload}.", f"{header}.{payload}." + ("y" if signature[0] == "x" else "x") + signature[1:]):
            await chat.refused(chat.client.get("/user/read", headers={"Authorization": f"Bearer {bad}"}), 401, "bad_credentials")

        sessions = await chat.client.get("/user/sessions", headers={"Authorization": f"Bearer {jwt}"})
        current = [s for s in sessions.json()["response"]["items"] if s["current"]][0]
        revoked = await chat.client.post("/user/sessions/revoke", json={"id": current["id"]}, headers={"X-Session-ID": jwt})
        assert revoked.json()["response"] == {"revoked": 1}
        await chat.refused(chat.client.get("/user/read", headers={"Authorization": f"Bearer {jwt}"}), 401, "bad_credentials")


async def test_the_jwt_expires_with_its_session(database_url: str, tmp_path: Path) -> None:
    async with Harness.running(compat_settings(database_url, tmp_path)) as chat:
        _, answer = await enveloped_user(chat, "alice")
        jwt = answer["JWT"]
        chat.clock.advance(chat.settings.auth.session_ttl_days * 86_400 + 1)
        expired = await chat.refused(chat.client.get("/user/read", headers={"Authorization": f"Bearer {jwt}"}), 401, "bad_credentials")
        assert "expired" in expired["error"]["message"]
