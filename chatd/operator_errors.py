"""``OperatorError``: the one exception for a mistake the operator can fix, whichever command finds it.

The CLI, ``serve`` and ``--workers`` all raise it, and ``chatd`` (``cli/main.py``) turns it into one line
on stderr, no traceback, and its exit status; it lives here, outside ``cli``, so the server need not import
the CLI to raise it.
"""

from __future__ import annotations


class OperatorError(Exception):
    """A mistake the operator can fix: ``str()`` is one line naming the thing and the fix; ``exit_code`` is
    the status ``chatd`` exits with (1 a refused operation, 2 bad usage or a configuration it cannot run)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
