"""What every face and the websocket share at the transport edge; no rules live here.

- ``errors.py``    the error tree rendered as JSON once, for every face.
- ``params.py``    request parameters (query, form or JSON alike) validated with pydantic.
- ``auth.py``      credentials from headers or cookie, turned into a ``Principal`` by the core.
- ``responses.py`` the orjson response and the ``endpoint`` wrapper every HTTP route uses.
- ``shapes.py``    core records as JSON, shared by the Crust face and the websocket.
- ``uploads.py``   reading a multipart upload, refused before parsing when it is too large.
"""
