"""The floor the benchmarks compare against (DESIGN.md §7): a minimal Starlette app on the same uvicorn
settings as chatd, with no storage and no auth. Run: ``python scripts/baseline_app.py PORT``."""

from __future__ import annotations

import sys

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def echo(request: Request) -> Response:
    body = orjson.loads(await request.body())
    return Response(orjson.dumps({"id": "1", "contents": body.get("contents", "")}), media_type="application/json")


app = Starlette(routes=[Route("/message/edit", echo, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools", log_level="warning")
