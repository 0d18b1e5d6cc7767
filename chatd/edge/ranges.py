"""A download's ``Range`` header (RFC 9110 §14): the part of a file a client asks for.

Browsers ask for ranges to seek in audio and video and to resume a broken download, and download managers
to fetch in pieces. chatd answers one range of bytes with 206; anything it does not serve as a range (more
than one range, another unit, a header it cannot parse, or an ``If-Range`` naming an older version) gets the
whole file with 200, as the RFC lets a server do. Only a range that starts past the end is refused, with
416 and the file's length, so that a client resuming a download it already has all of learns that it has.
"""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException

_ONE_RANGE = re.compile(r"bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*", re.ASCII | re.IGNORECASE)
_MAX_DIGITS = 18  # a position of more digits is past any file this server stores (and parses cheaply)
_PAST_ANY_FILE = 10**_MAX_DIGITS


def byte_range(header: str, size: int, if_range: str | None, etag: str) -> tuple[int, int] | None:
    """``(first, end)`` of the one range ``header`` asks for, clipped to ``size`` bytes (``end`` exclusive),
    or None to send the whole file. ``if_range``: the request's ``If-Range``, which must equal the quoted
    ``etag`` (a date there is never exact enough for bytes that may change: the whole file instead).

    Raises a 416 ``HTTPException`` (with ``Content-Range: bytes */size``) for a range past the end."""
    if not header or (if_range is not None and (not etag or if_range.strip() != f'"{etag}"')):
        return None
    found = _ONE_RANGE.fullmatch(header.strip())
    if found is None:
        return None  # several ranges, another unit, or not a range at all: the whole file
    first_text, last_text = found.groups()
    if first_text:
        first = _position(first_text)
        last = _position(last_text) if last_text else None
        if last is not None and last < first:
            return None  # "bytes=9-3" is not a valid range: ignored, as the RFC says
        end = size if last is None else min(size, last + 1)
    elif last_text:  # "bytes=-N": the last N bytes
        suffix = _position(last_text)
        if suffix and not size:
            return None  # the last bytes of an empty file: the whole of it, which is nothing
        first, end = max(0, size - suffix), size
        if suffix == 0:
            first = size  # the last zero bytes: nothing to send
    else:
        return None  # "bytes=-"
    if first >= size:
        raise HTTPException(416, "the range starts past the end of the file", {"Content-Range": f"bytes */{size}"})
    return first, end


def _position(digits: str) -> int:
    """A position as sent, any number of digits: past ``_MAX_DIGITS`` it is past the end of any file, and
    is not converted (a header of thousands of digits would cost a quadratic ``int``)."""
    return int(digits) if len(digits) <= _MAX_DIGITS else _PAST_ANY_FILE
