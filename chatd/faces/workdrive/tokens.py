"""``/api/token/generate-access``: an organisation admin mints an access token for one of its users."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from ...core import directory
from ...edge.params import Id
from ...edge.responses import Call, endpoint
from .params import CamelParams, spec_names


class GenerateParams(CamelParams):
    user_id: Id


@endpoint(GenerateParams, fields=spec_names())
async def generate(call: Call[GenerateParams]) -> dict[str, Any]:
    """The token acts as that user everywhere, so the core demands authority over the whole account."""
    secret, target = await directory.do_create_token_for(call.core, call.who, call.params.user_id)
    return {"userId": str(target.id), "token": secret}


routes = [Route("/api/token/generate-access", generate, methods=["POST"])]
