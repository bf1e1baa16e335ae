"""Streamed CSV downloads."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from flask import Response, stream_with_context

_CHUNK = 64_000


def csv_text(value: str | None) -> str:
    """Text as a spreadsheet will not run it: a leading = + - @ would start a formula."""
    value = value or ""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_response(rows: Iterable[list], filename: str) -> Response:
    """Stream ``rows`` as a CSV attachment in chunks of about 64 kB, so an export of any
    size is sent while the rows are still being read, in constant memory."""

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for row in rows:
            writer.writerow(row)
            if buffer.tell() > _CHUNK:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
