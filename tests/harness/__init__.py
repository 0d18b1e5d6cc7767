"""Everything a test needs besides its fixtures (those are in ``conftest.py``): import it from here.

- ``app.py``       chatd in-process: ``Harness`` (app, client, fake clock, captured events, ``capture``,
                   ``refused``), ``Actor`` (a signed-in user whose calls assert the answer), ``make_settings``.
- ``trace.py``     what a refusal must leave behind (nothing): stored rows and published events compared,
                   and the house error body checked (``error_of``, ``fields_of``).
- ``files.py``     ``png``: a real image to upload.
- ``live.py``      a real chatd on a free port: ``LiveServer``, ``Person``, ``Socket`` (``drain`` proves
                   "nothing more arrived" with a marker, never with a wait), ``team``, ``live``.
- ``scenes.py``    Crust starting points: ``org_with``, ``channel_with``, ``send``, ``history``, ``texts``.
- ``workdrive.py`` WorkDrive starting points: ``workdrive_org``, ``workdrive_team``, ``member``, ``group_chat``,
                   ``KeyActor``, ``file_of``, ``MEETING_START``/``MEETING_END``.
- ``waiting.py``   ``wait_until``: waiting for a condition with a deadline, the only way a test waits.
- ``databases.py`` a fresh database per test from a template: ``fresh_database_url``, ``BACKENDS``,
                   ``unavailable`` (skip, or fail under CI, when a server is missing), ``throwaway`` (a
                   throwaway PostgreSQL or Redis for a fixture).
- ``nodes.py``     two chatd nodes on one PostgreSQL and one Redis: ``World``, ``node_settings``,
                   ``read_until``, ``read_until_closed``, ``hidden``, ``has_messages`` (fixture ``nodes``).
- ``browser.py``   the web client in chromium through Playwright: its fixtures and page helpers. Imported
                   as ``harness.browser`` by the browser tests only, so other runs do not load Playwright.

Throwaway PostgreSQL and Redis servers are in ``servers.py``, next to this package (the benchmarks use it
too); tests import them from here. A test module imports nothing local but ``harness`` (and never another
test module): ``tests/test_imports.py`` checks it.
"""

from servers import PostgresServer, RedisServer, ServerUnavailable, find_free_port, require_servers

from .app import PASSWORD, Actor, Harness, make_settings, migrate_template
from .databases import BACKENDS, PostgresDatabases, fresh_database_url, sqlite_copy, throwaway, unavailable
from .files import png
from .live import MARKER, LiveServer, Person, Socket, drain_stream, free_port, live, team
from .nodes import BUS_WAIT, Frames, World, has_messages, hidden, node_settings, read_until, read_until_closed
from .scenes import channel_with, history, org_with, send, texts
from .trace import ApiError, Trace, caused, error_of, fields_of, no_trace_between
from .waiting import WAIT, wait_until
from .workdrive import (
    MEETING_END,
    MEETING_START,
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
    "BACKENDS",
    "BUS_WAIT",
    "MARKER",
    "MEETING_END",
    "MEETING_START",
    "PASSWORD",
    "WAIT",
    "Actor",
    "ApiError",
    "Frames",
    "Harness",
    "KeyActor",
    "LiveServer",
    "Org",
    "Person",
    "PostgresDatabases",
    "PostgresServer",
    "RedisServer",
    "ServerUnavailable",
    "Socket",
    "Trace",
    "WorkdriveTeam",
    "World",
    "anonymous",
    "caused",
    "channel_with",
    "drain_stream",
    "error_of",
    "fields_of",
    "file_of",
    "find_free_port",
    "free_port",
    "fresh_database_url",
    "group_chat",
    "has_messages",
    "hidden",
    "history",
    "live",
    "make_settings",
    "member",
    "migrate_template",
    "no_trace_between",
    "node_settings",
    "org_with",
    "png",
    "read_until",
    "read_until_closed",
    "require_servers",
    "send",
    "sign_in",
    "sqlite_copy",
    "team",
    "texts",
    "throwaway",
    "unavailable",
    "wait_until",
    "workdrive_org",
    "workdrive_team",
]
