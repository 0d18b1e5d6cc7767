"""The API description: ``/openapi.json`` is a valid OpenAPI 3.1 document of every route, generated from the
code, and ``/docs`` renders it under a policy that allows no inline script or style."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
import schemathesis
from pydantic import TypeAdapter
from starlette.routing import Route

from chatd.domain.codes import Code
from chatd.edge import shape_types as out
from chatd.edge.described import description_of
from chatd.edge.openapi import operations
from harness import Harness

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])  # the document does not depend on the database


async def _document(chat: Harness) -> Any:
    response = await chat.anonymous("GET", "/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    return response.json()


async def test_the_document_is_valid_openapi_3_1_and_needs_no_credential(chat: Harness) -> None:
    doc = await _document(chat)
    assert doc["openapi"] == "3.1.0"
    schemathesis.openapi.from_dict(doc).validate()  # raises on an invalid document
    schemes = doc["components"]["securitySchemes"]
    assert (schemes["session"]["name"], schemes["apiKey"]["name"], schemes["cookie"]["name"]) == (
        "X-Session-ID", "X-API-KEY", "chatd_session"
    )


async def test_every_route_is_in_the_document_with_what_it_declares(chat: Harness) -> None:
    """A new route cannot go undocumented: each method of each HTTP route is an operation, and each declares
    its parameters and answer (``endpoint`` or ``described``); only the static files of pages are left out."""
    doc = await _document(chat)
    listed = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    for route in chat.app.routes:
        if not isinstance(route, Route):
            continue  # the websocket (docs/websocket.md)
        declared = description_of(route.endpoint)
        assert declared is not None, f"{route.path} declares nothing: wrap it in endpoint() or described()"
        for method in (route.methods or set()) - {"HEAD"}:
            assert ((method, route.path) in listed) != declared.hidden, (method, route.path)
    undeclared = [op for op in operations(chat.app) if op.declared is None]
    assert undeclared == []


async def test_json_answers_have_schemas_and_authenticated_operations_list_every_error(chat: Harness) -> None:
    doc = await _document(chat)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            for status, answer in op["responses"].items():
                if "$ref" in answer or status in ("304",):
                    continue
                for media_type, content in answer["content"].items():
                    if media_type == "application/json" and path != "/openapi.json":
                        assert content["schema"], f"{where} {status}: no schema"
            if op.get("security") != []:
                assert {"400", "401", "403", "404", "409", "413", "429", "503"} <= set(op["responses"]), where


async def test_parameters_come_from_the_models_that_validate_them(chat: Harness) -> None:
    doc = await _document(chat)
    read = doc["paths"]["/message/read"]["get"]
    names = [p["name"] for p in read["parameters"] if p["in"] == "query"]
    assert names == ["channel_id", "id", "before", "after", "limit", "thread", "include_replies"]
    edit = doc["paths"]["/channel/edit"]["post"]["requestBody"]["content"]
    assert set(edit) == {"application/json", "application/x-www-form-urlencoded"}
    assert edit["application/json"]["schema"]["properties"]["type"] == {"default": "public", "type": "string"}
    created = doc["paths"]["/api/group-chats"]["post"]["requestBody"]
    # every field has a default (a group chat without a title is named after its people), so the body may be
    # left out; members are a list of objects, so only JSON carries it
    assert created["required"] is False and set(created["content"]) == {"application/json"}
    body = created["content"]["application/json"]["schema"]
    assert "required" not in body and body["properties"]["members"]["type"] == "array"
    update = doc["paths"]["/api/group-chats/{id}"]["patch"]
    assert update["parameters"][0]["in"] == "path" and update["parameters"][0]["schema"]["pattern"]
    upload = doc["paths"]["/file/upload"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert upload["properties"]["file"] == {"type": "string", "format": "binary"}


async def test_answers_are_the_typed_shapes_and_errors_list_every_code(chat: Harness) -> None:
    doc = await _document(chat)
    schemas = doc["components"]["schemas"]
    answer = doc["paths"]["/channel/read"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    channel = schemas[answer["$ref"].rsplit("/", 1)[1]]
    assert channel["additionalProperties"] is False and "member_count" in channel["required"]
    assert channel["properties"]["id"]["pattern"]
    codes = set(schemas["Error"]["properties"]["error"]["properties"]["code"]["enum"])
    assert {"invalid", "not_found", "not_supported", "rate_limited"} <= codes
    assert Code.BAD_FRAME not in codes  # websocket only
    unsupported = doc["paths"]["/api/posts"]["get"]
    assert set(unsupported["responses"]) == {"501"} and unsupported["security"] == []


async def test_the_crust_envelope_and_parameter_placement_are_explained(chat: Harness) -> None:
    description = (await _document(chat))["info"]["description"]
    assert "X-Chatd-Envelope: crust" in description and '{"response": <the answer described here>}' in description
    assert re.search(r"for `GET` and `DELETE` in the query string", description)


async def test_in_the_crust_envelope_the_described_answer_is_inside_response(chat: Harness) -> None:
    """What the description promises about the envelope: the same answer, one level down."""
    alice = await chat.user("alice")
    org = await alice.post("/organisation/edit", name="Acme")
    crust = {"X-Chatd-Envelope": "crust"}
    enveloped = await alice.call("GET", "/organisation/read", params={"id": org["id"]}, headers=crust)
    assert enveloped.status_code == 200
    assert TypeAdapter(out.Organisation).validate_python(enveloped.json()["response"]) == org
    missing = await alice.call("GET", "/organisation/read", params={"id": "1"}, headers=crust)
    assert missing.status_code == 200 and missing.json()["error"]["code"] == "not_found"


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.styles: list[dict[str, str | None]] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            self.scripts.append(found)
        if tag == "link" and found.get("rel") == "stylesheet":
            self.styles.append(found)
        if tag == "style" or "style" in found or any(name.startswith("on") for name in found):
            self.inline.append(tag)

    def handle_data(self, data: str) -> None:
        if self.lasttag == "script" and data.strip():
            self.inline.append("script")


async def test_the_docs_page_loads_only_its_own_files(chat: Harness) -> None:
    page = await chat.anonymous("GET", "/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe-inline" not in policy
    parsed = _Page()
    parsed.feed(page.text)
    assert parsed.inline == []
    assets = [s["src"] for s in parsed.scripts] + [s["href"] for s in parsed.styles]
    assert assets == ["/docs/docs.js", "/docs/docs.css"]
    for path, kind in zip(assets, ("text/javascript", "text/css")):
        asset = await chat.anonymous("GET", str(path))
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind)
        assert "http://" not in asset.text and "https://" not in asset.text  # nothing from elsewhere
    script = (await chat.anonymous("GET", "/docs/docs.js")).text
    assert "innerHTML" not in script and "eval(" not in script
