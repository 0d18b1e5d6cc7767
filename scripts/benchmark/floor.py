"""The floor the benchmarks compare against (docs/design.md §7): a minimal Starlette app on the same uvicorn
settings as chatd, with no storage and no auth. ``POST /message/edit`` echoes; ``/ws`` holds websockets and
``POST /broadcast`` sends the body to every one of them (encoded once, as chatd does).
Run: ``python scripts/baseline_app.py PORT``."""

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


async def echo(request: Request) -> Response:
    body = orjson.loads(await request.body())
    return Response(orjson.dumps({"id": "1", "contents": body.get("contents", "")}), media_type="application/json")


async def broadcast(request: Request) -> Response:
    text = (await request.body()).decode()
    for ws in list(sockets):
        await ws.send_text(text)
    return Response(b'{"ok":true}', media_type="application/json")


async def ws_endpoint(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text('{"type":"ready"}')
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
        Route("/broadcast", broadcast, methods=["POST"]),
        Route("/readyz", ready),
        WebSocketRoute("/ws", ws_endpoint),
    ]
)

if __name__ == "__main__":
    uvicorn.run(
        app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools", ws="websockets-sansio",
        ws_per_message_deflate=False, log_level="warning",
    )
