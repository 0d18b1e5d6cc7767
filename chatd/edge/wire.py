"""How every face writes ids and times in JSON, as types the OpenAPI document describes exactly.

The faces' response types (``edge/shape_types.py``, ``faces/workdrive/shape_types.py``) use these rather
than a bare ``str``: to Python and mypy they are strings, to the document an id is a string of digits and a
time an RFC 3339 date-time.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

IdStr = Annotated[str, Field(pattern=r"^[0-9]{1,19}$", description="an id: a 64-bit integer, as a string")]
TimeStr = Annotated[
    str, Field(json_schema_extra={"format": "date-time"}, description="UTC ISO 8601 with milliseconds")
]
