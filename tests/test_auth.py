"""Login, sessions, tokens and how every face authenticates."""

from __future__ import annotations

from typing import Awaitable

import httpx

from harness import PASSWORD, Harness, error_of


def login(chat: Harness, username: str, password: str) -> Awaitable[httpx.Response]:
    return chat.anonymous("POST", "/user/login", json={"username": username, "password": password})


async def test_login_returns_session_and_sets_httponly_cookie(chat: Harness) -> None:
    alice = await chat.user("alice")
    response = await chat.anonymous(
        "POST", "/user/login", data={"username": "alice@example.com", "password": PASSWORD}, headers={"X-Client-ID": "phone"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["id"] == alice.id and body["client_id"] == "phone"
    cookie = response.headers["set-cookie"]
    assert body["session_id"] in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


async def test_wrong_password_and_unknown_user_get_the_same_401(chat: Harness) -> None:
    await chat.user("alice")
    wrong = await chat.refused(login(chat, "alice", "nope-nope-nope"), 401, "bad_credentials")
    unknown = await chat.refused(login(chat, "nobody", "nope-nope-nope"), 401, "bad_credentials")
    assert wrong == unknown


async def test_repeated_failures_get_429_with_retry_after_until_the_window_passes(chat: Harness) -> None:
    await chat.user("alice")
    for _ in range(chat.settings.auth.login_max_failures):
        await chat.refused(login(chat, "alice", "wrong-password"), 401, "bad_credentials")
    async with chat.no_trace("a blocked login"):
        blocked = await login(chat, "alice", PASSWORD)
    error_of(blocked, 429, "rate_limited")
    assert int(blocked.headers["retry-after"]) > 0
    chat.clock.advance(chat.settings.auth.login_window_seconds + 1)
    assert (await login(chat, "alice", PASSWORD)).status_code == 200


async def test_login_without_fields_names_them(chat: Harness) -> None:
    refused = await chat.refused(chat.anonymous("POST", "/user/login", json={"username": "alice"}), 400, "invalid")
    assert refused["error"]["fields"] == {"password": "required"}


async def test_every_credential_form_authenticates(chat: Harness) -> None:
    alice = await chat.user("alice")
    token = (await alice.post("/user/tokens/create", label="bot"))["token"]
    for headers in (
        {"X-Session-ID": alice.secret},
        {"Authorization": f"Bearer {alice.secret}"},
        {"Authorization": f"Bearer {token}"},
        {"X-API-KEY": token},
        {"Cookie": f"chatd_session={alice.secret}"},
    ):
        response = await chat.anonymous("GET", "/user/read", headers=headers)
        assert response.status_code == 200, headers
        assert response.json()["id"] == alice.id


async def test_missing_or_bad_credentials_get_401_json(chat: Harness) -> None:
    for headers, code in (
        ({}, "unauthenticated"),
        ({"X-Session-ID": "forged"}, "bad_credentials"),
        ({"X-API-KEY": "chatd_forged"}, "bad_credentials"),
        ({"Authorization": "Bearer "}, "unauthenticated"),
    ):
        await chat.refused(chat.anonymous("GET", "/organisation/search", headers=headers), 401, code)


async def test_logout_ends_the_session(chat: Harness) -> None:
    alice = await chat.user("alice")
    await alice.post("/user/logout")
    await alice.get("/user/read", expect=401, code="bad_credentials")


async def test_sessions_are_listed_per_client_and_revocable_one_device_at_a_time(chat: Harness) -> None:
    alice = await chat.user("alice")
    phone = await chat.anonymous(
        "POST", "/user/login", json={"username": "alice", "password": PASSWORD}, headers={"X-Client-ID": "phone"}
    )
    phone_secret = phone.json()["session_id"]
    listed = await alice.get("/user/sessions")
    assert sorted(s["client_id"] for s in listed["items"]) == ["", "phone"]
    assert [s["current"] for s in listed["items"] if s["client_id"] == ""] == [True]
    assert (await alice.post("/user/sessions/revoke", client_id="phone"))["revoked"] == 1
    await chat.refused(chat.anonymous("GET", "/user/read", headers={"X-Session-ID": phone_secret}), 401, "bad_credentials")
    await alice.get("/user/read")
    await alice.post("/user/sessions/revoke", expect=400, code="invalid")


async def test_a_session_presented_by_another_client_is_refused(chat: Harness) -> None:
    alice = await chat.user("alice")
    response = await chat.anonymous("GET", "/user/read", headers={"X-Session-ID": alice.secret, "X-Client-ID": "other"})
    assert response.status_code == 200  # the default login had no client id: any client may use it
    phone = await chat.anonymous(
        "POST", "/user/login", json={"username": "alice", "password": PASSWORD}, headers={"X-Client-ID": "phone"}
    )
    stolen = chat.anonymous("GET", "/user/read", headers={"X-Session-ID": phone.json()["session_id"], "X-Client-ID": "laptop"})
    await chat.refused(stolen, 401, "bad_credentials")


async def test_revoked_token_stops_working(chat: Harness) -> None:
    alice = await chat.user("alice")
    created = await alice.post("/user/tokens/create", label="ci")
    assert [t["label"] for t in (await alice.get("/user/tokens"))["items"]] == ["ci"]
    await alice.post("/user/tokens/revoke", id=created["id"])
    await chat.refused(chat.anonymous("GET", "/user/read", headers={"X-API-KEY": created["token"]}), 401, "bad_credentials")
    await alice.post("/user/tokens/revoke", id=created["id"], expect=404, code="not_found")


async def test_user_search_matches_username_name_and_email_with_pages(chat: Harness) -> None:
    alice = await chat.user("alice")
    org = (await alice.post("/organisation/edit", name="Corp"))["id"]  # the directory is one's organisations
    for name in ("bob", "bobby", "carol"):
        member = await chat.user(name, email=f"{name}@corp.example")
        await alice.post("/organisation/members/add", id=org, user_id=member.id)
    await chat.user("dave", email="dave@corp.example")  # in no organisation of alice's: not found
    found = await alice.get("/user/search", query="BOB")
    assert [u["username"] for u in found["items"]] == ["bob", "bobby"]
    by_mail = await alice.get("/user/search", query="corp.example", per_page=2)
    assert by_mail["total"] == 3 and len(by_mail["items"]) == 2 and by_mail["next_page"] == 2
    second = await alice.get("/user/search", query="corp.example", per_page=2, page=2)
    assert [u["username"] for u in second["items"]] == ["carol"] and second["next_page"] is None
    await alice.get("/user/search", per_page=0, expect=400, code="invalid")
    capped = await alice.get("/user/search", per_page=100000)
    assert capped["per_page"] == chat.settings.limits.page_size_max


async def test_password_change_needs_the_old_password_and_ends_sessions(chat: Harness) -> None:
    alice = await chat.user("alice")
    await alice.post("/user/password", old_password="wrong-one", new_password="a new password", expect=403, code="forbidden")
    await alice.post("/user/password", old_password="short", new_password="x", expect=403, code="forbidden")
    await alice.post("/user/password", old_password=PASSWORD, new_password="x", expect=400, code="invalid")
    await alice.post("/user/password", old_password=PASSWORD, new_password="a new password")
    await alice.get("/user/read", expect=401, code="bad_credentials")
    response = await chat.anonymous("POST", "/user/login", json={"username": "alice", "password": "a new password"})
    assert response.status_code == 200


async def test_an_expired_session_is_refused_even_right_after_it_was_used(chat: Harness) -> None:
    """The credential cache runs on the injected clock: moving time past the session's end also ends the
    cached entry, so a cached credential never outlives its session."""
    alice = await chat.user("alice")
    await alice.get("/user/read")  # authenticated, and now cached
    chat.clock.advance(chat.settings.auth.session_ttl_days * 86_400 + 1)
    response = await alice.call("GET", "/user/read")
    assert response.status_code == 401 and response.json()["error"]["code"] == "bad_credentials"
