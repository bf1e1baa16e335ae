"""URL converters."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

DB_INT_MAX = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<id:case_id>``: a database id. Numbers no row can have (0, or past PostgreSQL's
    integer range) do not match the route, so they are a 404, not a database error."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        super().__init__(url_map, min=1, max=DB_INT_MAX)
