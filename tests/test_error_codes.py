"""The error codes clients may rely on: one list in the code (``chatd/domain/codes.py``), and the docs say the same."""

from __future__ import annotations

import re
from pathlib import Path

from chatd.domain.codes import NOT_ANSWERED, STATUS, WEBSOCKET_ONLY, Code

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _documented_table(doc: str = "api.md") -> dict[str, set[str]]:
    """``{status: {codes}}`` from the error table of a doc."""
    text = (DOCS / doc).read_text()
    table = text[text.index("| status | code(s) | when |") :]
    rows: dict[str, set[str]] = {}
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        status, codes = (cell.strip() for cell in line.strip("|").split("|")[:2])
        rows[status] = set(re.findall(r"`([a-z_]+)`", codes))
    return rows


def test_every_code_has_a_status_entry() -> None:
    assert set(STATUS) == set(Code)


def test_the_api_docs_list_exactly_the_codes_http_answers_with_under_their_status() -> None:
    expected: dict[str, set[str]] = {}
    for code, status in STATUS.items():
        if code in WEBSOCKET_ONLY or code in NOT_ANSWERED:
            continue
        expected.setdefault("other" if status is None else str(status), set()).add(code.value)
    assert _documented_table() == expected


def test_the_websocket_docs_name_the_codes_only_it_answers_with() -> None:
    text = (DOCS / "websocket.md").read_text()
    for code in WEBSOCKET_ONLY:
        assert f"`{code.value}`" in text


def test_the_workdrive_docs_use_only_known_codes_under_their_status() -> None:
    for status, codes in _documented_table("workdrive.md").items():
        for code in codes:
            assert str(STATUS[Code(code)]) == status, code
