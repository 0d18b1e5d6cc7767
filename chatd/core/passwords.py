"""Password hashing with argon2id (docs/design.md §2), off the event loop.

The cost is a setting so a test suite creating hundreds of users is not dominated by hashing; the
defaults are the library's recommended parameters.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..domain.errors import BadRequest

MIN_LENGTH = 8
MAX_LENGTH = 1024


def check_password_policy(password: str, field: str = "password") -> None:
    if len(password) < MIN_LENGTH:
        raise BadRequest.field(field, f"must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise BadRequest.field(field, f"must be at most {MAX_LENGTH} characters")


class Passwords:
    def __init__(self, time_cost: int, memory_kib: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        # Verified against when the user does not exist, so unknown users cost the same time.
        self._dummy = self._hasher.hash("chatd-timing-equaliser")

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        return await asyncio.to_thread(self._verify, stored_hash, password)

    def _verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash or self._dummy, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False
