"""What a file really is, read from its bytes: a client's declared type or file name is never trusted.

``sniff(data)`` names the type from magic numbers. Anything markup-like that a browser could render as
active content (HTML, SVG, XML) is only ever ``text/plain``: valid UTF-8 without binary control bytes is
``text/plain``, everything unrecognised ``application/octet-stream``. ``accept_claim(claimed, sniffed)``
says whether a declared type is consistent with the bytes (presigned uploads promise a type up front) and
which type to store.
"""

from __future__ import annotations

import io
import re
import zipfile

TEXT = "text/plain"
BINARY = "application/octet-stream"
ZIP = "application/zip"
OLE = "application/x-ole-storage"  # the compound file container of .doc, .xls, .ppt, .msg

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", ZIP),
    (b"PK\x05\x06", ZIP),
    (b"\x1f\x8b", "application/gzip"),
    (b"BZh", "application/x-bzip2"),
    (b"\xfd7zXZ\x00", "application/x-xz"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", OLE),
    (b"ID3", "audio/mpeg"),
    (b"fLaC", "audio/flac"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"\x00\x00\x01\x00", "image/vnd.microsoft.icon"),
)

_RIFF = {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}

_FTYP_BRANDS = {
    b"qt  ": "video/quicktime",
    b"M4A ": "audio/mp4",
    b"M4B ": "audio/mp4",
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"mif1": "image/heif",
    b"avif": "image/avif",
    b"3gp4": "video/3gpp",
    b"3gp5": "video/3gpp",
    b"3gp6": "video/3gpp",
}

# Zip-based documents, told apart by a part only that format has. Fixed strings: nothing read from the
# archive is ever used as a content type.
_ZIP_PARTS = (
    ("word/document.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("ppt/presentation.xml", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
)
_ZIP_MIMETYPES = {
    b"application/vnd.oasis.opendocument.text": "application/vnd.oasis.opendocument.text",
    b"application/vnd.oasis.opendocument.spreadsheet": "application/vnd.oasis.opendocument.spreadsheet",
    b"application/vnd.oasis.opendocument.presentation": "application/vnd.oasis.opendocument.presentation",
    b"application/epub+zip": "application/epub+zip",
}

_ZIP_DOCUMENTS = frozenset(t for _, t in _ZIP_PARTS) | frozenset(_ZIP_MIMETYPES.values())

# Bytes that do not occur in text: C0 controls except tab, newline, vertical tab, form feed, carriage
# return and escape (ANSI-coloured logs are still text).
_BINARY_BYTES = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13, 27)) + b"\x7f"

_TYPE_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")

# Declared types that name the same bytes as a sniffed type: aliases in the wild, and the specific
# formats of a generic container (a .doc is an OLE file, a .jar a zip).
_ALIASES: dict[str, frozenset[str]] = {
    "image/jpeg": frozenset({"image/jpg", "image/pjpeg"}),
    "image/bmp": frozenset({"image/x-bmp", "image/x-ms-bmp"}),
    "image/vnd.microsoft.icon": frozenset({"image/x-icon"}),
    "audio/mpeg": frozenset({"audio/mp3", "audio/mpeg3", "audio/x-mpeg"}),
    "audio/aac": frozenset({"audio/x-aac", "audio/aacp"}),
    "audio/wav": frozenset({"audio/x-wav", "audio/wave", "audio/vnd.wave"}),
    "audio/flac": frozenset({"audio/x-flac"}),
    "audio/ogg": frozenset({"application/ogg", "audio/opus", "audio/vorbis", "video/ogg"}),
    "video/ogg": frozenset({"application/ogg", "audio/ogg"}),
    "video/webm": frozenset({"audio/webm"}),
    "audio/webm": frozenset({"video/webm"}),
    "video/x-matroska": frozenset({"audio/x-matroska", "video/webm", "audio/webm"}),
    "audio/x-matroska": frozenset({"video/x-matroska", "audio/webm", "video/webm"}),
    "video/mp4": frozenset({"audio/mp4", "audio/x-m4a", "audio/m4a", "video/quicktime", "video/x-m4v", "video/3gpp"}),
    "video/quicktime": frozenset({"video/mp4"}),
    "audio/mp4": frozenset({"audio/x-m4a", "audio/m4a", "video/mp4"}),
    "video/3gpp": frozenset({"video/mp4", "audio/3gpp"}),
    "image/heic": frozenset({"image/heif", "image/heic-sequence"}),
    "image/heif": frozenset({"image/heic"}),
    "video/x-msvideo": frozenset({"video/avi", "video/msvideo"}),
    "application/gzip": frozenset({"application/x-gzip", "application/x-tar+gzip"}),
    "application/vnd.rar": frozenset({"application/x-rar-compressed", "application/x-rar"}),
    "application/pdf": frozenset({"application/x-pdf"}),
    ZIP: frozenset(
        {
            "application/x-zip-compressed",
            "application/java-archive",
            "application/vnd.android.package-archive",
            "application/vnd.ms-excel.sheet.macroenabled.12",
            "application/vnd.ms-word.document.macroenabled.12",
            "application/vnd.ms-powerpoint.presentation.macroenabled.12",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.template",
            "application/vnd.openxmlformats-officedocument.presentationml.template",
        }
    )
    | _ZIP_DOCUMENTS,
    OLE: frozenset(
        {"application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint", "application/vnd.ms-outlook"}
    ),
}
# Containers whose declared, more specific format is worth keeping (it only names the bytes better).
_REFINABLE = frozenset({ZIP, OLE})


