"""The ``chatd`` command (click), thin over the core like every other face.

- ``main.py``      the root command, and failures turned into one line and an exit code
- ``context.py``   ``--config`` anywhere, settings read once, the database checked before use, passwords
- ``serving.py``   ``serve``, ``check-config``
- ``accounts.py``  ``user add|passwd|list|deactivate|reactivate``, ``token create|list|revoke``
- ``data.py``      ``db init|upgrade|schema|backup``, ``export``, ``import``
- ``tail.py``      ``tail``: follow a channel on a running server
"""

from .main import cli, main

__all__ = ["cli", "main"]
