"""Sending a stored file: always a download, its name in UTF-8 with an ASCII stand-in, never
cached or sniffed, and read chunk by chunk as it is sent."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from werkzeug.http import parse_options_header

from backoffice.documents.downloads import CHUNK, ascii_filename, attachment
from tests.conftest import build_app
from tests.documents.samples import random_bytes


class WatchedStream(io.BytesIO):
    """A stored file that remembers the largest single read asked of it."""

    largest_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.largest_read = max(self.largest_read, len(chunk))
        return chunk


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Flask:
    """The real app (its security headers on every response) with one download page of the
    test's own; no database is needed."""
    app = build_app("sqlite://", tmp_path_factory.mktemp("instance"))
    app.config["DOWNLOAD"] = None

    @app.get("/test-download")
    def download():
        stream, name = app.config["DOWNLOAD"]
        return attachment(stream, display_name=name, content_type="application/pdf",
                          size=len(stream.getvalue()))

    return app


def headers_for(app: Flask, name: str, content_type: str = "application/pdf", size: int = 3):
    with app.test_request_context():
        response = attachment(io.BytesIO(b"x" * size), display_name=name,
                              content_type=content_type, size=size)
        response.close()
        return response.headers


@pytest.mark.parametrize(("name", "disposition"), [
    ("passport.pdf", 'attachment; filename="passport.pdf"'),
    ("Bank statement (May).pdf", 'attachment; filename="Bank statement (May).pdf"'),
    ("簽證.pdf",
     "attachment; filename=\"document.pdf\"; filename*=UTF-8''%E7%B0%BD%E8%AD%89.pdf"),
    ("陳大文 passport.pdf",
     "attachment; filename=\"passport.pdf\"; "
     "filename*=UTF-8''%E9%99%B3%E5%A4%A7%E6%96%87%20passport.pdf"),
    ("Résumé.pdf", "attachment; filename=\"Resume.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9.pdf"),
    ('say "hi".pdf',
     "attachment; filename=\"say _hi_.pdf\"; filename*=UTF-8''say%20%22hi%22.pdf"),
    ("back\\slash;semi.pdf",
     "attachment; filename=\"back_slash_semi.pdf\"; filename*=UTF-8''back%5Cslash%3Bsemi.pdf"),
    ("x.pdf\r\nSet-Cookie: stolen=1",
     "attachment; filename=\"x.pdf_Set-Cookie_ stolen_1\"; "
     "filename*=UTF-8''x.pdf%0D%0ASet-Cookie%3A%20stolen%3D1"),
])
def test_the_file_is_always_an_attachment_under_its_name(app, name, disposition):
    headers = headers_for(app, name)
    assert headers["Content-Disposition"] == disposition
    assert "Set-Cookie" not in headers
    value, options = parse_options_header(headers["Content-Disposition"])
    assert value == "attachment"
    assert options["filename"] == name  # a client that reads filename* gets the name itself


@pytest.mark.parametrize(("name", "fallback"), [
    ("passport.pdf", "passport.pdf"),
    ("簽證.pdf", "document.pdf"),
    ("簽證", "document"),
    ("Crème brûlée.jpg", "Creme brulee.jpg"),
    ("..hidden.png", "hidden.png"),
    ("a/b\\c.pdf", "a_b_c.pdf"),
    ("報告.2026 final", "2026 final"),  # ".2026 final" is not an extension
    ("___.pdf", "document.pdf"),
])
def test_the_ascii_stand_in_is_plain_and_keeps_the_extension(name, fallback):
    assert ascii_filename(name) == fallback
    assert fallback.isascii()


@pytest.mark.parametrize("content_type", ["application/pdf", "image/jpeg", "image/png"])
def test_the_download_is_never_cached_sniffed_or_run(app, content_type):
    headers = headers_for(app, "scan", content_type=content_type, size=1234)
    assert headers["Content-Type"] == content_type  # as stored: no charset added
    assert headers["Content-Length"] == "1234"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "private, no-store"
    assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_the_file_is_sent_chunk_by_chunk_and_closed_after(app):
    data = random_bytes(3 * 1024 * 1024 + 7)
    stream = WatchedStream(data)
    app.config["DOWNLOAD"] = (stream, "簽證.pdf")
    response = app.test_client().get("/test-download")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.get_data() == data
    response.close()
    assert 0 < stream.largest_read <= CHUNK  # never read whole
    assert stream.closed
    # The app's own headers do not undo the download's.
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response.headers["X-Frame-Options"] == "DENY"
