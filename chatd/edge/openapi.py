"""The OpenAPI 3.1 document of every HTTP route (``GET /openapi.json``), generated, never hand-kept.

Paths come from the app's route table, so a route cannot go undocumented; each operation from what its view
declares (``described.py``): the pydantic model that validates its parameters, and the TypedDict its
answer is typed as (``edge/shape_types.py``, ``faces/workdrive/shape_types.py``). pydantic writes every JSON
Schema (2020-12, OpenAPI 3.1's dialect) in one pass, so shared shapes are components referenced by name.
Errors are one schema whose ``code`` lists ``domain/codes.py``. How parameters are placed (query for reads,
a JSON or form body for writes, though every parameter may come in any of them) is written in the
document's description (``openapi_text.py``) and in docs/api.md.

The document is built once per app, at its first request, and kept (``document``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import orjson
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode
from starlette.applications import Starlette
from starlette.routing import Route

from .. import __version__
from ..domain.codes import NOT_ANSWERED, STATUS, WEBSOCKET_ONLY, Code
from . import envelope
from .described import Description, description_of
from .openapi_text import DESCRIPTION, ERROR_TEXT, TAGS
from .params import ID_PATTERN

AUTHENTICATED_ERRORS = (400, 401, 403, 404, 409, 413, 429, 503)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_REF = "#/components/schemas/{model}"
_SECURITY: list[dict[str, list[str]]] = [{"session": []}, {"bearer": []}, {"apiKey": []}, {"cookie": []}]
_STATE_KEY = "openapi_json"
_NOT_HTTP = WEBSOCKET_ONLY | NOT_ANSWERED


@dataclass(frozen=True, slots=True)
class Operation:
    """One method of one route: what the document describes."""

    path: str
    method: str
    view: Callable[..., Any]
    declared: Description | None
    face: str

    @property
    def tag(self) -> str:
        """The face and area, from the handler's module (``chatd.faces.crust.channels`` → Crust: channels)."""
        handler = self.declared.handler if self.declared and self.declared.handler else self.view
        area = handler.__module__.removeprefix("chatd.faces.")
        return TAGS[area][0] if area in TAGS else area


def _face(route: Route) -> str:
    if isinstance(route, envelope.FaceRoute) and route.face == envelope.CRUST:
        return "crust"
    return "workdrive" if route.path.startswith("/api/") else "ops"


def operations(app: Starlette) -> Iterator[Operation]:
    """Every HTTP method of every route; websocket routes, mounts and the static files of pages
    (``described.hidden``) are not operations."""
    for route in app.routes:
        if not isinstance(route, Route):
            continue
        declared = description_of(route.endpoint)
        if declared is not None and declared.hidden:
            continue
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            yield Operation(route.path, method, route.endpoint, declared, _face(route))


def document(app: Starlette) -> bytes:
    """The document as JSON, built at the first call and kept on the app."""
    cached: bytes | None = getattr(app.state, _STATE_KEY, None)
    if cached is None:
        cached = orjson.dumps(build(app))
        setattr(app.state, _STATE_KEY, cached)
    return cached


def build(app: Starlette) -> dict[str, Any]:
    found = list(operations(app))
    schemas = _Schemas(found)
    paths: dict[str, dict[str, Any]] = {}
    for op in found:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, schemas)
    components = {
        "schemas": {**schemas.defs, "Error": _error_schema()},
        "responses": _error_responses(),
        "securitySchemes": _security_schemes(),
    }
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "chatd", "version": __version__, "description": DESCRIPTION},
        "tags": _tags(found),
        "security": _SECURITY,
        "paths": paths,
        "components": components,
    }
    return _tidy(doc)


def _tags(found: list[Operation]) -> list[dict[str, str]]:
    descriptions = dict(TAGS.values())
    return [{"name": name, "description": descriptions.get(name, "")} for name in dict.fromkeys(op.tag for op in found)]