def sniff(data: bytes) -> str:
    """The content type of ``data`` from its own bytes."""
    head = data[:64]
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return _zip_kind(data) if content_type == ZIP else content_type
    if head[:4] == b"RIFF" and head[8:12] in _RIFF:
        return _RIFF[head[8:12]]
    if head[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(head[8:12], "video/mp4")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return _matroska_kind(data[:4096])
    if head.startswith(b"OggS"):
        return "video/ogg" if b"theora" in data[:4096] else "audio/ogg"
    if head.startswith(b"BM") and len(data) >= 26 and head[6:10] == b"\x00\x00\x00\x00":
        return "image/bmp"
    if audio := _mpeg_audio(head):
        return audio
    if _is_text(data):
        return TEXT
    return BINARY


# A Matroska track's codec id (element 0x86, a one-byte size, then "V_…" for video or "A_…" for audio).
_VIDEO_CODEC = re.compile(rb"\x86[\x81-\xff]V_")
_AUDIO_CODEC = re.compile(rb"\x86[\x81-\xff]A_")


def _matroska_kind(head: bytes) -> str:
    """WebM or other Matroska; audio when its tracks (near the start) name an audio codec and no video one:
    a voice note a browser recorded (``MediaRecorder``) is WebM with one Opus track, and is played as sound."""
    audio_only = _AUDIO_CODEC.search(head) is not None and _VIDEO_CODEC.search(head) is None
    if b"webm" in head:
        return "audio/webm" if audio_only else "video/webm"
    return "audio/x-matroska" if audio_only else "video/x-matroska"


def _mpeg_audio(head: bytes) -> str | None:
    """An MPEG audio frame header (a raw MP3 or ADTS AAC stream, no ID3 tag in front).

    Layer bits 00 mark AAC in ADTS framing; layer I and reserved versions, bitrates and sample rates are
    refused, so a UTF-16 byte-order mark (``FF FE``) is not mistaken for audio.
    """
    if len(head) < 3 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    layer = (head[1] >> 1) & 3
    if layer == 0:
        return "audio/aac" if head[1] & 0xF0 == 0xF0 else None
    if layer == 3 or (head[1] >> 3) & 3 == 1 or head[2] >> 4 == 15 or (head[2] >> 2) & 3 == 3:
        return None
    return "audio/mpeg"


def _zip_kind(data: bytes) -> str:
    if data[30:38] == b"mimetype":
        declared = data[38:38 + 64]
        for marker, content_type in _ZIP_MIMETYPES.items():
            if declared.startswith(marker):
                return content_type
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, RuntimeError, NotImplementedError):
        return ZIP
    for part, content_type in _ZIP_PARTS:
        if part in names:
            return content_type
    return ZIP


def _is_text(data: bytes) -> bool:
    """Valid UTF-8 with (almost) no control bytes: a binary format that happens to decode is not text."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if b"\x00" in data:
        return False
    controls = len(data) - len(data.translate(None, _BINARY_BYTES))
    return controls * 100 <= len(data)


def normalise_type(value: str) -> str:
    """A declared type in canonical form (``Image/PNG; x=y`` → ``image/png``), or "" if malformed."""
    bare = value.split(";", 1)[0].strip().lower()
    return bare if _TYPE_RE.match(bare) else ""


def accept_claim(claimed: str, sniffed: str) -> str | None:
    """The type to store when ``claimed`` fits the bytes, or None when the bytes are something else.

    Any text type (``text/csv``, ``application/json``, ``image/svg+xml`` …) fits ``text/plain`` bytes but
    is stored as ``text/plain``, so nothing uploaded is ever served as markup. A specific format of a
    generic container (``application/msword`` for an OLE file) is kept, since it only names the bytes
    more precisely.
    """
    claimed = normalise_type(claimed)
    if not claimed:
        return None
    if claimed == sniffed:
        return sniffed
    if sniffed == TEXT:
        textual = claimed.startswith("text/") or claimed.endswith(("+xml", "+json", "/xml", "/json"))
        return TEXT if textual or claimed in ("application/javascript", "application/x-yaml") else None
    if claimed in _ALIASES.get(sniffed, frozenset()):
        return claimed if sniffed in _REFINABLE else sniffed
    if sniffed in _ZIP_DOCUMENTS and claimed in _ALIASES[ZIP] | {ZIP}:
        return sniffed  # a recognised zip document declared as a plain zip
    return None
