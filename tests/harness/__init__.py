"""Everything a test needs besides its fixtures (those are in ``conftest.py``): import it from here.

- ``app.py``       chatd in-process: ``Harness`` (app, client, fake clock, captured events, ``capture``,
                   ``refused``), ``Actor`` (a signed-in user whose calls assert the answer), ``make_settings``.
- ``trace.py``     what a refusal must leave behind (nothing): stored rows and published events compared,
                   and the house error body checked.
- ``live.py``      a real chatd on a free port: ``LiveServer``, ``Person``, ``Socket`` (``drain`` proves
                   "nothing more arrived" with a marker, never with a wait), ``team``, ``live``.
- ``scenes.py``    Crust starting points: ``org_with``, ``channel_with``, ``send``, ``history``, ``texts``.
- ``workdrive.py`` WorkDrive starting points: ``workdrive_org``, ``workdrive_team``, ``member``, ``group_chat``,
                   ``KeyActor``, ``file_of``.
- ``waiting.py``   ``wait_until``: waiting for a condition with a deadline, the only way a test waits.

Throwaway PostgreSQL and Redis servers are in ``servers.py``, next to this package.
"""

from .app import PASSWORD, Actor, Harness, make_settings, migrate_template
from .live import MARKER, LiveServer, Person, Socket, drain_stream, free_port, live, team
from .scenes import channel_with, history, org_with, send, texts
from .trace import ApiError, Trace, caused, error_of, no_trace_between
from .waiting import WAIT, wait_until
from .workdrive import (
    KeyActor,
    Org,
    WorkdriveTeam,
    anonymous,
    file_of,
    group_chat,
    member,
    sign_in,
    workdrive_org,
    workdrive_team,
)

__all__ = [
    "MARKER",
    "PASSWORD",
    "WAIT",
    "Actor",
    "ApiError",
    "Harness",
    "KeyActor",
    "LiveServer",
    "Org",
    "Person",
    "Socket",
    "Trace",
    "WorkdriveTeam",
    "anonymous",
    "caused",
    "channel_with",
    "drain_stream",
    "error_of",
    "file_of",
    "free_port",
    "group_chat",
    "history",
    "live",
    "make_settings",
    "member",
    "migrate_template",
    "no_trace_between",
    "org_with",
    "send",
    "sign_in",
    "team",
    "texts",
    "wait_until",
    "workdrive_org",
    "workdrive_team",
]
