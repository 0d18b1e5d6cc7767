"""Bounds on every parameter, in one place: ``params.validate`` applies them to every model of every face
and to every websocket frame (docs/security.md).

- A string is at most ``TEXT_MAX_CHARS`` long unless its field declares a longer ``max_length`` (message
  contents do: ``LONG_TEXT_MAX_CHARS``, and the core then applies the configured message limit). Dictionary
  keys count as strings. No string holds U+0000 (no PostgreSQL text column can).
- Values nest at most ``DEPTH_MAX`` levels (a flat form is depth 1).
- An integer field given as a string is ASCII digits (``²`` and ``٣`` are digits to Python, not to us), and
  every integer anywhere fits in 64 bits, as the store and orjson need.

The body itself is bounded before it is read (``limits.BodyLimit``); these rules bound what is in it.
"""

from __future__ import annotations

import re
import types
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from annotated_types import MaxLen
from pydantic import BaseModel, BeforeValidator, PlainValidator, WrapValidator
from pydantic.fields import FieldInfo

from ..domain.errors import BadRequest

TEXT_MAX_CHARS = 4096
LONG_TEXT_MAX_CHARS = 1 << 20
DEPTH_MAX = 16
INT_MIN, INT_MAX = -(1 << 63), (1 << 63) - 1
_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")
_PARSERS = (BeforeValidator, PlainValidator, WrapValidator)


class Within64Bits:
    """Marks a type whose own parser refuses an integer beyond 64 bits (``params.Id``, in its ``Annotated``
    metadata): ``check_integers`` need not look at its values again."""

    def __repr__(self) -> str:
        return "WITHIN_64_BITS"


WITHIN_64_BITS = Within64Bits()


@dataclass(frozen=True, slots=True)
class _Rule:
    max_chars: int
    integer: bool  # a scalar integer field: a string for it must be ASCII digits
    model: type[BaseModel] | None  # the nested model its objects are validated with, if any