class _Schemas:
    """Every parameters model and answer type of the app, turned into JSON Schema by pydantic in one pass."""

    def __init__(self, found: list[Operation]) -> None:
        inputs: dict[tuple[Any, JsonSchemaMode], TypeAdapter[Any]] = {}
        for op in found:
            if op.declared is None:
                continue
            if op.declared.params is not None:
                inputs[(op.declared.params, "validation")] = TypeAdapter(op.declared.params)
            if (answer := op.declared.response_type()) is not None:
                inputs[(answer, "serialization")] = TypeAdapter(answer)
        entries = [(kind, mode, adapter) for (kind, mode), adapter in inputs.items()]
        self._keyed, defs = TypeAdapter.json_schemas(entries, ref_template=_REF)
        self.defs: dict[str, Any] = dict(defs.get("$defs", {}))

    def answer(self, kind: Any) -> dict[str, Any]:
        """An answer's schema: a reference to its component."""
        return dict(self._keyed[(kind, "serialization")])

    def params(self, model: type[BaseModel]) -> dict[str, Any]:
        """A parameters model's own schema (its properties, not a reference): parameters are listed one by one."""
        schema: dict[str, Any] = dict(self._keyed[(model, "validation")])
        while "$ref" in schema:
            schema = self.defs[schema["$ref"].rsplit("/", 1)[1]]
        return {key: value for key, value in schema.items() if key != "description"}  # a docstring for coders


def _operation(op: Operation, schemas: _Schemas) -> dict[str, Any]:
    declared = op.declared or Description(authenticated=False, errors=())
    operation: dict[str, Any] = {
        "tags": [op.tag],
        "operationId": _operation_id(op),
        "summary": declared.summary().replace("``", "`") or _named(op),
    }
    parameters = [_path_parameter(name) for name in re.findall(r"{(\w+)}", op.path)]
    params = schemas.params(declared.params) if declared.params is not None else {}
    if params.get("properties") or declared.body == "multipart":
        if declared.body == "multipart":
            operation["requestBody"] = _multipart(params)
        elif op.method in _BODY_METHODS:
            operation["requestBody"] = _body(params, form=op.face == "crust")
        else:
            parameters += _query(params)
    if parameters:
        operation["parameters"] = parameters
    operation["responses"] = _responses(op, declared, schemas)
    if not declared.authenticated:
        operation["security"] = []
    return operation


def _named(op: Operation) -> str:
    """``list_group_chats`` → "List group chats", for a handler without a docstring."""
    handler = op.declared.handler if op.declared and op.declared.handler else op.view
    return handler.__name__.strip("_").replace("_", " ").capitalize()


def _operation_id(op: Operation) -> str:
    words = re.findall(r"[A-Za-z0-9]+", op.path.replace("{", "by_"))
    return "_".join([op.method.lower(), *words])


def _path_parameter(name: str) -> dict[str, Any]:
    return {
        "name": name, "in": "path", "required": True,
        "schema": {"type": "string", "pattern": ID_PATTERN}, "description": "an id",
    }


