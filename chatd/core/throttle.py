"""Login throttling that slows guessing without locking anyone out from elsewhere (docs/security.md §3).

Failures are counted in three places, each with free attempts and then delays that double with every
further failure (``auth.login_delay_seconds`` up to ``auth.login_max_delay_seconds``):

- per **(account, address)**: ``login_max_failures`` free. One guesser at one address slows down fast.
- per **account**, counting only failures from addresses that never signed in to it:
  ``login_account_max_failures`` free. Guessers spread over many addresses slow down together.
- per **address**, counting only failures on accounts never signed in to from it:
  ``login_address_max_failures`` free. One address spraying many accounts slows down.

An attempt waiting on a delay gets 429 with ``Retry-After`` and its password is never checked. An address
that has signed in to an account before (a *known* pair) is held only by its own pair count: whatever
strangers do to the account or from their addresses, its owner still gets in from where they did before.
A new address of the owner's waits with the strangers while an attack is under way; that is the price.

An account is the user (username and e-mail alike), or for names that match no one, a digest of the
normalised name, so a 4 MiB name costs 16 bytes here. Every table keeps at most ``MAX_KEYS`` entries,
forgetting the least recently failed; a record is forgotten ``login_window_seconds`` after its delay ends.
Counted in memory per process: behind a load balancer each node counts its own.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from typing import Hashable

from ..config import AuthSettings
from ..domain.errors import RateLimited
from .clock import Clock

MAX_KEYS = 100_000
Account = tuple[str, int | bytes]


def account_of(user_id: int | None, login: str) -> Account:
    """The key failures count against: the user when the name or e-mail is theirs, else the name itself."""
    if user_id is not None:
        return ("user", user_id)
    normalised = unicodedata.normalize("NFKC", login).strip().casefold()
    return ("name", hashlib.blake2b(normalised.encode(errors="replace"), digest_size=16).digest())


@dataclass(slots=True)
class _Failures:
    count: int
    last: float  # monotonic time of the last failure


class _Counter:
    """Failures per key, least recently failed first."""

    def __init__(self, clock: Clock, settings: AuthSettings) -> None:
        self._clock = clock
        self._settings = settings
        self._records: OrderedDict[Hashable, _Failures] = OrderedDict()

    def __len__(self) -> int:
        return len(self._records)

    def _delay(self, count: int, free: int) -> float:
        if count < free:
            return 0.0
        s = self._settings
        return float(min(s.login_max_delay_seconds, s.login_delay_seconds * 2 ** min(count - free, 40)))

    def _current(self, key: Hashable, free: int) -> _Failures | None:
        record = self._records.get(key)
        if record is None:
            return None
        forget_at = record.last + self._delay(record.count, free) + self._settings.login_window_seconds
        if self._clock.monotonic() > forget_at:
            del self._records[key]
            return None
        return record

    def wait(self, key: Hashable, free: int) -> float:
        """Seconds before ``key`` may try again (0: now)."""
        record = self._current(key, free)
        if record is None:
            return 0.0
        return max(0.0, record.last + self._delay(record.count, free) - self._clock.monotonic())

    def fail(self, key: Hashable, free: int) -> None:
        record = self._current(key, free)
        if record is None:
            record = self._records[key] = _Failures(0, 0.0)
        record.count += 1
        record.last = self._clock.monotonic()
        self._records.move_to_end(key)
        while len(self._records) > MAX_KEYS:
            self._records.popitem(last=False)

    def forget(self, key: Hashable) -> None:
        self._records.pop(key, None)


class LoginThrottle:
    def __init__(self, clock: Clock, settings: AuthSettings) -> None:
        self._settings = settings
        self._pairs = _Counter(clock, settings)
        self._accounts = _Counter(clock, settings)
        self._addresses = _Counter(clock, settings)
        self._known: OrderedDict[tuple[Account, str], None] = OrderedDict()

    def _known_pair(self, account: Account, address: str) -> bool:
        return (account, address) in self._known

    def check(self, account: Account, address: str) -> None:
        """Refuse, before the password is even checked, an attempt that must still wait."""
        s = self._settings
        wait = self._pairs.wait((account, address), s.login_max_failures)
        if not self._known_pair(account, address):
            wait = max(
                wait,
                self._accounts.wait(account, s.login_account_max_failures),
                self._addresses.wait(address, s.login_address_max_failures),
            )
        if wait > 0:
            raise RateLimited("too many failed logins; try again later", retry_after=wait)

    def failed(self, account: Account, address: str) -> None:
        s = self._settings
        self._pairs.fail((account, address), s.login_max_failures)
        if not self._known_pair(account, address):
            self._accounts.fail(account, s.login_account_max_failures)
            self._addresses.fail(address, s.login_address_max_failures)

    def succeeded(self, account: Account, address: str) -> None:
        self._pairs.forget((account, address))
        self._known[(account, address)] = None
        self._known.move_to_end((account, address))
        while len(self._known) > MAX_KEYS:
            self._known.popitem(last=False)

    def sizes(self) -> dict[str, int]:
        """Entries held per table (tests check they stay bounded)."""
        return {"pairs": len(self._pairs), "accounts": len(self._accounts), "addresses": len(self._addresses),
                "known": len(self._known)}
