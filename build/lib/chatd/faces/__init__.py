"""The HTTP faces: parse input, call one core function, shape the output. No rules live here.

- ``crust/``      the Crust messaging API; ``workdrive/`` the WorkDrive API; ``ops.py`` health and metrics.

What they share with each other and with the websocket (errors, parameters, credentials, the endpoint
wrapper) lives in ``chatd/edge``.
"""
