"""How work that nobody waits for (housekeeping, lease renewals, presence stamps, credential sweeps) reports
a failure.

A database outage fails every such job until it ends, and the database logs each outage once, with its
cause and fix (``store/db.py``); a job that logged its own traceback each time it ran would bury that line
under one per job per run. So an outage goes to debug here, and anything else, which is a bug, is logged
with its traceback.
"""

from __future__ import annotations

import logging

from ..domain.errors import Unavailable


def failed(log: logging.Logger, what: str, exc: BaseException) -> None:
    """Log that ``what`` failed with ``exc``: at debug for an outage (already logged), else with a traceback."""
    if isinstance(exc, Unavailable):
        log.debug("%s: %s", what, exc.detail)
    else:
        log.error("%s", what, exc_info=exc)
