"""Pagination every search shares: 1-based pages, a page size capped by ``limits.page_size_max``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from ..domain.errors import BadRequest
from .ids import MAX_ID

T = TypeVar("T")
DEFAULT_PER_PAGE = 50


@dataclass(frozen=True, slots=True)
class PageRequest:
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @classmethod
    def of(cls, page: int | None, per_page: int | None, cap: int) -> "PageRequest":
        page = 1 if page is None else page
        per_page = DEFAULT_PER_PAGE if per_page is None else per_page
        if not 1 <= page <= MAX_ID:
            raise BadRequest.field("page", f"must be 1 to {MAX_ID}")
        if not 1 <= per_page <= MAX_ID:
            raise BadRequest.field("per_page", f"must be 1 to {MAX_ID}")
        return cls(page=page, per_page=min(per_page, cap))

    @property
    def offset(self) -> int:
        """Rows to skip; past the 64 bits the store counts in, every page is empty anyway."""
        return min((self.page - 1) * self.per_page, MAX_ID)


@dataclass(slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    request: PageRequest

    @property
    def total_pages(self) -> int:
        return max(1, -(-self.total // self.request.per_page))

    @property
    def next_page(self) -> int | None:
        return self.request.page + 1 if self.request.page < self.total_pages else None
