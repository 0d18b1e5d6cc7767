"""Pagination every search shares: 1-based pages, a page size capped by ``limits.page_size_max``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from ..domain.errors import BadRequest

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
        if page < 1:
            raise BadRequest.field("page", "must be 1 or more")
        if per_page < 1:
            raise BadRequest.field("per_page", "must be 1 or more")
        return cls(page=page, per_page=min(per_page, cap))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


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
