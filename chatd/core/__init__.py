"""The domain core: every rule of chatd, called alike by both HTTP faces, the websocket and the CLI.

It reads and writes through the store (``chatd/store``) and speaks the domain's types (``chatd/domain``). It
never imports a transport (``edge``, ``faces``, ``realtime``, ``web``) and writes no SQL of its own: no
table and no SQLAlchemy beyond a connection's type and the driver's errors (``tests/test_layers.py``).

What every action needs:

- ``context.py``   ``Core`` (settings, database, clock, ids, publisher …) and ``Tx`` (one transaction and the
  events it emits, published after commit); ``group_commit.py`` concurrent writes sharing one commit.
- ``access.py``    every "may read / may write / may manage" rule, with the fetch-and-check helpers
  (``access_*``), the read rule (``may_read_channel``) and the read-only check (``check_writable``).
- ``clock.py``     the injectable clock (all domain time) and the ISO format of times; ``ids.py`` 64-bit
  time-ordered ids, ``node_ids.py`` the node id each process leases for them; ``paging.py`` result pages.
- ``ports.py``     what the core needs from outside (an event publisher, file storage), implemented by the
  bus (``realtime/bus.py``) and ``store/blobs.py``.

The actions, one module per subject. Functions are named ``check_*`` (validate), ``do_*`` (a whole action,
in a transaction of its own) and ``*_in`` (the same step inside a caller's transaction):

- accounts: ``auth.py`` (login, sessions, tokens, authenticating a credential), ``users.py``,
  ``passwords.py``, ``session_jwt.py``, ``secrets.py`` (the server secret), ``credential_cache.py``,
  ``throttle.py`` (login throttling), ``write_limit.py`` (each user's write allowance over every face);
- organisations: ``orgs.py``, ``teams.py``, ``directory.py`` (an organisation's people, as the WorkDrive face
  manages them), ``archiving.py`` (archive and unarchive at every level);
- channels: ``channels.py``, ``channel_members.py``, ``channel_moves.py`` (move and merge),
  ``join_requests.py``, ``group_chats.py`` (the WorkDrive face's view of channels);
- messages: ``messages.py`` (the one write path), ``message_views.py`` (as one viewer sees them),
  ``history.py``, ``search.py``, ``pins.py``, ``reactions.py``, ``flags.py``, ``attachments.py``,
  ``conversations.py`` (the WorkDrive face's view of messages), ``meetings.py``;
- files: ``files.py``, ``sniff.py`` (types from bytes), ``upload_policy.py`` (presigned uploads);
- live: ``live.py`` (what the websocket asks: the connect snapshot, log bounds, events since a seq, typing),
  ``presence.py`` ("seen" stamps);
- who sees whom: ``profiles.py`` (other users as one may see them);
- operations: ``admin.py`` (the operator's commands).
"""
