"""The domain core: every rule of chatd, called alike by every face.

- ``access.py``    every "may read / may write / may manage" rule, with the fetch-and-check helpers
  (``access_*``), the read rule (``may_read_channel``) and the read-only check (``check_writable``).
- ``ids.py``       64-bit time-ordered ids; ``clock.py`` the injectable clock.
- ``context.py``   ``Core`` (what an action needs) and ``Tx`` (one transaction plus the events it emits).
- ``auth.py``      login, sessions, tokens, authentication of a request; ``passwords.py`` hashing.
- ``users.py``, ``orgs.py``, ``teams.py``, ``channels.py``, ``messages.py`` …: one module per aggregate,
  functions named ``check_*`` (validate) and ``do_*`` (change and record).
- ``message_views.py`` messages as one viewer sees them; ``archiving.py`` archive and unarchive at every
  level; ``directory.py`` an organisation's people; ``group_chats.py`` and ``conversations.py`` the WorkDrive
  face's actions over channels and messages.
- ``live.py``      what the websocket asks of the core: the connect snapshot, a channel log's bounds and
  events since a seq (replay and gap fills), and typing.
- ``credential_cache.py`` checked credentials kept briefly in memory; ``presence.py`` "seen" stamps.
"""
