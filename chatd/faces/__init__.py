"""The HTTP faces: parse input, call one core function, shape the output. No rules live here.

- ``crust/``      the Crust messaging API; ``workdrive/`` the WorkDrive API; ``ops.py`` health and metrics.
- ``apidocs/``    ``/openapi.json`` and the ``/docs`` page that renders it.

What they share with each other and with the websocket (errors, parameters, credentials, the endpoint
wrapper, the Crust shapes) lives in ``chatd/edge``. A face imports the core, the edge and the domain; never
another face, the websocket, the web client or the store (``tests/test_layers.py``).
"""
