"""The floor: a minimal Starlette app on chatd's uvicorn settings, with no storage and no auth.

What no Python server on this stack can beat, measured in the same run as chatd with the same load
generator (docs/performance.md). Each endpoint stands in for one chatd scenario:

- ``POST /message/edit``: parses the JSON body and answers a small JSON object (a send, minus storage).
- ``/ws``: holds websockets; ``POST /broadcast`` sends its body to every one of them, encoded once, as
  chatd's hub does (fan-out). ``/ws?replay=N`` first sends N stored events one frame each (resume).
- ``GET /message/read``: a page of 50 messages of chatd's shape, encoded per request (history, search).

Run: ``python scripts/benchmark/floor.py PORT``.
"""

from __future__ import annotations

import sys

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

sockets: set[WebSocket] = set()


def _message(n: int) -> dict[str, object]:
    return {
        "id": str(1_300_000_000_000_000_000 + n), "channel_id": "1300000000000000001", "user_id": "1300000000000000002",
        "type": "MESSAGE", "contents": "tabule kimo fara lesune vadi kopo mira tesa nuvo", "meta": {}, "reply_to": None,
        "reply_count": 0, "last_reply_at": None, "client_msg_id": None, "created_at": "2026-11-30T07:00:00.000Z",
        "updated_at": "2026-11-30T07:00:00.000Z", "edited_at": None, "deleted": False, "files": [], "mentions": [],
        "pinned": False, "flagged": False, "reactions": [], "can_edit": False, "can_remove": False,
    }


PAGE = [_message(n) for n in range(50)]
EVENTS = [{"type": "message", "event": "CREATED", "channel_id": "1", "seq": n + 1, "data": _message(n)} for n in range(1000)]


async def echo(request: Request) -> Response:
    body = orjson.loads(await request.body())
    return Response(orjson.dumps({"id": "1", "contents": body.get("contents", "")}), media_type="application/json")


async def read(request: Request) -> Response:
    return Response(orjson.dumps({"items": PAGE, "has_more": True}), media_type="application/json")


async def broadcast(request: Request) -> Response:
    text = (await request.body()).decode()
    for ws in list(sockets):
        await ws.send_text(text)
    return Response(b'{"ok":true}', media_type="application/json")


async def ws_endpoint(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text('{"type":"ready"}')
    replay = int(websocket.query_params.get("replay", "0"))
    for n in range(replay):
        await websocket.send_text(orjson.dumps(EVENTS[n % len(EVENTS)]).decode())
    if replay:
        await websocket.send_text('{"type":"replay_done"}')
    sockets.add(websocket)
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        sockets.discard(websocket)


async def ready(request: Request) -> Response:
    return Response(b"{}", media_type="application/json")


app = Starlette(
    routes=[
        Route("/message/edit", echo, methods=["POST"]),
        Route("/message/read", read),
        Route("/broadcast", broadcast, methods=["POST"]),
        Route("/readyz", ready),
        WebSocketRoute("/ws", ws_endpoint),
    ]
)

if __name__ == "__main__":
    uvicorn.run(
        app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools", ws="websockets-sansio",
        ws_per_message_deflate=False, log_level="warning", backlog=16384,
    )
