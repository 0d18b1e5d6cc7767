"""Request parameters: the query string, a form body and a JSON body alike (bots post with ``curl -d``).

``parse(request, Model)`` merges every source, validates with the pydantic model, and turns any failure
into a 400 naming the field. A list parameter may come as a JSON array, as repeated keys (``members`` or
``members[]``), or as one comma-separated value.

A body is read on ``GET`` too when one is sent: the Crust spec marks some parameters of ``GET`` endpoints
as body parameters (``GET /message/read`` takes ``channel_id`` from the body). Every body is bounded by
``edge.body_limit`` (413 above ``limits.body_max_bytes``, refused before reading when ``Content-Length``
says so); a multipart body is left to the form parser, which spools files to disk.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, TypeVar, get_origin
from urllib.parse import parse_qsl

import orjson
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, WithJsonSchema
from starlette.requests import ClientDisconnect, Request

from ..domain.codes import Code
from ..domain.errors import BadRequest, ChatdError
from ..core.ids import MAX_ID, parse_id
from .bounds import WITHIN_64_BITS, check_input, check_integers
from .headers import headers_of

M = TypeVar("M", bound=BaseModel)
_SCOPE_KEY = "chatd.params"
_BODY_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def _id(value: Any) -> int:
    try:
        return parse_id(value, "id")
    except BadRequest:
        raise ValueError("must be an id (a positive 64-bit integer, as a string or a number)") from None


ID_PATTERN = "^[1-9][0-9]{0,18}$"  # for the document: the server also takes leading zeros and spaces
ID_SCHEMA = {
    "anyOf": [{"type": "string", "pattern": ID_PATTERN}, {"type": "integer", "minimum": 1, "maximum": MAX_ID}],
    "description": "an id: a positive 64-bit integer, as a string of digits or a number",
}
Id = Annotated[int, BeforeValidator(_id), WithJsonSchema(ID_SCHEMA), WITHIN_64_BITS]  # ``_id`` bounds it


class Params(BaseModel):
    """Base for parameter models: unknown keys are ignored, strings are stripped of nothing (contents matter)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class NoParams(Params):
    pass


def _add(data: dict[str, Any], key: str, value: Any) -> None:
    if key.endswith("[]"):
        key = key[:-2]
        data.setdefault(key, [])
    if key in data:
        existing = data[key]
        data[key] = existing + [value] if isinstance(existing, list) else [existing, value]
    else:
        data[key] = value


async def _whole_body(request: Request) -> bytes:
    """The whole body, read from ``receive`` as ``Request.stream`` does, without its async generator (a few
    microseconds on every write). ``Front`` gave the request a ``receive`` that refuses a body past the
    request's limit (``body_limit.bounded``): the limit is not counted twice."""
    receive = request.receive
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        if message["type"] != "http.request":
            continue
        chunk: bytes = message.get("body", b"")
        if not message.get("more_body", False):
            if not chunks:  # one message: most requests
                return chunk
            chunks.append(chunk)
            return b"".join(chunks)
        chunks.append(chunk)


async def merged_params(request: Request) -> dict[str, Any]:
    cached: dict[str, Any] | None = request.scope.get(_SCOPE_KEY)
    if cached is not None:
        return cached
    data: dict[str, Any] = {}
    if request.scope.get("query_string"):  # most writes have none: skip building the query mapping
        for key, value in request.query_params.multi_items():
            _add(data, key, value)
    if request.scope["method"] in _BODY_METHODS:
        content_type = _media_type(headers_of(request.scope).get(b"content-type", b""))
        if content_type == "application/json" or content_type.endswith("+json"):
            body = await _whole_body(request)
            if body and not body.isspace():  # as ``body.strip()``, without copying the body
                try:
                    parsed = orjson.loads(body)
                except orjson.JSONDecodeError:
                    raise BadRequest("the body is not valid JSON", code=Code.BAD_JSON) from None
                if not isinstance(parsed, dict):
                    raise BadRequest("the JSON body must be an object", code=Code.BAD_JSON)
                if data:
                    data.update(parsed)
                else:  # no query string: the body's object is the parameters
                    data = parsed
        elif content_type == "application/x-www-form-urlencoded":
            try:
                pairs = parse_qsl((await _whole_body(request)).decode(), keep_blank_values=True)
            except UnicodeDecodeError:
                raise BadRequest("malformed form body: not UTF-8", code=Code.BAD_FORM) from None
            for key, text in pairs:
                _add(data, key, text)
        elif content_type == "multipart/form-data":
            try:
                form = await request.form()
            except ChatdError:
                raise  # the body limit
            except Exception as exc:  # python-multipart raises several types for a malformed body
                raise BadRequest(f"malformed form body: {exc}", code=Code.BAD_FORM) from None
            for key, upload_or_text in form.multi_items():
                _add(data, key, upload_or_text)
    request.scope[_SCOPE_KEY] = data
    return data


@lru_cache(maxsize=64)
def _media_type(content_type: bytes) -> str:
    """``Content-Type``'s media type, lower case: the few values clients send, each parsed once."""
    return content_type.decode("latin-1").split(";")[0].strip().lower()


def _fit_lists(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with lists and scalars fitted to the model's fields (a copy, made only when one needs it)."""
    fitted = data
    plan = _list_plan(model)
    for key, value in data.items():  # the few keys given, not every field of the model
        is_list = plan.get(key)
        if is_list is None:
            continue
        if is_list and isinstance(value, str):
            fitted = dict(data) if fitted is data else fitted
            fitted[key] = [part.strip() for part in value.split(",") if part.strip()]
        elif not is_list and isinstance(value, list) and value and not isinstance(value[0], dict):
            fitted = dict(data) if fitted is data else fitted
            fitted[key] = value[-1]  # a repeated scalar: the last one wins, as in most form parsers
    return fitted


@lru_cache(maxsize=None)
def _list_plan(model: type[BaseModel]) -> dict[str, bool]:
    """Each field's key and whether it holds a list: read from the model once, not on every request."""
    return {
        field.alias or name: get_origin(field.annotation) is list or _optional_list(field.annotation)
        for name, field in model.model_fields.items()
    }


def _optional_list(annotation: Any) -> bool:
    return any(get_origin(arg) is list for arg in getattr(annotation, "__args__", ()))


def validate(model: type[M], data: dict[str, Any]) -> M:
    """Validate already-merged data; failures become one 400 naming every bad field."""
    if not isinstance(data, dict):
        raise BadRequest("the parameters must be a JSON object", code="bad_json")
    fitted = _fit_lists(model, data)
    check_input(model, fitted)
    try:
        instance = model.model_validate(fitted)
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]) or "body"
            message = "required" if error["type"] == "missing" else error["msg"].removeprefix("Value error, ")
            fields.setdefault(name, message)
        summary = "; ".join(f"{name}: {message}" for name, message in fields.items())
        raise BadRequest(summary, fields=fields) from None
    check_integers(instance)
    return instance


async def parse(request: Request, model: type[M]) -> M:
    return validate(model, await merged_params(request))
