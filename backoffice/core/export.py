"""Streamed CSV downloads that a spreadsheet opens as they were meant.

Every export follows the same rules, kept here so that each feature only says what its rows
are: UTF-8 with a byte order mark (without it Excel reads the file in the PC's code page and
Chinese names turn to mojibake); column headers in the reader's words; a coded value in two
columns, the code (for formulas and scripts) and its name in the reader's language; dates as
YYYY-MM-DD and instants in Hong Kong time to the second; and a file name that says what was
exported, with which filters, and when.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime
from urllib.parse import quote

from flask import Response, stream_with_context

from backoffice.core.dates import to_hk, utcnow
from backoffice.core.identity import country_name

_CHUNK = 64_000
BOM = "\ufeff"

# A file name's parts keep letters (any script), digits, - and _; everything else becomes _.
_UNSAFE = re.compile(r"[^\w-]+")
_NOT_ASCII_SAFE = re.compile(r"[^A-Za-z0-9_-]+")
_PART_CHARS = 40
# In UTF-8 bytes, which is what file systems count (255 at most on most of them); a Chinese
# character takes three.
_NAME_BYTES = 150


def csv_text(value: str | None) -> str:
    """Text as a spreadsheet will not run it: a leading = + - @ would start a formula."""
    value = value or ""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_date(value: date | None) -> str:
    """A calendar date (already a Hong Kong one: the app stores dates as they are in Hong
    Kong) as 2026-12-02, which every spreadsheet reads as a date."""
    return "" if value is None else value.isoformat()


def csv_instant(value: datetime | None) -> str:
    """A stored (UTC) instant as Hong Kong time to the second, "2026-12-02 14:05:09": the
    form a spreadsheet reads as a date and time (the header says the zone)."""
    return "" if value is None else f"{to_hk(value):%Y-%m-%d %H:%M:%S}"


def csv_country(code: str | None) -> str:
    """The country of an ISO code in the reader's language; the code itself when it is not
    one (an old row), so the name column is never emptier than the code column."""
    if not code:
        return ""
    try:
        return country_name(code)
    except ValueError:
        return code


def _safe_part(value: object) -> str:
    text = unicodedata.normalize("NFKC", str(value))  # full-width letters and digits fold
    safe = re.sub("_{2,}", "_", _UNSAFE.sub("_", text))
    return safe.strip("_-")[:_PART_CHARS].strip("_-")


def download_name(*parts: str | None, at: datetime | None = None) -> str:
    """A file name that says what was exported and when, from its parts in order (blank
    ones, the filters not in use, are left out) and the Hong Kong minute of the export:
    ``download_name("cases", "all", "QMAS", "q_chan")`` →
    ``cases-all-QMAS-q_chan-2026-12-02T1405.csv``.

    Each part keeps letters, digits, - and _ (anything else, a slash or a dot included,
    becomes _) and at most 40 characters; the name before the time at most 150 bytes."""
    stem = "-".join(p for p in (_safe_part(part) for part in parts if part) if p)
    while len(stem.encode()) > _NAME_BYTES:
        stem = stem[:-1]
    stamp = f"{to_hk(at or utcnow()):%Y-%m-%dT%H%M}"
    return f"{stem.rstrip('_-')}-{stamp}.csv"


def ascii_name(name: str) -> str:
    """``name`` with only ASCII letters, digits, - and _ (and its .csv), for the clients that
    read only ``filename=``: ``q_陳大文`` becomes ``q``."""
    stem, dot, extension = name.rpartition(".")
    kept = "-".join(p for p in (_NOT_ASCII_SAFE.sub("_", part).strip("_")
                                for part in stem.split("-")) if p)
    return f"{re.sub('_+', '_', kept) or 'export'}{dot}{extension}"


def content_disposition(name: str) -> str:
    """An attachment header with both names (RFC 6266): the ASCII one for old clients and
    the UTF-8 one, which every current browser prefers."""
    return f"attachment; filename=\"{ascii_name(name)}\"; filename*=UTF-8''{quote(name, safe='')}"


def csv_response(rows: Iterable[list], filename: str) -> Response:
    """Stream ``rows`` as a CSV attachment in chunks of about 64 kB, so an export of any
    size is sent while the rows are still being read, in constant memory. The first bytes
    are the UTF-8 byte order mark."""

    def generate():
        buffer = io.StringIO()
        buffer.write(BOM)
        writer = csv.writer(buffer)
        for row in rows:
            writer.writerow(row)
            if buffer.tell() > _CHUNK:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers={"Content-Disposition": content_disposition(filename)})
