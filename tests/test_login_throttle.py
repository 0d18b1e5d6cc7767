"""Fair login throttling (docs/security.md §3): guessing slows down with doubling delays wherever it comes
from, yet nobody can lock a user out from elsewhere; the address is the trusted proxy's forwarded one."""

from __future__ import annotations

import logging

import httpx
import pytest
from harness import PASSWORD, Harness, error_of, no_trace_between

from chatd.config import AuthSettings
from chatd.core import throttle as throttle_module
from chatd.core.clock import FakeClock
from chatd.domain.errors import RateLimited
from chatd.core.throttle import LoginThrottle, account_of
from chatd.edge.address import forwarded_client

STRANGER = "203.0.113.9"
HOME = "198.51.100.1"


@pytest.fixture
def backend() -> str:
    """The throttle is in memory and the same on every store; one backend keeps these quick."""
    return "sqlite"


@pytest.fixture
async def proxied(chat: Harness) -> Harness:
    """chatd behind a reverse proxy on 127.0.0.1, which forwards each client's address."""
    chat.settings.server.trusted_proxies = ["127.0.0.1"]
    return chat


async def _login(chat: Harness, name: str, password: str, address: str, **headers: str) -> httpx.Response:
    chat.client.cookies.clear()
    return await chat.anonymous(
        "POST", "/user/login", json={"username": name, "password": password}, headers={"X-Forwarded-For": address, **headers}
    )


async def _fail_until_throttled(chat: Harness, name: str, address: str) -> int:
    """Wrong passwords until one is refused unchecked; answers how many were checked."""
    for tried in range(100):
        before = await chat.trace()
        response = await _login(chat, name, "wrong-password", address)
        error_of(response, response.status_code, "rate_limited" if response.status_code == 429 else "bad_credentials")
        no_trace_between(before, await chat.trace(), "a wrong password")
        if response.status_code == 429:
            return tried
        assert response.status_code == 401, response.text
    raise AssertionError("never throttled")


async def test_guessing_from_one_address_waits_twice_as_long_after_each_failure(proxied: Harness) -> None:
    chat = proxied
    await chat.user("alice")
    assert await _fail_until_throttled(chat, "alice", STRANGER) == chat.settings.auth.login_max_failures
    delays = []
    for _ in range(4):
        before = await chat.trace()
        refused = await _login(chat, "alice", PASSWORD, STRANGER)  # even the right password is not checked
        error_of(refused, 429, "rate_limited")
        no_trace_between(before, await chat.trace(), "a throttled login")  # so no session was made
        delays.append(int(refused.headers["retry-after"]))
        chat.clock.advance(delays[-1])
        await chat.refused(_login(chat, "alice", "wrong-password", STRANGER), 401, "bad_credentials")
    assert delays == [1, 2, 4, 8]
    chat.clock.advance(16)
    assert (await _login(chat, "alice", PASSWORD, STRANGER)).status_code == 200


async def test_a_stranger_cannot_lock_the_owner_out_from_where_she_signs_in(proxied: Harness) -> None:
    chat = proxied
    await chat.user("alice")
    assert (await _login(chat, "alice", PASSWORD, HOME)).status_code == 200
    await _fail_until_throttled(chat, "alice", STRANGER)
    for number in range(40):  # and guessers spread over many addresses
        await _login(chat, "alice", "wrong-password", f"192.0.2.{number}")
    await chat.refused(_login(chat, "alice", PASSWORD, "192.0.2.200"), 429, "rate_limited")  # new addresses wait
    assert (await _login(chat, "alice", PASSWORD, HOME)).status_code == 200  # she still gets in from home


async def test_one_address_spraying_many_accounts_slows_down_but_not_its_known_users(proxied: Harness) -> None:
    chat = proxied
    await chat.user("alice")
    assert (await _login(chat, "alice", PASSWORD, STRANGER)).status_code == 200  # alice shares the address
    limit = chat.settings.auth.login_address_max_failures
    for number in range(limit):
        await chat.refused(_login(chat, f"victim{number}", "guess", STRANGER), 401, "bad_credentials")
    await chat.refused(_login(chat, "another-victim", "guess", STRANGER), 429, "rate_limited")
    assert (await _login(chat, "alice", PASSWORD, STRANGER)).status_code == 200
    await chat.refused(_login(chat, "another-victim", "guess", HOME), 401, "bad_credentials")  # other addresses unaffected


async def test_username_and_email_are_one_account(proxied: Harness) -> None:
    chat = proxied
    await chat.user("alice", email="alice@example.com")
    for login in ["alice", "ALICE@example.com", "Alice", "alice@example.com", " alice "]:
        await chat.refused(_login(chat, login, "wrong-password", STRANGER), 401, "bad_credentials")
    await chat.refused(_login(chat, "alice@example.com", PASSWORD, STRANGER), 429, "rate_limited")


