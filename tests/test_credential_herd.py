"""Concurrent misses of one credential share one lookup (``CredentialCache.load``, docs/scaling.md): a herd of
requests on a credential not (or no longer) cached reads it once, refusal or not; a revocation during that
read keeps its answer out of the cache; a waiter that leaves harms no other; clients do not share answers."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

import httpx
import pytest

from chatd.core.admin import do_set_active
from chatd.core.credential_cache import CredentialCache
from chatd.domain.models import Principal
from harness import PASSWORD, Harness, error_of

HERD = 16


class Herd:
    """Holds the lookups of ``clients``' misses until ``size`` of them have reached the cache, so every one
    of them misses while a lookup is under way, and counts the lookups (store reads) that ran. The lookup
    reads first and is held after, as a slow store would hold it: a revocation can land between the two."""

    def __init__(self, chat: Harness, monkeypatch: pytest.MonkeyPatch, size: int, clients: set[str]) -> None:
        self.size, self.clients = size, clients
        self.arrived: list[asyncio.Task[Any] | None] = []  # the request behind each miss, in order
        self.lookups = 0
        self.all_in = asyncio.Event()
        self.read = asyncio.Event()  # a lookup has read the store and is held
        self.release = asyncio.Event()
        credentials: CredentialCache = chat.core.credentials
        load = credentials.load

        async def held_load(key: str, client_id: str, look_up: Callable[[], Awaitable[Principal]]) -> Principal:
            if client_id not in self.clients:
                return await load(key, client_id, look_up)
            self.arrived.append(asyncio.current_task())
            if len(self.arrived) >= self.size:
                self.all_in.set()

            async def counted() -> Principal:
                self.lookups += 1
                try:
                    return await look_up()
                finally:
                    self.read.set()
                    await self.all_in.wait()
                    await self.release.wait()

            return await load(key, client_id, counted)

        monkeypatch.setattr(chat.core.credentials, "load", held_load)

    def go(self) -> None:
        self.release.set()


def herd(chat: Harness, size: int, headers: dict[str, str]) -> list[asyncio.Task[httpx.Response]]:
    return [asyncio.ensure_future(chat.anonymous("GET", "/user/read", headers=headers)) for _ in range(size)]


async def test_a_herd_on_one_fresh_credential_reads_it_once(chat: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """16 requests on a session not yet cached (a bot's senders right after login): one lookup, 16 answers,
    and the principal cached for the next request."""
    alice = await chat.user("alice")
    held = Herd(chat, monkeypatch, HERD, {"bot"})
    requests = herd(chat, HERD, {"X-Session-ID": alice.secret, "X-Client-ID": "bot"})
    await asyncio.wait_for(held.all_in.wait(), 30)
    held.go()
    answers = await asyncio.gather(*requests)
    assert [a.status_code for a in answers] == [200] * HERD and {a.json()["id"] for a in answers} == {alice.id}
    assert held.lookups == 1
    assert (await chat.anonymous("GET", "/user/read", headers={"X-Session-ID": alice.secret, "X-Client-ID": "bot"})).status_code == 200
    assert len(held.arrived) == HERD and held.lookups == 1  # cached: no miss at all


async def test_a_herd_on_an_expired_entry_of_a_token_reads_it_once(chat: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """The case measured (docs/performance.md): a token's cached entry expires under its client's senders."""
    alice = await chat.user("alice")
    token = (await alice.post("/user/tokens/create", label="bot"))["token"]
    headers = {"X-API-KEY": token, "X-Client-ID": "bot"}
    assert (await chat.anonymous("GET", "/user/read", headers=headers)).status_code == 200  # cached
    chat.clock.advance(chat.settings.auth.credential_cache_seconds)
    held = Herd(chat, monkeypatch, HERD, {"bot"})
    requests = herd(chat, HERD, headers)
    await asyncio.wait_for(held.all_in.wait(), 30)
    held.go()
    answers = await asyncio.gather(*requests)
    assert [a.status_code for a in answers] == [200] * HERD and held.lookups == 1


async def test_a_herd_with_a_bad_credential_is_refused_after_one_lookup_and_nothing_is_kept(
    chat: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = Herd(chat, monkeypatch, HERD, {"bot"})
    cached = len(chat.core.credentials)
    requests = herd(chat, HERD, {"X-Session-ID": "forged-session", "X-Client-ID": "bot"})
    await asyncio.wait_for(held.all_in.wait(), 30)
    held.go()
    for answer in await asyncio.gather(*requests):
        error_of(answer, 401, "bad_credentials")
    assert held.lookups == 1 and len(chat.core.credentials) == cached
    error_of(await chat.anonymous("GET", "/user/read", headers={"X-Session-ID": "forged-session", "X-Client-ID": "bot"}), 401, "bad_credentials")
    assert held.lookups == 2  # a refusal is not remembered: the next request reads again


@pytest.mark.parametrize("revocation", ["token revoked", "logout", "account deactivated"])
async def test_a_revocation_during_the_lookup_keeps_its_answer_out_of_the_cache(
    chat: Harness, monkeypatch: pytest.MonkeyPatch, revocation: str
) -> None:
    """The lookup read the credential before the revocation committed: the requests already waiting on it
    get that one answer, as each would have alone, but it is not cached, and the next request reads the
    revocation and is refused."""
    alice = await chat.user("alice")
    created = await alice.post("/user/tokens/create", label="bot")
    chat.clock.advance(chat.settings.auth.credential_cache_seconds)  # the session that call cached expires
    secret = {"X-Session-ID": alice.secret} if revocation == "logout" else {"X-API-KEY": created["token"]}
    headers = {**secret, "X-Client-ID": "bot"}
    held = Herd(chat, monkeypatch, 4, {"bot"})
    requests = herd(chat, 4, headers)
    await asyncio.wait_for(held.all_in.wait(), 30)
    await asyncio.wait_for(held.read.wait(), 30)  # the credential was read while still good, and the lookup is held
    if revocation == "token revoked":
        revoke = alice.post("/user/tokens/revoke", id=created["id"])
    elif revocation == "logout":
        revoke = alice.post("/user/logout")  # the same session, presented by no client: not the bot's lookup
    else:
        revoke = do_set_active(chat.core, "alice", False)  # `chatd admin deactivate`
    await asyncio.wait_for(revoke, 30)  # never waits on the held lookup
    held.go()
    answers = await asyncio.gather(*requests)
    assert len({a.status_code for a in answers}) == 1 and held.lookups == 1  # one answer, shared
    error_of(await chat.anonymous("GET", "/user/read", headers=headers), 401, "bad_credentials")
    assert held.lookups == 2


async def test_the_first_waiter_leaving_leaves_the_others_their_answer(chat: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """The request whose miss started the lookup is cancelled (its client hung up) while the lookup runs:
    the others are still answered, and the lookup is not stuck for later misses."""
    alice = await chat.user("alice")
    headers = {"X-Session-ID": alice.secret, "X-Client-ID": "bot"}
    held = Herd(chat, monkeypatch, HERD, {"bot"})
    requests = herd(chat, HERD, headers)
    await asyncio.wait_for(held.all_in.wait(), 30)
    first = held.arrived[0]
    assert first is not None
    first.cancel()
    held.go()
    answers = await asyncio.gather(*requests, return_exceptions=True)
    left = [a for a in answers if isinstance(a, asyncio.CancelledError)]
    answered = [a for a in answers if isinstance(a, httpx.Response)]
    assert len(left) == 1 and [a.status_code for a in answered] == [200] * (HERD - 1)
    assert held.lookups == 1
    chat.clock.advance(chat.settings.auth.credential_cache_seconds)  # the entry the lookup left expires
    assert (await chat.anonymous("GET", "/user/read", headers=headers)).status_code == 200
    assert held.lookups == 2  # read anew, not answered by the landed lookup


async def test_clients_presenting_one_session_do_not_share_a_lookup(chat: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """A session bound to the phone, presented at once by the phone and by a laptop: the phone's requests are
    let in, the laptop's refused, each by its own lookup."""
    await chat.user("alice")
    login = await chat.anonymous("POST", "/user/login", json={"username": "alice", "password": PASSWORD}, headers={"X-Client-ID": "phone"})
    secret = login.json()["session_id"]
    held = Herd(chat, monkeypatch, HERD, {"phone", "laptop"})
    phone, laptop = [], []
    for _ in range(HERD // 2):  # interleaved: whichever client's miss comes first, the other's must not join it
        phone += herd(chat, 1, {"X-Session-ID": secret, "X-Client-ID": "phone"})
        laptop += herd(chat, 1, {"X-Session-ID": secret, "X-Client-ID": "laptop"})
    await asyncio.wait_for(held.all_in.wait(), 30)
    held.go()
    assert [a.status_code for a in await asyncio.gather(*phone)] == [200] * (HERD // 2)
    for answer in await asyncio.gather(*laptop):
        error_of(answer, 401, "bad_credentials")
    assert held.lookups == 2
