"""What an operator does from the machine (``chatd user …``, ``chatd token …``): no principal, since whoever
can run chatd against its database already holds everything.

Deactivation ends sessions through the same path as every other revocation (``tell_credentials_changed``):
the event reaches the servers over the Redis bus when there is one; without one (the CLI is not the
server), each server's credential sweep (``realtime/sweep.py``) notices within
``auth.credential_cache_seconds``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..store import accounts as account_store
from ..store import credentials as credential_store
from ..store import users as user_store
from .auth import tell_credentials_changed
from .context import Core
from ..domain.errors import Conflict, NotFound
from ..domain.models import AccessToken, Principal, User


async def do_set_active(core: Core, login: str, active: bool) -> User:
    """Deactivate (status ``blocked``, every session ended, every socket closed) or reactivate an account."""
    async with core.transaction() as tx:
        user = await user_store.find_by_login(tx.conn, login)
        if user is None:
            raise NotFound(f"no user {login!r}")
        if user.is_active == active:
            raise Conflict(f"{user.username} is already {'active' if active else 'deactivated'}")
        await user_store.update_user(tx.conn, user.id, {"status": "active" if active else "blocked", "updated_at": tx.now})
        if not active:
            await credential_store.delete_user_sessions(tx.conn, user.id)
            tell_credentials_changed(tx, user.id)
        found = await user_store.get_user(tx.conn, user.id)
    assert found is not None
    return found


@dataclass(slots=True)
class TokenRow:
    token: AccessToken
    username: str


async def list_tokens(core: Core, login: str | None = None) -> list[TokenRow]:
    """Every access token (or one user's), revoked ones included, oldest first."""
    async with core.reading() as conn:
        user_id = None
        if login is not None:
            user = await user_store.find_by_login(conn, login)
            if user is None:
                raise NotFound(f"no user {login!r}")
            user_id = user.id
        return [TokenRow(token, name) for token, name in await account_store.tokens_with_owners(conn, user_id)]


async def do_revoke_token(core: Core, token_id: int) -> TokenRow:
    """Revoke any token by id; sockets opened with it close like on any revocation."""
    async with core.transaction() as tx:
        token = await account_store.token_by_id(tx.conn, token_id)
        if token is None:
            raise NotFound(f"no access token {token_id}")
        if token.revoked_at is not None:
            raise Conflict(f"access token {token_id} is already revoked")
        await credential_store.revoke_token(tx.conn, token.user_id, token_id, tx.now)
        tell_credentials_changed(tx, token.user_id)
        owner = await user_store.get_user(tx.conn, token.user_id)
        revoked = await account_store.token_by_id(tx.conn, token_id)
    assert revoked is not None
    return TokenRow(revoked, owner.username if owner else "?")


async def dead_credentials(core: Core, principals: list[Principal]) -> list[Principal]:
    """Which of these (the credentials of open sockets) no longer hold: user inactive, session ended or
    expired, token revoked. A few queries for all of them, whatever their number."""
    if not principals:
        return []
    async with core.reading() as conn:
        active = await account_store.active_users(conn, [p.user_id for p in principals])
        sessions = await account_store.live_sessions(
            conn, [p.session_id for p in principals if p.session_id is not None], core.clock.now_ms()
        )
        tokens = await account_store.live_tokens(conn, [p.token_id for p in principals if p.token_id is not None])
    return [
        p for p in principals
        if p.user_id not in active
        or (p.session_id is not None and p.session_id not in sessions)
        or (p.token_id is not None and p.token_id not in tokens)
    ]
