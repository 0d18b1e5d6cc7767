"""The WorkDrive spec's endpoints chatd does not serve answer 501 and say so, never a bare 404 or 405;
the endpoints chatd does serve keep answering as before."""

from __future__ import annotations

import re

import pytest

from chatd.faces.workdrive.unsupported import UNSUPPORTED
from harness import Harness


async def test_every_unsupported_endpoint_says_so(chat: Harness) -> None:
    for method, path, reason in UNSUPPORTED:
        concrete = re.sub(r"\{\w+\}", "132271570944000005", path)
        response = await chat.anonymous(method, concrete)
        assert response.status_code == 501, (method, path, response.text)
        error = response.json()["error"]
        assert error["code"] == "not_supported"
        assert error["message"].startswith(f"not supported by chatd: {method} {path}: ") and reason in error["message"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_served_endpoints_next_to_them_are_unchanged(chat: Harness) -> None:
    alice = await chat.user("alice")
    assert (await alice.call("PATCH", "/api/users/132271570944000005", json={})).status_code == 404
    assert (await alice.call("GET", "/api/users")).status_code == 200
    assert (await alice.call("PUT", "/api/users/supervisors")).status_code == 405
    assert (await alice.call("GET", "/api/nothing/here")).status_code == 404
