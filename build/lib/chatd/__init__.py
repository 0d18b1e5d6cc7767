"""chatd: a realtime team-chat server.

Packages, dependencies pointing down only:
- ``faces/``     the HTTP faces (Crust, WorkDrive) and error rendering: parse, call the core, shape.
- ``realtime/``  the websocket endpoint, per-process hub, and the bus between processes.
- ``core/``      every rule: who may do what and which events a change emits.
- ``store/``     SQLAlchemy tables and the SQL behind the core's needs.
- ``config.py``  typed settings, ``app.py`` the app factory, ``cli.py`` the ``chatd`` command.
"""

__version__ = "0.1.0"
