"""Login, sessions, access tokens, and turning a credential into a ``Principal``.

Session ids and tokens are random secrets shown to their owner once; only their SHA-256 is stored, so a
leaked database does not leak credentials. A wrong password and an unknown user get the same 401.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain import events
from ..domain.codes import Code
from ..domain.errors import BadRequest, Forbidden, NotFound, Unauthenticated
from ..domain.models import AccessToken, Principal, Session, User
from ..store import credentials as credential_store
from ..store import users as user_store
from . import session_jwt
from .context import Core, Tx
from .throttle import account_of

log = logging.getLogger("chatd.auth")
TOKEN_PREFIX = "chatd_"
_TOUCH_EVERY_MS = 60_000  # last-seen times are refreshed at most once a minute per credential


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(slots=True)
class LoginResult:
    session_id: str
    session: Session
    user: User


async def do_login(
    core: Core, login: str, password: str, client_id: str, address: str, user_agent: str = ""
) -> LoginResult:
    """Sign in by username or e-mail; failures are throttled per account and address (``throttle``)."""
    async with core.reading() as conn:
        user = await user_store.find_by_login(conn, login)
    account = account_of(user.id if user else None, login)
    core.throttle.check(account, address)
    ok = await core.passwords.verify(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        core.throttle.failed(account, address)
        core.probe.login_failed()
        # Never the password, nor the name as typed (it may be a mistyped password): the account's id.
        reason = "unknown_user" if user is None else "inactive" if ok else "wrong_password"
        log.warning("login refused", extra={"user_id": user.id if user else None, "address": address, "reason": reason})
        raise Unauthenticated("wrong username or password", code=Code.BAD_CREDENTIALS)
    core.throttle.succeeded(account, address)
    secret = secrets.token_urlsafe(32)
    async with core.transaction() as tx:
        now = tx.now
        session = Session(
            id=tx.new_id(),
            user_id=user.id,
            client_id=client_id[:128],
            user_agent=user_agent[:256],
            created_at=now,
            last_seen_at=now,
            expires_at=now + int(core.settings.auth.session_ttl_days * 86_400_000),
        )
        await credential_store.insert_session(
            tx.conn,
            {
                "id": session.id,
                "token_hash": _hash(secret),
                "user_id": user.id,
                "client_id": session.client_id,
                "user_agent": session.user_agent,
                "created_at": now,
                "last_seen_at": now,
                "expires_at": session.expires_at,
            },
        )
    return LoginResult(session_id=secret, session=session, user=user)


async def do_logout(core: Core, principal: Principal) -> None:
    if principal.session_id is None:
        raise Forbidden("only a session can log out; revoke an access token instead")
    async with core.transaction() as tx:
        await credential_store.delete_session(tx.conn, principal.user_id, principal.session_id)
        tell_credentials_changed(tx, principal.user_id)


def tell_credentials_changed(tx: Tx, user_id: int) -> None:
    """Sessions or tokens of this user ended: their open websockets re-check and close if theirs did."""
    tx.core.credentials.forget_user(user_id)
    tx.notify(user_id, events.CREDENTIALS, "REVOKED", {"user_id": str(user_id)})


async def credentials_alive(core: Core, principal: Principal) -> bool:
    """Is the credential a live connection was opened with still good (websockets re-check on revocation)?"""
    async with core.reading() as conn:
        return await credential_alive_in(conn, principal, await user_store.get_user(conn, principal.user_id), core.clock.now_ms())


async def credential_alive_in(conn: AsyncConnection, principal: Principal, user: User | None, now: int) -> bool:
    """``credentials_alive`` inside a read, for the principal's ``user`` as just read: blocks, deactivations,
    logouts and revocations are all stored, so this re-reads them whatever the bus carried."""
    if user is None or not user.is_active:
        return False
    if principal.session_id is not None:
        return await credential_store.session_alive(conn, principal.session_id, now)
    if principal.token_id is not None:
        return await credential_store.token_alive(conn, principal.token_id)
    return False


async def authenticate(core: Core, secret: str, client_id: str = "") -> Principal:
    """A session id, an access token, or a JWT wrapping a session id (``session_jwt``), whichever it is;
    401 when it is none of them, expired or revoked."""
    if not secret:
        raise Unauthenticated("authentication required")
    if session_jwt.looks_like_jwt(secret):
        session_id, user_id = session_jwt.unwrap(core, secret)
        if session_jwt.looks_like_jwt(session_id) or session_id.startswith(TOKEN_PREFIX):
            raise Unauthenticated("a JWT wraps a session id only", code=Code.BAD_CREDENTIALS)
        principal = await authenticate(core, session_id, client_id)
        if principal.user_id != user_id:
            raise Unauthenticated("the JWT names another user than its session", code=Code.BAD_CREDENTIALS)
        return principal
    token_hash = _hash(secret)
    cached = core.credentials.get(token_hash)
    if cached is not None and (not client_id or not cached.client_id or cached.client_id == client_id):
        return cached
    return await core.credentials.load(token_hash, client_id, lambda: _look_up(core, secret, token_hash, client_id))


async def _look_up(core: Core, secret: str, token_hash: str, client_id: str) -> Principal:
    """``authenticate`` on a cache miss: the session or token and its user, read once for every concurrent
    miss of this credential and client (``CredentialCache.load``), and their last use touched."""
    now = core.clock.now_ms()
    async with core.reading() as conn:
        touch_session: int | None = None
        touch_token: int | None = None
        held_session: int | None = None
        held_token: int | None = None
        held_by = client_id  # the client the principal belongs to: a session's own, else the caller's word
        if secret.startswith(TOKEN_PREFIX):
            token = await credential_store.token_by_hash(conn, token_hash)
            if token is None or token.revoked_at is not None:
                raise Unauthenticated("invalid or revoked access token", code=Code.BAD_CREDENTIALS)
            user = await user_store.get_user(conn, token.user_id)
            held_token = token.id
            if token.last_used_at is None or now - token.last_used_at > _TOUCH_EVERY_MS:
                touch_token = token.id
        else:
            session = await credential_store.session_by_hash(conn, token_hash)
            if session is None or session.expires_at <= now:
                raise Unauthenticated("invalid or expired session", code=Code.BAD_CREDENTIALS)
            if client_id and session.client_id and client_id != session.client_id:
                raise Unauthenticated("session belongs to another client", code=Code.BAD_CREDENTIALS)
            user = await user_store.get_user(conn, session.user_id)
            held_session, held_by = session.id, session.client_id
            if now - session.last_seen_at > _TOUCH_EVERY_MS:
                touch_session = session.id
    if user is None or not user.is_active:
        raise Unauthenticated("account is not active", code=Code.BAD_CREDENTIALS)
    if touch_session or touch_token:
        async with core.transaction() as tx:
            if touch_session:
                await credential_store.touch_session(tx.conn, touch_session, now)
            if touch_token:
                await credential_store.touch_token(tx.conn, touch_token, now)
    return Principal(user=user, session_id=held_session, token_id=held_token, client_id=held_by)


async def list_sessions(core: Core, principal: Principal) -> list[Session]:
    async with core.reading() as conn:
        return await credential_store.list_sessions(conn, principal.user_id, core.clock.now_ms())


async def do_revoke_session(core: Core, principal: Principal, session_id: int | None, client_id: str | None) -> int:
    """End one session by id, or every session of one client (device); returns how many ended."""
    async with core.transaction() as tx:
        if session_id is not None:
            if not await credential_store.delete_session(tx.conn, principal.user_id, session_id):
                raise NotFound("no such session")
            tell_credentials_changed(tx, principal.user_id)
            return 1
        if client_id is None:
            raise BadRequest("give id or client_id", fields={"id": "required without client_id"})
        tell_credentials_changed(tx, principal.user_id)
        return await credential_store.delete_user_sessions(tx.conn, principal.user_id, client_id)


async def do_create_token(core: Core, user_id: int, label: str) -> tuple[str, AccessToken]:
    """A new access token for ``user_id``; the secret is returned once and only its hash is kept."""
    async with core.transaction() as tx:
        return await create_token_in(tx, user_id, label)


async def create_token_in(tx: Tx, user_id: int, label: str) -> tuple[str, AccessToken]:
    """``do_create_token`` inside an open transaction (an organisation and its admin's token are one act)."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = AccessToken(
        id=tx.new_id(), user_id=user_id, label=label[:128], created_at=tx.now, last_used_at=None, revoked_at=None
    )
    await credential_store.insert_token(
        tx.conn,
        {
            "id": token.id,
            "token_hash": _hash(secret),
            "user_id": user_id,
            "label": token.label,
            "created_at": token.created_at,
        },
    )
    return secret, token


async def list_tokens(core: Core, principal: Principal) -> list[AccessToken]:
    async with core.reading() as conn:
        return await credential_store.list_tokens(conn, principal.user_id)


async def do_revoke_token(core: Core, principal: Principal, token_id: int) -> None:
    async with core.transaction() as tx:
        if not await credential_store.revoke_token(tx.conn, principal.user_id, token_id, tx.now):
            raise NotFound("no such access token")
        tell_credentials_changed(tx, principal.user_id)
