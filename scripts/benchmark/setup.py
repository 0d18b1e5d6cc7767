"""What a scenario needs before it measures: a signed-in admin, an organisation and a channel (chatd), or
nothing (the floor). Setup is plain HTTP with httpx: it is not measured."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from . import procs


@dataclass
class Room:
    """Where a scenario posts and listens: the channel, the credential and the websocket URL."""

    channel_id: str
    headers: dict[str, str]
    ws_url: str
    send_path: str


def login(server: procs.Server, username: str, password: str) -> dict[str, str]:
    response = httpx.post(f"{server.base}/user/login", json={"username": username, "password": password}, timeout=60)
    response.raise_for_status()
    return {"X-Session-ID": response.json()["session_id"]}


def call(server: procs.Server, path: str, headers: dict[str, str], **body: Any) -> Any:
    response = httpx.post(f"{server.base}{path}", json=body, headers=headers, timeout=60)
    if response.status_code != 200:
        raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
    return response.json()


def chatd_room(server: procs.Server, name: str = "bench") -> Room:
    headers = login(server, "admin", procs.ADMIN_PASSWORD)
    org = call(server, "/organisation/edit", headers, name=f"Bench {name}")["id"]
    channel = call(server, "/channel/edit", headers, organisation_id=org, name=name)["id"]
    return Room(channel, headers, f"ws://127.0.0.1:{server.port}/websocket/client", "/message/edit")


def floor_room(server: procs.Server) -> Room:
    return Room("1", {}, f"ws://127.0.0.1:{server.port}/ws", "/message/edit")
