"""The HTTP faces: parse input, call one core function, shape the output. No rules live here.

- ``errors.py``   the error tree rendered as JSON once, for every face.
- ``params.py``   request parameters (query, form or JSON alike) validated with pydantic.
- ``auth.py``     credentials from headers or cookie, turned into a ``Principal`` by the core.
- ``responses.py`` the orjson response and the ``endpoint`` wrapper every route uses.
- ``crust/``      the Crust messaging API; ``workdrive/`` the WorkDrive API; ``ops.py`` health and metrics.
"""
