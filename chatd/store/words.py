"""The words a message is searched by, the same for both engines (``search.py`` says why chatd, not the
engines, decides them): case, compatibility forms and accents folded, split on everything that is not a
letter or a digit. A query is cut into words the same way."""

from __future__ import annotations

import re
import unicodedata

WORD = re.compile(r"[^\W_]+")  # letters and digits; the underscore is a separator, as in both engines
ACCENTS = re.compile("[\u0300-\u036f]")  # combining diacritical marks, once NFKD has split them off

# ASCII text's bytes folded in one pass: letters to lower case, digits kept, everything else (the underscore
# included, as ``WORD`` has it) a space. A bytes table: ``str.translate`` looks each character up in a dict.
_ASCII_FOLD = bytes(
    c + 32 if 65 <= c <= 90 else c if 97 <= c <= 122 or 48 <= c <= 57 else 32 for c in range(256)
)


def terms(query: str) -> list[str]:
    """The searchable words of a text: case, compatibility forms and accents folded."""
    if query.isascii():  # most messages: no accents or compatibility forms, and casefold is lower
        # ``WORD.findall`` gives the same words; a bytes table and a split take a quarter of its time, for every post.
        return query.encode("ascii").translate(_ASCII_FOLD).decode("ascii").split()
    folded = ACCENTS.sub("", unicodedata.normalize("NFKD", query.casefold()))
    return WORD.findall(unicodedata.normalize("NFC", folded))


def document(contents: str) -> str:
    """What the engines index for ``contents``: its words, one space apart."""
    return " ".join(terms(contents))
