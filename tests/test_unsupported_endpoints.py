"""The WorkDrive spec's endpoints chatd does not serve answer 501 and say so, never a bare 404 or 405;
the endpoints chatd does serve keep answering as before."""

from __future__ import annotations

import re

import pytest

from chatd.faces.workdrive.unsupported import UNSUPPORTED
from harness import Harness

pytestmark = pytest.mark.slow_on_postgresql  # a face or transport suite: SQLite every day, both in CI


async def test_every_unsupported_endpoint_says_so(chat: Harness) -> None:
    for method, path, reason in UNSUPPORTED:
        concrete = re.sub(r"\{\w+\}", "132271570944000005", path)
        error = (await chat.refused(chat.anonymous(method, concrete), 501, "not_supported"))["error"]
        assert error["message"].startswith(f"not supported by chatd: {method} {path}: ") and reason in error["message"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_served_endpoints_next_to_them_are_unchanged(chat: Harness) -> None:
    alice = await chat.user("alice")
    await alice.patch("/api/users/132271570944000005", expect=404, code="not_found")
    await alice.get("/api/users")
    await alice.put("/api/users/supervisors", expect=405, code="method_not_allowed")
    await alice.get("/api/nothing/here", expect=404, code="not_found")