def _query(params: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(params.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": _without_null(schema)}
        for name, schema in params.get("properties", {}).items()
    ]


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent rather than null: drop the ``null`` alternative pydantic writes for
    optional fields, and the ``default: null`` with it."""
    kept = {key: value for key, value in schema.items() if not (key == "default" and value is None)}
    options = kept.get("anyOf")
    if options:
        rest = [option for option in options if option != {"type": "null"}]
        del kept["anyOf"]
        kept.update(rest[0] if len(rest) == 1 else {"anyOf": rest})
    return kept


def _flat(params: dict[str, Any]) -> bool:
    """Can a form carry it: no property is an object or a list of objects."""
    text = orjson.dumps(params.get("properties", {})).decode()
    return '"$ref"' not in text and '"object"' not in text


def _body(params: dict[str, Any], form: bool) -> dict[str, Any]:
    content = {"application/json": {"schema": params}}
    if form and _flat(params):
        content["application/x-www-form-urlencoded"] = {"schema": params}
    return {"required": bool(params.get("required")), "content": content}


def _multipart(params: dict[str, Any]) -> dict[str, Any]:
    schema = dict(params)
    schema["properties"] = {**params.get("properties", {}), "file": {"type": "string", "format": "binary"}}
    schema["required"] = [*params.get("required", []), "file"]
    return {"required": True, "content": {"multipart/form-data": {"schema": schema}}}


def _responses(op: Operation, declared: Description, schemas: _Schemas) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    answer = declared.response_type()
    if declared.status < 400:
        for status in (declared.status, *declared.statuses):
            responses[str(status)] = _success(status, declared, answer, schemas)
    errors = declared.errors if declared.errors is not None else AUTHENTICATED_ERRORS
    for status in sorted({*errors, *([declared.status] if declared.status >= 400 else [])}):
        responses[str(status)] = {"$ref": f"#/components/responses/{status}"}
    return responses


def _success(status: int, declared: Description, answer: Any, schemas: _Schemas) -> dict[str, Any]:
    if status == 304:
        return {"description": "Not modified: the ``If-None-Match`` ETag is still current."}
    if status == 206:
        return {"description": "Part of the file: the one byte range ``Range`` asked for (``Content-Range``)",
                "content": {declared.media_type: {"schema": {"type": "string", "format": "binary"}}}}
    if answer is not None:
        schema = schemas.answer(answer)
    elif declared.media_type == "application/json":
        schema = {}
    else:
        text = declared.media_type.startswith("text/")
        schema = {"type": "string"} if text else {"type": "string", "format": "binary"}
    description = {200: "OK", 201: "Created"}.get(status, "See the summary")
    return {"description": description, "content": {declared.media_type: {"schema": schema}}}


def _error_schema() -> dict[str, Any]:
    codes = [str(code) for code in Code if code not in _NOT_HTTP]
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "additionalProperties": False,
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "enum": codes},
                    "message": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            }
        },
    }


def _error_responses() -> dict[str, Any]:
    answered = {status for code, status in STATUS.items() if status is not None and code not in _NOT_HTTP}
    responses: dict[str, Any] = {}
    for status in sorted(answered | {405}):
        codes = [str(code) for code, of in STATUS.items() if of == status and code not in _NOT_HTTP]
        response: dict[str, Any] = {
            "description": f"{ERROR_TEXT.get(status, 'Error')} (code: {', '.join(codes)})",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        if status == 401:
            response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        if status == 429:
            response["headers"] = {
                "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}
            }
        responses[str(status)] = response
    return responses


def _security_schemes() -> dict[str, Any]:
    return {
        "session": {"type": "apiKey", "in": "header", "name": "X-Session-ID",
                    "description": "The session id from POST /user/login (optionally with X-Client-ID)."},
        "bearer": {"type": "http", "scheme": "bearer",
                   "description": "A session id, an access token, or the Crust JWT."},
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-KEY", "description": "An access token."},
        "cookie": {"type": "apiKey", "in": "cookie", "name": "chatd_session",
                   "description": "The cookie POST /user/login sets."},
    }


def _tidy(doc: dict[str, Any]) -> dict[str, Any]:
    """Drop the components nothing references (parameters models are inlined), name the rest readably
    (pydantic names a clash ``chatd__edge__shape_types__User``: here ``crust.User``), and drop
    pydantic's per-field titles, which repeat the field's name."""
    schemas: dict[str, Any] = doc["components"]["schemas"]
    used = _reachable(doc, schemas)
    renames = {name: _readable(name) for name in used if "__" in name}
    doc["components"]["schemas"] = {renames.get(name, name): schemas[name] for name in sorted(used)}
    text = orjson.dumps(doc).decode()
    for old, new in renames.items():
        text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
    tidied: dict[str, Any] = orjson.loads(text)
    tidied["paths"] = _untitled(tidied["paths"])
    tidied["components"]["schemas"] = _untitled(tidied["components"]["schemas"])
    return tidied


def _reachable(doc: dict[str, Any], schemas: dict[str, Any]) -> set[str]:
    prefix = "#/components/schemas/"
    pending = re.findall(r'"#/components/schemas/([^"]+)"', orjson.dumps(doc["paths"]).decode())
    pending.append("Error")
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        pending += re.findall(f'"{re.escape(prefix)}([^"]+)"', orjson.dumps(schemas[name]).decode())
    return seen


_MODULE_PARTS = {"chatd": "", "faces": "", "shape_types": "", "edge": "crust"}  # edge/shapes.py: Crust's shapes


def _readable(name: str) -> str:
    """``chatd__faces__workdrive__shape_types__User`` → ``workdrive.User``, ``chatd__edge__shape_types__User``
    → ``crust.User``."""
    parts = [_MODULE_PARTS.get(part, part) for part in name.split("__")]
    return ".".join(part for part in parts if part)


def _untitled(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _untitled(value) for key, value in node.items() if not (key == "title" and isinstance(value, str))}
    if isinstance(node, list):
        return [_untitled(item) for item in node]
    return node
