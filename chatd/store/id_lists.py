"""A list of ids as one bound parameter: ``column IN (…)`` on SQLite, ``column = ANY(:ids)`` on PostgreSQL.

SQLAlchemy's expanding ``IN`` writes one placeholder per id into the statement on every execution. On
PostgreSQL that was a few milliseconds of a search's Python (the reader's hundred channels, a page's fifty
messages in four statements), and it made the statement's text change with the list's length, so asyncpg
prepared it again for each new length. ``= ANY`` with one array parameter keeps one text, prepared once per
connection; PostgreSQL itself turns an ``IN`` list into that form. SQLite has no arrays: there the expanding
``IN`` stays.

For lookups by key (a page's messages, a member's channels), where both forms plan alike, also when
PostgreSQL plans a prepared statement once for any values (it may after five runs, and then assumes an array
of a few elements). Two kinds of statement keep their own form: one whose plan depends on how many ids it
gets (``read_state``'s counts: that generic plan cost 250 ms instead of 10), and one that must walk an index
in order for a single value (the search's one channel, ``search._postgres_candidates``: PostgreSQL turns
``IN`` of one value into ``=``, but not ``= ANY``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ARRAY, BigInteger, any_, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.sql.sqltypes import NULLTYPE


class IdIn(ColumnElement[Any]):
    """``column`` is one of the ids given as the parameter ``key`` (a list of ints) when the statement runs."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement), ("key", InternalTraversal.dp_string)]
    type = NULLTYPE  # not Boolean: SQLite would get ``(… IN …) = 1``, which no index serves

    def __init__(self, column: ColumnElement[Any], key: str) -> None:
        self.column = column
        self.key = key


def id_in(column: ColumnElement[Any], key: str) -> IdIn:
    return IdIn(column, key)


@compiles(IdIn)
def _expanding(element: IdIn, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column.in_(bindparam(element.key, expanding=True)), **kw)


@compiles(IdIn, "postgresql")
def _array(element: IdIn, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column == any_(bindparam(element.key, type_=ARRAY(BigInteger))), **kw)