def _unwrap(annotation: Any) -> list[Any]:
    """The alternatives of a field's type at its top level: ``int | None`` → [int, None]. A type with its own
    parser (``Id``, an ISO time read into an int) is its own alternative: it reads strings its way."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extra = get_args(annotation)
        return [annotation] if any(isinstance(item, _PARSERS) for item in extra) else _unwrap(base)
    if origin in (Union, types.UnionType):
        return [leaf for arg in get_args(annotation) for leaf in _unwrap(arg)]
    return [annotation]


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is Literal:
        return None
    for arg in get_args(annotation):
        if (found := _nested_model(arg)) is not None:
            return found
    return None


def _rule(field: FieldInfo) -> _Rule:
    leaves = [leaf for leaf in _unwrap(field.annotation) if leaf is not type(None)]
    scalar = all(leaf in (str, int) for leaf in leaves)
    declared = [m.max_length for m in field.metadata if isinstance(m, MaxLen)]
    max_chars = declared[0] if scalar and str in leaves and declared else TEXT_MAX_CHARS
    own_parser = any(isinstance(item, _PARSERS) for item in field.metadata)
    return _Rule(max_chars, leaves == [int] and not own_parser, _nested_model(field.annotation))


@cache
def _rules(model: type[BaseModel]) -> dict[str, _Rule]:
    rules: dict[str, _Rule] = {}
    for name, field in model.model_fields.items():
        rules[name] = rule = _rule(field)
        if field.alias:
            rules[field.alias] = rule
    return rules


_DEFAULT = _Rule(TEXT_MAX_CHARS, False, None)


def check_input(model: type[BaseModel], data: dict[str, Any]) -> None:
    """Refuse, before pydantic sees them, strings too long, nesting too deep, NULs and non-ASCII integers.

    The top level (a flat object of scalars, for most requests) is checked here in the order ``_walk`` would
    check it, all keys first and then the values, last first; each nested value is walked in its turn."""
    fields = _rules(model)
    for key in data:
        if not isinstance(key, str) or len(key) > TEXT_MAX_CHARS or "\x00" in key:  # the checks, inline first
            _check_text(str(key), str(key), TEXT_MAX_CHARS)
    for key, value in reversed(data.items()):
        rule = fields.get(key, _DEFAULT)
        if isinstance(value, str):
            if rule.integer or len(value) > rule.max_chars or "\x00" in value:
                _check_string(value, str(key), rule)
        elif isinstance(value, (dict, list)):
            _walk(value, str(key), rule, 1)


def _walk(value: Any, path: str, rule: _Rule, depth: int) -> None:
    """``check_input`` on a value at ``path``, ``depth`` levels down, and on everything in it."""
    stack: list[tuple[Any, str, _Rule, int]] = [(value, path, rule, depth)]
    while stack:
        value, path, rule, depth = stack.pop()
        if isinstance(value, str):
            _check_string(value, path, rule)
        elif isinstance(value, (dict, list)):
            if depth >= DEPTH_MAX:
                raise BadRequest.field(path or "body", f"nested deeper than {DEPTH_MAX} levels")
            if isinstance(value, list):
                stack.extend((item, _join(path, str(index)), rule, depth + 1) for index, item in enumerate(value))
                continue
            fields = _rules(rule.model) if rule.model is not None else None
            for key, item in value.items():
                name = _join(path, str(key))
                _check_text(str(key), name, TEXT_MAX_CHARS)
                child = fields.get(key, _DEFAULT) if fields is not None else _Rule(rule.max_chars, False, None)
                stack.append((item, name, child, depth + 1))


def _check_string(value: str, path: str, rule: _Rule) -> None:
    _check_text(value, path, rule.max_chars)
    if rule.integer and not _INTEGER.fullmatch(value.strip()):
        raise BadRequest.field(path, "must be an integer (ASCII digits)")


def _check_text(value: str, path: str, max_chars: int) -> None:
    if len(value) > max_chars:
        raise BadRequest.field(path or "body", f"at most {max_chars} characters")
    if "\x00" in value:
        raise BadRequest.field(path or "body", "must not contain NUL characters")


def check_integers(instance: BaseModel) -> None:
    """After validation: every integer the model holds (however it was given) fits in 64 bits.

    The model's own fields are checked here, last first as ``_walk_integers`` would, but for those whose
    type cannot hold an unchecked integer (``_unchecked_fields``); what they contain is walked in its turn."""
    for name, key in _unchecked_fields(type(instance)):
        item = getattr(instance, name)
        if item is None or isinstance(item, str):  # most fields: nothing to look into
            continue
        if type(item) is int:
            _check_int(item, key)
        else:
            _walk_integers(item, key)


def _walk_integers(value: Any, path: str) -> None:
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            _check_int(value, path)
        elif isinstance(value, BaseModel):
            for name, key in _field_keys(type(value)):
                item = getattr(value, name)
                if item is not None and not isinstance(item, str):
                    stack.append((item, _join(path, key)))
        elif isinstance(value, (list, tuple)):
            stack.extend((item, _join(path, str(index))) for index, item in enumerate(value))
        elif isinstance(value, dict):
            stack.extend((item, _join(path, str(key))) for key, item in value.items())


def _check_int(value: int, path: str) -> None:
    if not INT_MIN <= value <= INT_MAX:
        raise BadRequest.field(path, "must fit in a 64-bit integer")


@cache
def _unchecked_fields(model: type[BaseModel]) -> tuple[tuple[str, str], ...]:
    """``_field_keys`` of the fields that may hold an integer no parser has bounded, last first: text, flags
    and ids (``WITHIN_64_BITS``), and lists and options of them, need no walk (most fields of most models)."""
    return tuple(
        (name, field.alias or name)
        for name, field in reversed(model.model_fields.items())
        if not (any(item is WITHIN_64_BITS for item in field.metadata) or _bounded(field.annotation))
    )


def _bounded(annotation: Any) -> bool:
    """Whether every value of ``annotation`` is text, a flag, None or a ``WITHIN_64_BITS`` integer."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extra = get_args(annotation)
        return any(item is WITHIN_64_BITS for item in extra) or _bounded(base)
    if origin in (Union, types.UnionType, list):
        return all(_bounded(arg) for arg in get_args(annotation))
    if origin is Literal:
        return all(isinstance(value, (str, bool)) for value in get_args(annotation))
    return annotation in (str, bool, type(None))


@cache
def _field_keys(model: type[BaseModel]) -> tuple[tuple[str, str], ...]:
    """Each field's attribute and the key it is given by, read from the model once."""
    return tuple((name, field.alias or name) for name, field in model.model_fields.items())


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
