"""``LIKE`` patterns for the name searches of users, organisations, teams and channels: the words a user
typed match literally, wherever they occur, whatever their case."""

from __future__ import annotations


def like_pattern(query: str) -> str:
    """A case-folded ``%query%`` with LIKE's wildcards escaped (``\\`` is the escape character)."""
    escaped = query.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
