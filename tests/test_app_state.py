"""``app.state`` (``chatd/app.py``'s ``AppState``) reads like Starlette's ``State``: what is set is read back,
what is deleted is gone, what was never set raises ``AttributeError``."""

from __future__ import annotations

import pytest
from starlette.datastructures import State

from harness import Harness


async def test_app_state_sets_reads_and_forgets_like_starlettes(chat: Harness) -> None:
    state = chat.app.state
    assert isinstance(state, State) and state.core is not None and state.settings is chat.settings
    state.note = "kept"
    assert state.note == "kept" and getattr(state, "note", None) == "kept"
    state.note = "replaced"
    assert state.note == "replaced"
    del state.note
    assert getattr(state, "note", "gone") == "gone"
    with pytest.raises(AttributeError):
        state.never_set
