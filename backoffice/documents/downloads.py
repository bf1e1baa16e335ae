"""Sending a stored file back: always as a download, never rendered by the browser.

An uploaded file is whatever the applicant sent. Shown inline, a PDF or image would be
opened by the browser under this site's origin; as an attachment with ``nosniff`` it is
saved to disk and opened by the reader's own program. Its name is the display name kept on
the row, offered in UTF-8 (RFC 5987/6266) with an ASCII stand-in for old clients.
"""

from __future__ import annotations

import re
import unicodedata
from typing import BinaryIO
from urllib.parse import quote

from flask import Response, request
from werkzeug.wsgi import wrap_file

CHUNK = 64 * 1024
# The ASCII stand-in keeps letters, digits and a few harmless marks; anything else becomes
# "_" (a quote or backslash would end or escape the quoted header value).
_NOT_PLAIN = re.compile(r"[^A-Za-z0-9 ._()+-]+")
_EXTENSION = re.compile(r"[A-Za-z0-9]{1,10}")
# The download itself may not run anything, should a browser open it after all.
SANDBOX = "default-src 'none'; sandbox"


def ascii_filename(name: str) -> str:
    """An ASCII name for clients that do not read ``filename*``: accents dropped
    ("Résumé" → "Resume"), other letters outside ASCII left out, any mark but a few harmless
    ones "_", the extension kept; "document" plus the extension when nothing readable is left
    ("簽證.pdf" → "document.pdf")."""
    stem, dot, extension = name.rpartition(".")
    if not dot or not _EXTENSION.fullmatch(extension):
        stem, extension = name, ""
    plain = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    plain = _NOT_PLAIN.sub("_", plain).strip(" .")
    if not plain.strip("_"):
        plain = "document"
    return f"{plain}.{extension}" if extension else plain


def content_disposition(name: str) -> str:
    """``attachment`` with the name: the ASCII stand-in, and the name itself in UTF-8 when
    the stand-in differs from it."""
    fallback = ascii_filename(name)
    value = f'attachment; filename="{fallback}"'
    if fallback != name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


def attachment(stream: BinaryIO, *, display_name: str, content_type: str,
               size: int) -> Response:
    """A response that sends ``size`` bytes of ``stream`` (a stored file, from
    ``Storage.open``) as a download named ``display_name``. Called in a request: the body is
    read chunk by chunk as it is sent (through the server's file wrapper, sendfile for a
    file on disk) and the stream is closed when the response is.

    Never cached (``private, no-store``: these are applicants' documents), never sniffed
    into another type, never rendered inline.
    """
    body = wrap_file(request.environ, stream, CHUNK)
    response = Response(body, status=200, content_type=content_type, direct_passthrough=True)
    response.content_length = size
    response.headers["Content-Disposition"] = content_disposition(display_name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = SANDBOX
    return response
