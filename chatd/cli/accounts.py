"""``chatd user …`` and ``chatd token …``: accounts and access tokens, from the machine chatd runs on."""

from __future__ import annotations

import secrets
from typing import Any

import click

from ..core import admin, auth, users
from ..core.clock import iso
from ..core.context import Core
from ..domain.errors import NotFound
from ..domain.models import User
from ..core.paging import PageRequest
from ..operator_errors import OperatorError
from ..store import orgs as org_store
from .context import config_option, echo_json, read_password, run_with_core


def _user_json(user: User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "username": user.username,
        "email": user.email,
        "display_name": user.display_name,
        "status": user.status,
        "is_admin": user.is_admin,
        "created_at": iso(user.created_at),
        "last_seen_at": iso(user.last_seen_at),
    }


async def _resolve_org(core: Core, org: str) -> int:
    if org.isdigit():
        return int(org)
    async with core.reading() as conn:
        found = await org_store.ids_by_name(conn, org)
    if len(found) != 1:
        raise NotFound(f"no single organisation named {org!r} ({len(found)} found); give its id")
    return found[0]


@click.group("user")
@config_option
def user() -> None:
    """Manage user accounts."""


@user.command("add")
@config_option
@click.argument("name")
@click.option("--email", required=True)
@click.option("--display-name", default="")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--admin", "is_admin", is_flag=True, help="Make a server administrator.")
@click.option("--org", help="Also add to this organisation (id or name).")
def user_add(name: str, email: str, display_name: str, password_stdin: bool, is_admin: bool, org: str | None) -> None:
    """Create a user; without a password (stdin or prompt) one is generated and printed once."""
    password = read_password(password_stdin, "Password")
    generated = password is None
    chosen = password if password is not None else secrets.token_urlsafe(12)

    async def action(core: Core) -> User:
        org_id = await _resolve_org(core, org) if org else None
        return await users.do_create_user(
            core, name, email, chosen, display_name=display_name, is_admin=is_admin, org_id=org_id
        )

    created = run_with_core(action, create=True)
    click.echo(f"created user {created.username} (id {created.id})")
    if generated:
        click.echo(f"password: {chosen}")


@user.command("passwd")
@config_option
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
def user_passwd(name: str, password_stdin: bool) -> None:
    """Set a user's password; their sessions end."""

    async def action(core: Core) -> User:
        found = await users.find_user(core, name)
        password = read_password(password_stdin, f"New password for {found.username}")
        if password is None:
            raise OperatorError("no terminal to prompt on: give the password on standard input with --password-stdin")
        await users.do_set_password(core, found.id, password)
        return found

    changed = run_with_core(action, announce=True)
    click.echo(f"password changed for {changed.username}; their sessions were ended")


@user.command("list")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def user_list(as_json: bool) -> None:
    """List every account."""

    async def action(core: Core) -> list[User]:
        return (await users.list_users(core, PageRequest(1, 1_000_000))).items

    found = run_with_core(action)
    if as_json:
        echo_json([_user_json(u) for u in found])
        return
    click.echo(f"{'ID':<20} {'USERNAME':<24} {'EMAIL':<32} {'STATUS':<10} ADMIN")
    for u in found:
        click.echo(f"{u.id:<20} {u.username:<24} {u.email:<32} {u.status:<10} {'yes' if u.is_admin else ''}")


@user.command("deactivate")
@config_option
@click.argument("name")
def user_deactivate(name: str) -> None:
    """Block an account: its sessions end and its open sockets close."""
    done = run_with_core(lambda core: admin.do_set_active(core, name, False), announce=True)
    click.echo(f"deactivated {done.username}: sessions ended, open connections closing")


@user.command("reactivate")
@config_option
@click.argument("name")
def user_reactivate(name: str) -> None:
    """Let a deactivated account log in again."""
    done = run_with_core(lambda core: admin.do_set_active(core, name, True), announce=True)
    click.echo(f"reactivated {done.username}")


@click.group("token")
@config_option
def token() -> None:
    """Manage access tokens (X-API-KEY) for bots and apps."""


@token.command("create")
@config_option
@click.argument("name")
@click.option("--label", default="")
def token_create(name: str, label: str) -> None:
    """Create an access token for a user (username or email); printed once."""

    async def action(core: Core) -> tuple[str, int, str]:
        found = await users.find_user(core, name)
        if not found.is_active:
            raise OperatorError(f"{found.username} is deactivated: `chatd user reactivate {found.username}` first")
        secret, created = await auth.do_create_token(core, found.id, label)
        return secret, created.id, found.username

    secret, token_id, username = run_with_core(action)
    click.echo(f"access token {token_id} for {username} (shown once):", err=True)
    click.echo(secret)


def _token_json(row: admin.TokenRow) -> dict[str, Any]:
    t = row.token
    return {
        "id": str(t.id),
        "user_id": str(t.user_id),
        "username": row.username,
        "label": t.label,
        "created_at": iso(t.created_at),
        "last_used_at": iso(t.last_used_at),
        "revoked_at": iso(t.revoked_at),
    }


@token.command("list")
@config_option
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def token_list(name: str | None, as_json: bool) -> None:
    """List access tokens (of one user), revoked ones included; never their secrets."""
    rows = run_with_core(lambda core: admin.list_tokens(core, name))
    if as_json:
        echo_json([_token_json(r) for r in rows])
        return
    click.echo(f"{'ID':<20} {'USER':<20} {'LABEL':<24} {'CREATED':<25} {'LAST USED':<25} STATE")
    for r in rows:
        t = r.token
        state = f"revoked {iso(t.revoked_at)}" if t.revoked_at is not None else "active"
        click.echo(f"{t.id:<20} {r.username:<20} {t.label:<24} {iso(t.created_at):<25} {iso(t.last_used_at) or '-':<25} {state}")


@token.command("revoke")
@config_option
@click.argument("token_id", metavar="ID", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke an access token by id (see `chatd token list`); sockets opened with it close."""
    row = run_with_core(lambda core: admin.do_revoke_token(core, token_id), announce=True)
    click.echo(f"revoked access token {row.token.id} of {row.username}")
