"""Interfaces the core owns and the outer layers implement."""

from __future__ import annotations

from typing import Protocol, Sequence

from ..domain.events import Event


class Publisher(Protocol):
    """Carries committed events to every process's hub (in-process or Redis; see ``realtime/bus.py``)."""

    async def publish(self, events: Sequence[Event]) -> None: ...


class NullPublisher:
    """For the CLI and other processes that change data but serve no connections of their own."""

    async def publish(self, events: Sequence[Event]) -> None:
        return None


class FileStorage(Protocol):
    """Where file bytes live (local disk by default; an object store can implement the same)."""

    async def put(self, key: str, data: bytes) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None: ...
