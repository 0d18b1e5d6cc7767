"""Live delivery: events committed by the core reach every websocket that may see them.

- ``endpoint.py``   the thin ``/websocket/client`` route: credentials, ``Origin``, then frames in and out.
- ``session.py``    a connection's start (register, snapshot, ``ready``, subscribe) and its later re-snapshots.
- ``resume.py``     resume, top to bottom: hold, request, replay, ``replay_done``.
- ``handlers.py``   one function per client frame, each calling the core (``core/live.py`` for what only
  the websocket needs) and answering with the shapes of ``chatd/edge/shapes.py``.
- ``connection.py`` one connection's outgoing side: bounded queue, one writer, per-channel ordering.
- ``hub.py``        this process's connections, their subscriptions, and who receives which event.
- ``bus.py``        carries committed events between processes: in-process by default, Redis pub/sub by URL.
- ``presence.py``   presence across nodes; ``rate.py`` the per-connection rate limit.
- ``protocol.py``   frame types and close codes.

Nothing here reads the store or imports a face: what a connection needs from the data comes from the core,
and what it shares with the HTTP faces from ``chatd/edge`` (``tests/test_layers.py``).
"""
