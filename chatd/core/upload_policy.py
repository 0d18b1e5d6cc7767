"""Presigned uploads, as an object store does them: the policy is the credential.

``issue_upload`` (an authenticated call) creates a ``pending`` file row and signs a policy naming that
file, its owner, the promised content type, a size limit and an expiry 15 minutes ahead. Whoever holds the
signed fields may post the bytes once, without a session, before the expiry: a browser can hand them to
an uploader that holds no credential of the user's.

``do_upload_with_policy`` checks, in order: the signature (403), the expiry (403), the size (413, empty
400), the sniffed type against the promise (400 on ``file``), then claims the row (``pending`` →
``uploading``, 409 if already used) so two posts of one policy cannot both write, stores the bytes as
``do_store_file`` does, and marks the row ``ready``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Mapping

import orjson

from ..domain.codes import Code
from ..domain.errors import BadRequest, Conflict, Forbidden
from ..domain.models import Principal, StoredFile
from ..store import files as file_store
from ..store import users as user_store
from .context import Core
from .files import check_size, clean_name, discard_contents, examine, issue_pending_file, store_contents
from .secrets import derived_key
from .sniff import accept_claim, normalise_type

POLICY_TTL_MS = 15 * 60 * 1000
UPLOAD_URL = "/api/media/upload"
ALGORITHM = "CHATD-HMAC-SHA256"
POLICY_FIELD = "policy"
SIGNATURE_FIELD = "x-chatd-signature"
_KEY_PURPOSE = b"chatd upload policy v1"


@dataclass(frozen=True, slots=True)
class UploadPolicy:
    file_id: int
    user_id: int
    content_type: str
    max_size: int
    expires_at: int


def _signing_key(core: Core) -> bytes:
    """A key for this purpose only, derived from the server secret, so no other HMAC can stand in."""
    return derived_key(core, _KEY_PURPOSE)


def _sign(core: Core, encoded_policy: str) -> str:
    return hmac.new(_signing_key(core), encoded_policy.encode(), hashlib.sha256).hexdigest()


def _encode(policy: UploadPolicy) -> str:
    body = {
        "file_id": str(policy.file_id),
        "user_id": str(policy.user_id),
        "content_type": policy.content_type,
        "max_size": policy.max_size,
        "expires_at": policy.expires_at,
    }
    return base64.urlsafe_b64encode(orjson.dumps(body)).rstrip(b"=").decode()


def _decode(encoded: str) -> UploadPolicy:
    body = orjson.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    return UploadPolicy(
        file_id=int(body["file_id"]),
        user_id=int(body["user_id"]),
        content_type=str(body["content_type"]),
        max_size=int(body["max_size"]),
        expires_at=int(body["expires_at"]),
    )


async def issue_upload(core: Core, principal: Principal, mime: str, name: str, module: str) -> dict[str, Any]:
    """A pending file and the signed fields to post its bytes with (the WorkDrive media API's shape)."""
    declared = normalise_type(mime)
    if not declared:
        raise BadRequest.field("mime", "not a valid media type (type/subtype)")
    async with core.transaction() as tx:
        stored = await issue_pending_file(tx, principal, name, declared, module)
        expires_at = tx.now + POLICY_TTL_MS
    policy = UploadPolicy(stored.id, principal.user_id, declared, core.settings.limits.upload_max_bytes, expires_at)
    encoded = _encode(policy)
    return {
        "fileId": str(stored.id),
        "signedRequest": {
            "url": UPLOAD_URL,
            "fields": {
                "key": str(stored.id),
                "Content-Type": declared,
                POLICY_FIELD: encoded,
                "x-chatd-algorithm": ALGORITHM,
                SIGNATURE_FIELD: _sign(core, encoded),
            },
        },
        "url": f"/file/download?id={stored.id}",
    }


def verify_policy(core: Core, fields: Mapping[str, Any]) -> UploadPolicy:
    """The policy the fields carry, if chatd signed it and it has not expired; field names are case-blind."""
    lowered = {key.lower(): value for key, value in fields.items() if isinstance(value, str)}
    encoded, signature = lowered.get(POLICY_FIELD, ""), lowered.get(SIGNATURE_FIELD, "")
    if not encoded or not signature:
        raise Forbidden("the upload needs its signed policy fields", code=Code.BAD_SIGNATURE)
    if not hmac.compare_digest(_sign(core, encoded).encode(), signature.strip().lower().encode()):
        raise Forbidden("the upload policy's signature does not match", code=Code.BAD_SIGNATURE)
    try:
        policy = _decode(encoded)
    except (ValueError, KeyError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise Forbidden("the upload policy is malformed", code=Code.BAD_SIGNATURE) from None
    if core.clock.now_ms() >= policy.expires_at:
        raise Forbidden("the upload policy has expired; ask for a new one", code=Code.EXPIRED)
    return policy


async def _claim(core: Core, policy: UploadPolicy) -> StoredFile:
    """Take the pending row for this upload, so a replay of the same policy gets 409 and writes nothing."""
    async with core.transaction() as tx:
        owner = await user_store.get_user(tx.conn, policy.user_id)
        if owner is None or not owner.is_active:
            raise Forbidden("the account this upload was issued to is not active")
        pending = await file_store.get_file(tx.conn, policy.file_id)
        if pending is None or pending.owner_id != policy.user_id:
            raise Conflict("this upload no longer exists", code=Code.UPLOAD_USED)
        if not await file_store.set_status(tx.conn, pending.id, "pending", "uploading"):
            raise Conflict("this upload was already used", code=Code.UPLOAD_USED)
        return pending


async def do_upload_with_policy(core: Core, fields: Mapping[str, Any], filename: str, data: bytes) -> StoredFile:
    policy = verify_policy(core, fields)
    check_size(core, len(data), policy.max_size)
    sha256, sniffed = await examine(data)
    content_type = accept_claim(policy.content_type, sniffed)
    if content_type is None:
        raise BadRequest.field("file", f"the file is {sniffed}, not the {policy.content_type} this upload was issued for")
    pending = await _claim(core, policy)
    try:
        contents = await store_contents(core, pending.id, data, sha256, content_type)
        values: dict[str, Any] = {
            "content_type": contents.content_type,
            "size": contents.size,
            "sha256": contents.sha256,
            "width": contents.width,
            "height": contents.height,
            "thumbnail_key": contents.thumbnail_key,
            "name": pending.name or clean_name(filename),
        }
        async with core.transaction() as tx:
            await file_store.set_status(tx.conn, pending.id, "uploading", "ready", values)
    except BaseException:
        await discard_contents(core, pending.id)
        async with core.transaction() as tx:
            await file_store.set_status(tx.conn, pending.id, "uploading", "pending")
        raise
    for key, value in values.items():
        setattr(pending, key, value)
    pending.status = "ready"
    return pending
