"""Files: storing uploaded bytes, serving them to those who may read them, purging what nobody can reach.

Every fact about a file comes from chatd, never from the client: the storage key is made from the file's
id, the content type is sniffed from the bytes (``sniff.py``), the name is reduced to a safe basename.
Bytes are written before the row that points at them, so a row never names missing bytes; a failed
insert removes what it wrote.

Who may attach or read a file is decided in ``access.py``; to everyone who may not read one it does not
exist (404).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import unicodedata
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from ..domain.errors import BadRequest, NotFound, TooLarge
from ..domain.models import Principal, StoredFile
from ..store import files as file_store
from .access import picture_source, readable_file
from .context import Core, Tx
from .sniff import BINARY, normalise_type, sniff

NAME_MAX = 255
MODULE_MAX = 64
THUMBNAIL_MAX_PX = 320
# Larger images keep their size but get no thumbnail: decoding them would cost hundreds of MB.
THUMBNAIL_MAX_PIXELS = 50_000_000

# Image types Pillow decodes for a size and a thumbnail, with the format Pillow must agree on.
_PILLOW_FORMATS = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/bmp": "BMP",
    "image/tiff": "TIFF",
}
_THUMBNAIL_EXTS = ("png", "jpg")
_EXIF_ORIENTATION = 0x0112
_SEPARATORS = re.compile(r"[\\/]")
# Bidirectional overrides and isolates make "txt.exe" display as "exe.txt"; they never belong in a name.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@dataclass(slots=True)
class Picture:
    """What Pillow found in an image: its displayed size (None past Pillow's bomb limit) and a thumbnail."""

    width: int | None
    height: int | None
    thumbnail: bytes | None = None
    thumbnail_ext: str = ""


@dataclass(slots=True)
class Contents:
    """The facts a file row records about its bytes, once they are stored."""

    content_type: str
    size: int
    sha256: str
    width: int | None = None
    height: int | None = None
    thumbnail_key: str | None = None


def clean_name(name: str) -> str:
    """A safe basename: no directories, control or bidi characters, at most 255 characters."""
    base = unicodedata.normalize("NFC", _SEPARATORS.split(name)[-1])
    base = "".join(
        ch for ch in base if ch not in _BIDI and unicodedata.category(ch) not in ("Cc", "Cs", "Zl", "Zp")
    )
    base = base.strip().rstrip(". ")
    if not base.strip("."):
        return "file"
    if len(base) > NAME_MAX:
        stem, dot, ext = base.rpartition(".")
        base = f"{stem[: NAME_MAX - len(ext) - 1]}.{ext}" if dot and stem and len(ext) <= 16 else base[:NAME_MAX]
    return base


def check_module(module: str) -> str:
    module = module.strip()
    if len(module) > MODULE_MAX:
        raise BadRequest.field("module", f"at most {MODULE_MAX} characters")
    return module


def check_size(core: Core, size: int, limit: int | None = None) -> None:
    """413 above the configured (or a policy's smaller) limit; an empty file is a 400."""
    most = core.settings.limits.upload_max_bytes if limit is None else min(limit, core.settings.limits.upload_max_bytes)
    if size > most:
        raise TooLarge.over("the file", most)
    if size == 0:
        raise BadRequest.field("file", "the file is empty")


def original_key(file_id: int) -> str:
    return f"{file_id}/original"


def _digest_and_sniff(data: bytes) -> tuple[str, str]:
    return hashlib.sha256(data).hexdigest(), sniff(data)


async def examine(data: bytes) -> tuple[str, str]:
    """(sha256, sniffed type), off the event loop: both read every byte of a file up to the upload limit."""
    return await asyncio.to_thread(_digest_and_sniff, data)


def _picture(data: bytes, content_type: str) -> Picture | None:
    """Size and thumbnail of an image, or None if Pillow cannot read it as the sniffed format."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format != _PILLOW_FORMATS[content_type]:
                    return None
                width, height = image.size
                if image.getexif().get(_EXIF_ORIENTATION) in (5, 6, 7, 8):
                    width, height = height, width
                if width * height > THUMBNAIL_MAX_PIXELS:
                    return Picture(width, height)
                thumbnail, ext = _thumbnail(image)
                return Picture(width, height, thumbnail, ext)
    except Image.DecompressionBombError:
        return Picture(None, None)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        return None


def _thumbnail(image: Image.Image) -> tuple[bytes, str]:
    """At most 320 px a side, upright, without metadata: PNG where there is transparency, else JPEG."""
    if image.format == "JPEG":
        image.draft("RGB", (THUMBNAIL_MAX_PX * 2, THUMBNAIL_MAX_PX * 2))
    small = ImageOps.exif_transpose(image)
    small.thumbnail((THUMBNAIL_MAX_PX, THUMBNAIL_MAX_PX))
    transparent = small.mode in ("RGBA", "LA", "PA") or "transparency" in small.info
    out = io.BytesIO()
    if transparent:
        small.convert("RGBA").save(out, "PNG", optimize=True)
        return out.getvalue(), "png"
    small.convert("RGB").save(out, "JPEG", quality=82)
    return out.getvalue(), "jpg"


async def store_contents(core: Core, file_id: int, data: bytes, sha256: str, content_type: str) -> Contents:
    """Write the bytes, and an image's thumbnail, under keys made from the file id."""
    contents = Contents(content_type=content_type, size=len(data), sha256=sha256)
    if content_type in _PILLOW_FORMATS:
        picture = await asyncio.to_thread(_picture, data, content_type)
        if picture is None:
            contents.content_type = BINARY  # the magic number lied: do not serve it as an image
        elif picture.width is not None:
            contents.width, contents.height = picture.width, picture.height
            if picture.thumbnail is not None:
                contents.thumbnail_key = f"{file_id}/thumbnail.{picture.thumbnail_ext}"
                await core.files.put(contents.thumbnail_key, picture.thumbnail)
    await core.files.put(original_key(file_id), data)
    return contents


async def discard_contents(core: Core, file_id: int) -> None:
    """Remove whatever bytes a failed store wrote for this file (missing keys are fine)."""
    for key in (original_key(file_id), *(f"{file_id}/thumbnail.{ext}" for ext in _THUMBNAIL_EXTS)):
        await core.files.delete(key)


async def do_store_file(core: Core, principal: Principal, name: str, data: bytes, *, module: str = "") -> StoredFile:
    """Store an upload whole: sniffed type, image size and thumbnail, a ``ready`` row owned by the caller."""
    check_size(core, len(data))
    module = check_module(module)
    sha256, sniffed = await examine(data)
    file_id = core.ids.next()
    try:
        contents = await store_contents(core, file_id, data, sha256, sniffed)
        async with core.transaction() as tx:
            stored = StoredFile(
                id=file_id,
                owner_id=principal.user_id,
                name=clean_name(name),
                content_type=contents.content_type,
                size=contents.size,
                storage_key=original_key(file_id),
                created_at=tx.now,
                sha256=contents.sha256,
                width=contents.width,
                height=contents.height,
                thumbnail_key=contents.thumbnail_key,
                module=module,
            )
            await file_store.insert_file(tx.conn, stored)
    except BaseException:
        await discard_contents(core, file_id)
        raise
    return stored


async def issue_pending_file(tx: Tx, principal: Principal, name: str, content_type: str, module: str) -> StoredFile:
    """The row a presigned upload will complete: it holds the promised type until the bytes arrive.

    A blank name stays blank here: the upload's own file name fills it in.
    """
    declared = normalise_type(content_type)
    if not declared:
        raise BadRequest.field("content_type", "not a valid media type (type/subtype)")
    file_id = tx.new_id()
    stored = StoredFile(
        id=file_id,
        owner_id=principal.user_id,
        name=clean_name(name) if name.strip() else "",
        content_type=declared,
        size=0,
        storage_key=original_key(file_id),
        created_at=tx.now,
        status="pending",
        module=check_module(module),
    )
    await file_store.insert_file(tx.conn, stored)
    return stored


async def fetch_file(core: Core, principal: Principal, file_id: int, *, thumbnail: bool = False) -> tuple[StoredFile, str, bytes]:
    """A readable file's (row, content type, bytes), or its thumbnail's: 404 if either is absent."""
    async with core.reading() as conn:
        stored = await readable_file(conn, principal, file_id)
    key, content_type = stored.storage_key, stored.content_type
    if thumbnail:
        if stored.thumbnail_key is None:
            raise NotFound("this file has no thumbnail")
        key = stored.thumbnail_key
        content_type = "image/png" if key.endswith(".png") else "image/jpeg"
    try:
        return stored, content_type, await core.files.get(key)
    except FileNotFoundError:
        raise NotFound("no such file") from None


async def picture_file(
    tx: Tx, principal: Principal, file_id: int, field: str, *, channel_id: int | None = None,
    owner_id: int | None = None, attach: bool = False,
) -> StoredFile:
    """The file a new picture shows: the one named, when the rule of ``access.picture_source`` allows, else
    a copy of it owned by ``owner_id`` (the picture's subject; default the caller). ``attach``: the picture
    is attached to a message (a meeting poster), so it must be the caller's own, copied if need be."""
    stored, copy = await picture_source(tx.conn, principal, file_id, field, channel_id=channel_id)
    if copy or (attach and stored.owner_id != principal.user_id):
        return await copy_file(tx, stored, principal.user_id if attach else owner_id or principal.user_id, field)
    return stored


async def copy_file(tx: Tx, stored: StoredFile, owner_id: int, field: str) -> StoredFile:
    """A new file with the same bytes (and thumbnail), owned by ``owner_id``, shared nowhere yet."""
    core = tx.core
    file_id = tx.new_id()
    thumbnail_key = None
    try:
        data = await core.files.get(stored.storage_key)
        if stored.thumbnail_key is not None:
            thumbnail_key = f"{file_id}/{stored.thumbnail_key.rpartition('/')[2]}"
            await core.files.put(thumbnail_key, await core.files.get(stored.thumbnail_key))
        await core.files.put(original_key(file_id), data)
    except FileNotFoundError:
        await discard_contents(core, file_id)
        raise BadRequest.field(field, "no such file") from None
    copy = StoredFile(
        id=file_id,
        owner_id=owner_id,
        name=stored.name,
        content_type=stored.content_type,
        size=stored.size,
        storage_key=original_key(file_id),
        created_at=tx.now,
        sha256=stored.sha256,
        width=stored.width,
        height=stored.height,
        thumbnail_key=thumbnail_key,
        module=stored.module,
    )
    try:
        await file_store.insert_file(tx.conn, copy)
    except BaseException:
        await discard_contents(core, file_id)
        raise
    return copy


def file_payload(stored: StoredFile) -> dict[str, Any]:
    """The same for every viewer, so it can sit inside a message event sent to a whole channel."""
    return {
        "id": str(stored.id),
        "name": stored.name,
        "content_type": stored.content_type,
        "size": stored.size,
        "width": stored.width,
        "height": stored.height,
        "has_thumbnail": stored.thumbnail_key is not None,
        "url": f"/file/download?id={stored.id}",
        "thumbnail_url": f"/file/thumbnail?id={stored.id}" if stored.thumbnail_key else None,
    }


ABANDONED_UPLOAD_MS = 24 * 3600 * 1000
PURGE_BATCH = 500


async def purge_files(core: Core) -> int:
    """Delete the bytes of files nobody can reach: those of messages removed more than
    ``limits.file_grace_days`` ago (docs/design.md §3), uploads older than that never attached to anything, and
    presigned uploads that never arrived within a day.
    The row is kept, marked deleted, so links to it answer 404 rather than 500. Returns how many went."""
    now = core.clock.now_ms()
    grace_ms = int(core.settings.limits.file_grace_days * 86_400_000)
    purged = 0
    while True:
        async with core.transaction() as tx:
            due = await file_store.due_for_purge(tx.conn, now - grace_ms, now - ABANDONED_UPLOAD_MS, PURGE_BATCH)
            for stored in due:
                await file_store.mark_deleted(tx.conn, stored.id, now)
        for stored in due:  # after the commit: a crash in between leaks bytes, never loses a live file
            for key in (stored.storage_key, stored.thumbnail_key):
                if key:
                    await core.files.delete(key)
        purged += len(due)
        if len(due) < PURGE_BATCH:
            return purged