async def test_unknown_names_count_by_their_normalised_form(proxied: Harness) -> None:
    chat = proxied
    for login in ["ghost", "GHOST", " Ghost", "ｇｈｏｓｔ", "ghost"]:  # fullwidth letters normalise too
        await chat.refused(_login(chat, login, "wrong-password", STRANGER), 401, "bad_credentials")
    await chat.refused(_login(chat, "Ghost", "wrong-password", STRANGER), 429, "rate_limited")
    await chat.refused(_login(chat, "phantom", "wrong-password", STRANGER), 401, "bad_credentials")


async def test_forwarded_addresses_count_only_behind_a_trusted_proxy(chat: Harness) -> None:
    await chat.user("alice")
    for number in range(chat.settings.auth.login_max_failures):  # X-Forwarded-For from anyone is ignored
        await chat.refused(_login(chat, "alice", "wrong-password", f"192.0.2.{number}"), 401, "bad_credentials")
    await chat.refused(_login(chat, "alice", PASSWORD, "192.0.2.99"), 429, "rate_limited")
    chat.settings.server.trusted_proxies = ["127.0.0.0/8"]
    assert (await _login(chat, "alice", PASSWORD, "192.0.2.99")).status_code == 200
    spoofed = {"X-Real-IP": "192.0.2.50", "Forwarded": "for=192.0.2.51"}
    for _ in range(chat.settings.auth.login_max_failures):
        await chat.refused(_login(chat, "alice", "wrong-password", "192.0.2.7", **spoofed), 401, "bad_credentials")
    await chat.refused(_login(chat, "alice", PASSWORD, "192.0.2.7"), 429, "rate_limited")
    assert (await _login(chat, "alice", PASSWORD, "192.0.2.50")).status_code == 200


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "client"),
    [
        ("10.0.0.2", ["198.51.100.7"], [], "10.0.0.2"),  # no trusted proxy: the header is the client's word
        ("203.0.113.1", ["198.51.100.7"], ["10.0.0.0/8"], "203.0.113.1"),  # an untrusted peer's word
        ("10.0.0.2", ["198.51.100.7"], ["10.0.0.0/8"], "198.51.100.7"),
        ("10.0.0.2", ["1.1.1.1, 198.51.100.7, 10.0.0.9"], ["10.0.0.0/8"], "198.51.100.7"),  # rightmost untrusted
        ("10.0.0.2", ["1.1.1.1", "198.51.100.7"], ["10.0.0.0/8"], "198.51.100.7"),  # repeated headers in order
        ("10.0.0.2", ["10.0.0.8, 10.0.0.9"], ["10.0.0.0/8"], "10.0.0.8"),  # all proxies: the farthest one
        ("10.0.0.2", ["nonsense, 10.0.0.9"], ["10.0.0.0/8"], "10.0.0.9"),  # garbage: its proxy is all we know
        ("10.0.0.2", ["[2001:db8::1]:4711"], ["10.0.0.0/8"], "2001:db8::1"),
        ("10.0.0.2", ["198.51.100.7:4711"], ["10.0.0.2"], "198.51.100.7"),
        ("::ffff:10.0.0.2", ["198.51.100.7"], ["10.0.0.0/8"], "198.51.100.7"),
        ("10.0.0.2", [], ["10.0.0.0/8"], "10.0.0.2"),
    ],
)
def test_the_client_address_behind_proxies(peer: str, forwarded: list[str], trusted: list[str], client: str) -> None:
    assert forwarded_client(peer, forwarded, trusted) == client


def test_the_throttle_keeps_bounded_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle_module, "MAX_KEYS", 100)
    clock = FakeClock()
    throttle = LoginThrottle(clock, AuthSettings())
    huge = "u" * (4 << 20)
    key = account_of(None, huge)[1]
    assert isinstance(key, bytes) and len(key) == 16  # a 4 MiB name costs 16 bytes, so a key's size is bounded
    assert account_of(None, f"{huge}1") != account_of(None, f"{huge}2")
    for number in range(1000):  # and so is their number (short names: hashing 1000 × 4 MiB took a minute)
        throttle.failed(account_of(None, f"guess{number}"), f"192.0.2.{number % 250}")
        throttle.succeeded(account_of(number, ""), f"198.51.100.{number % 250}")
    assert max(throttle.sizes().values()) <= 100
    with pytest.raises(RateLimited):  # the most recent failures are the ones kept
        for _ in range(10):
            throttle.failed(account_of(None, "recent"), "192.0.2.1")
            throttle.check(account_of(None, "recent"), "192.0.2.1")


async def test_failed_logins_are_logged_without_the_password(proxied: Harness, caplog: pytest.LogCaptureFixture) -> None:
    chat = proxied
    alice = await chat.user("alice")
    with caplog.at_level(logging.WARNING, logger="chatd.auth"):
        await _login(chat, "alice", "hunter2-secret", STRANGER)
        await _login(chat, "my-password-typed-as-name", "x", STRANGER)
    records = [r for r in caplog.records if r.getMessage() == "login refused"]
    assert [(r.user_id, r.address, r.reason) for r in records] == [  # type: ignore[attr-defined]
        (alice.user.id, STRANGER, "wrong_password"), (None, STRANGER, "unknown_user")
    ]
    assert "hunter2-secret" not in caplog.text and "my-password-typed-as-name" not in caplog.text
