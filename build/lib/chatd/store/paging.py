"""Small query helpers shared by the search functions of every aggregate."""

from __future__ import annotations


def like_pattern(query: str) -> str:
    """A case-folded ``%query%`` with LIKE's wildcards escaped (``\\`` is the escape character)."""
    escaped = query.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
