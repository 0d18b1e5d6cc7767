"""What every face and the websocket share at the transport edge; no rules live here.

The edge calls the core and uses the domain's types; it never imports a face, the websocket, the web client
or the store (``tests/test_layers.py``).

- ``errors.py``    the error tree rendered as JSON once, for every face.
- ``envelope.py``  the original Crust server's envelope, for the clients that expect it.
- ``params.py``    request parameters (query, form or JSON alike) validated with pydantic.
- ``auth.py``      credentials from headers or cookie, turned into a ``Principal`` by the core.
- ``browser.py``   the origin rule, cross-site write protection, CORS and safe default headers.
- ``responses.py`` the orjson response and the ``endpoint`` wrapper every HTTP route uses.
- ``shapes.py``    core records as JSON, shared by the Crust face and the websocket; ``shape_types.py``
  their types.
- ``uploads.py``   reading a multipart upload, refused before parsing when it is too large.
- ``described.py`` what each route declares for the OpenAPI document; ``openapi.py`` builds the document
  from the route table (``openapi_text.py`` its prose); ``wire.py`` the id and time types of answers.
- ``front.py``     the one ASGI layer in front of the routes: request id, browser rules, body limit, errors,
  metrics; ``routing.py`` the route lookup by exact path, ``headers.py`` a request's headers read once.
- ``body_limit.py`` the bound on every request body, applied before it is read (413).
- ``bounds.py``    the bounds on every parameter: string lengths, nesting, 64-bit integers of ASCII digits.
- ``address.py``   the client's address, believing ``X-Forwarded-For`` only from trusted proxies.
"""
