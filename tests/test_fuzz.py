"""schemathesis against a live chatd: every operation of /openapi.json, with generated valid and invalid
input, must never answer 5xx (but the 501 of the endpoints chatd does not serve), and must answer with a
status and a body its description lists.

The caller is a server admin with an access token (a token survives the fuzzed logouts and session
revocations), and the ids of real things (organisations, teams, channels, messages, a file, group chats,
another user and their join requests) are fed to the generator, so calls reach the core instead of stopping
at 404. The caller's own id is not among them: a fuzzed block or removal of the caller would end the run
early. Examples per
operation are bounded (``CHATD_FUZZ_EXAMPLES``); the seed is random unless ``CHATD_FUZZ_SEED`` is set, and a
failure prints it, with a curl command per failing case. The suite runs it on SQLite;
``CHATD_FUZZ_BACKENDS=sqlite,postgresql`` adds PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatd.core.auth import do_create_token
from chatd.core.users import do_create_user
from harness import PASSWORD, LiveServer, live, make_settings

pytestmark = pytest.mark.slow  # fuzzing: schemathesis sends generated requests to every operation

EXAMPLES = int(os.environ.get("CHATD_FUZZ_EXAMPLES", "15"))  # the coverage phase is whole whatever this is
BACKENDS = os.environ.get("CHATD_FUZZ_BACKENDS", "sqlite").split(",")  # the suite's budget: one backend
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance"
TIMEOUT_SECONDS = 900


async def _call(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> Any:
    response = await client.request(method, path, **kwargs)
    assert response.status_code in (200, 201), f"{method} {path}: {response.status_code} {response.text}"
    return response.json()


async def _made(client: httpx.AsyncClient, path: str, **body: Any) -> str:
    return str((await _call(client, "POST", path, json=body))["id"])


async def _seed_data(server: LiveServer, token: str) -> list[str]:
    """Things to aim at, made through the API as a client would; returns their ids."""
    victim = await do_create_user(server.core, "victim", "victim@example.com", PASSWORD)
    victim_token, _ = await do_create_token(server.core, victim.id, "victim")
    ids = [str(victim.id)]
    async with (
        httpx.AsyncClient(base_url=server.http, headers={"X-API-KEY": token}) as admin,
        httpx.AsyncClient(base_url=server.http, headers={"X-API-KEY": victim_token}) as other,
    ):
        for name in ("Acme", "Globex"):
            org = await _made(admin, "/organisation/edit", name=name)
            await _call(admin, "POST", "/organisation/members/add", json={"id": org, "user_id": str(victim.id)})
            team = await _made(admin, "/team/edit", organisation_id=org, name="core")
            channel = await _made(admin, "/channel/edit", organisation_id=org, team_id=team, name="general")
            private = await _made(admin, "/channel/edit", organisation_id=org, name="secret", type="private")
            first = await _made(admin, "/message/edit", channel_id=channel, contents="hello @victim")
            reply = await _made(admin, "/message/edit", channel_id=channel, contents="a reply", reply_to=first)
            await _call(admin, "POST", "/message/react", json={"id": first, "emoji": "👍"})
            await _call(admin, "POST", "/message/pin", json={"id": first})
            note = ("note.txt", b"some text", "text/plain")
            upload = str((await _call(admin, "POST", "/file/upload", files={"file": note}))["id"])
            chat = await _made(admin, "/api/group-chats", title="by request", byRequest=True, organizationId=org)
            asked = await _made(other, f"/api/group-chats/{chat}/join-requests")
            ids += [org, team, channel, private, first, reply, upload, chat, asked]
        admin_of = {"email": "boss@initech.test", "firstName": "Bill"}
        opened = await _call(admin, "POST", "/api/organization", json={"name": "Initech", "admin": admin_of})
        ids += [opened["id"], opened["admin"]["id"]]
    return ids


# Inputs that broke chatd before (issue 13): digits Python reads but ASCII does not have, and numbers past
# 64 bits. The generator uses dictionary entries that break a parameter's schema for its invalid inputs.
NASTY_TEXT = ["²", "٣", "0", "-1", "9223372036854775808", "1" * 40]
NASTY_NUMBERS = [0, -1, 1 << 63, 1 << 64]


def _config(path: Path, ids: list[str]) -> Path:
    """Real ids (and known nasty values) for half of the strings and integers generated; 501 is what the
    unserved endpoints answer."""
    values = ", ".join(f'"{value}"' for value in [*ids, *NASTY_TEXT])
    integers = ", ".join(str(value) for value in [*ids, *NASTY_NUMBERS])
    path.write_text(
        f"""
[dictionaries.ids]
values = [{values}]

[dictionaries.numbers]
values = [{integers}]

[generation.dictionaries.string]
dictionary = "ids"
probability = 0.5

[generation.dictionaries.integer]
dictionary = "numbers"
probability = 0.5

[phases.coverage]
unexpected-methods = []  # what Starlette's router answers (405) is the same for every route

[checks.not_a_server_error]
expected-statuses = ["1xx", "2xx", "3xx", "4xx", "501"]
"""
    )
    return path


@pytest.mark.parametrize("backend", BACKENDS)
async def test_no_operation_fails_or_breaks_its_description(database_url: str, tmp_path: Path) -> None:
    seed = int(os.environ.get("CHATD_FUZZ_SEED") or random.randrange(1 << 32))
    async with live(make_settings(database_url, tmp_path)) as server:
        admin = await do_create_user(server.core, "fuzzer", "fuzzer@example.com", PASSWORD, is_admin=True)
        token, _ = await do_create_token(server.core, admin.id, "schemathesis")
        config = _config(tmp_path / "schemathesis.toml", await _seed_data(server, token))
        command = [
            sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "--no-color",
            "run", f"{server.http}/openapi.json", "--header", f"X-API-KEY: {token}",
            "--checks", CHECKS, "--max-examples", str(EXAMPLES), "--seed", str(seed),
            "--phases", "examples,coverage,fuzzing", "--workers", "2", "--generation-database", "none",
            "--generation-with-security-parameters", "false",
            "--report", "junit", "--report-dir", str(tmp_path / "report"),
        ]
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path
        )
        output, _ = await asyncio.wait_for(process.communicate(), TIMEOUT_SECONDS)
    text = output.decode(errors="replace")
    report = f"schemathesis (seed {seed}, {time.monotonic() - started:.0f} s):\n{text[-12000:]}"
    print(report)
    assert process.returncode == 0, report
