"""chatd: a realtime team-chat server.

Packages, each importing only those above it in this list (``tests/test_layers.py`` fails otherwise):

- ``domain/``    the vocabulary: records, events, the error tree and its codes. Imports no other package.
- ``store/``     every SQL statement: the tables, migrations, one module per aggregate. Uses the domain only.
- ``core/``      every rule: who may do what, what a change writes and which events it emits. Uses the store
  and the domain; never a transport, and it writes no SQL.
- ``edge/``      what the transports share: parameters, credentials, error rendering, JSON shapes, the origin
  rule. Calls the core.
- ``faces/``     the HTTP faces (``crust/``, ``workdrive/``, ``ops.py``): parse, one core call, shape. A face
  never imports another face, the websocket or the store.
- ``realtime/``  the websocket: its endpoint, this process's hub, the bus between processes. Calls the core,
  never a face or the store.
- ``web/``       the browser client's files, served at ``/``.

``config.py`` (typed settings) imports nothing of chatd, so every layer may read it. ``app.py`` (the app
factory), ``server.py`` and ``cli.py`` (the entry points) assemble the rest, and nothing imports them.
``client.py`` is the bots' library: it imports nothing of the server. ``logs.py`` and ``metrics.py`` serve
the entry points and the transports.
"""

__version__ = "0.1.0"
