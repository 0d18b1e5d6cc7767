"""The credential cache forgets what it no longer needs (docs/reliability.md: the 1.2 KiB per reconnect)."""

from __future__ import annotations

from chatd.core.clock import FakeClock
from chatd.core.credential_cache import CredentialCache
from chatd.domain.models import Principal, User


def _principal(user_id: int) -> Principal:
    return Principal(user=User(user_id, f"u{user_id}", f"u{user_id}@example.com", "", "active", False, 0, 0))


def test_credentials_used_once_are_dropped_after_their_ttl() -> None:
    clock = FakeClock()
    cache = CredentialCache(5.0, clock)
    for n in range(10_000):  # a client that logs in anew for every connection, 100 a second
        cache.put(f"token{n}", _principal(n))
        clock.advance(0.01)
    assert len(cache) <= 501  # only those of the last five seconds
    assert cache.get("token9999") is not None and cache.get("token0") is None


def test_the_cache_stays_within_its_size_and_keeps_the_newest() -> None:
    clock = FakeClock()
    cache = CredentialCache(5.0, clock, max_entries=100)
    for n in range(1000):
        cache.put(f"token{n}", _principal(n))
    assert len(cache) == 100 and cache.get("token999") is not None and cache.get("token0") is None
    cache.put("token950", _principal(950))  # refreshed: moves to the back
    clock.advance(6)
    assert len(cache) == 100  # expired, but nothing asked yet
    assert cache.get("token950") is None
    cache.put("fresh", _principal(1))
    assert len(cache) == 1
