"""Which organisation a new team, channel or group chat goes to when none is named: the same rule on both
faces (docs/api.md, docs/workdrive.md)."""

from __future__ import annotations

import pytest

from harness import Actor, Harness

pytestmark = pytest.mark.slow_on_postgresql  # a face or transport suite: SQLite every day, both in CI


async def _orgs(owner: Actor, *names: str) -> list[str]:
    return [(await owner.post("/organisation/edit", name=name))["id"] for name in names]


async def test_someone_in_one_organisation_creates_there_without_naming_it(chat: Harness) -> None:
    alice = await chat.user("alice")
    [org] = await _orgs(alice, "Acme")
    assert (await alice.post("/team/edit", name="Core"))["organisation_id"] == org
    assert (await alice.post("/channel/edit", name="general"))["organisation_id"] == org
    assert (await alice.post("/api/group-chats", title="Launch"))["organizationId"] == org


async def test_someone_in_several_organisations_is_told_the_choices(chat: Harness) -> None:
    alice = await chat.user("alice")
    acme, beta = await _orgs(alice, "Acme", "Beta")
    before = len(chat.events)
    for path, body, field in (
        ("/team/edit", {"name": "Core"}, "organisation_id"),
        ("/channel/edit", {"name": "general"}, "organisation_id"),
        ("/api/group-chats", {"title": "Launch"}, "organizationId"),
    ):
        error = (await alice.post(path, expect=400, code="invalid", **body))["error"]
        assert list(error["fields"]) == [field]
        assert f"{acme} (Acme)" in error["fields"][field] and f"{beta} (Beta)" in error["fields"][field]
    assert chat.events[before:] == []
    assert (await alice.get("/team/search"))["total"] == 0 and (await alice.get("/channel/search"))["total"] == 0
    assert (await alice.post("/team/edit", name="Core", organisation_id=beta))["organisation_id"] == beta


async def test_someone_in_no_organisation_must_join_one_first(chat: Harness) -> None:
    loner = await chat.user("loner")
    error = (await loner.post("/channel/edit", name="general", expect=400, code="invalid"))["error"]
    assert error["fields"] == {"organisation_id": "required: you belong to no organisation"}
    assert (await loner.post("/api/group-chats", title="Launch", expect=400, code="invalid"))["error"]["fields"] == {
        "organizationId": "required: you belong to no organisation"
    }
