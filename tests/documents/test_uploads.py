"""Checking an upload: real files made at test time (tests/documents/samples.py), the type
judged from the content alone, PDFs opened and searched for scripts, a body too large refused
before it is read whole, and the name kept only for display.

No database and no app: the sentences are worded in English outside any request.
"""

from __future__ import annotations

import hashlib
import io

import pytest

from backoffice.documents.uploads import (
    CHUNK,
    DISPLAY_NAME_MAX_BYTES,
    FORM_ALLOWANCE,
    Reason,
    UploadRefused,
    check_upload,
    display_name,
    refuse_oversize,
)
from tests.documents import samples
from tests.documents.samples import CountingStream

ALLOWED = ("application/pdf", "image/jpeg", "image/png")
LIMIT = 20 * 1024 * 1024


def check(data: bytes, filename: str | None = "upload.pdf", *, limit: int = LIMIT,
          allowed=ALLOWED):
    return check_upload(io.BytesIO(data), filename, limit=limit, allowed=allowed)


def refusal(data: bytes, filename: str | None = "upload.pdf", **kwargs) -> UploadRefused:
    with pytest.raises(UploadRefused) as info:
        check(data, filename, **kwargs)
    return info.value


# --- What is accepted, and what is said about it -------------------------------------------

@pytest.mark.parametrize(("make", "filename", "content_type", "extension", "shown"), [
    (samples.blank_pdf, "passport.pdf", "application/pdf", "pdf", "passport.pdf"),
    (samples.raw_blank_pdf, "bank statement.PDF", "application/pdf", "pdf",
     "bank statement.PDF"),
    (samples.jpeg, "photo.jpeg", "image/jpeg", "jpg", "photo.jpeg"),
    (samples.png, "scan.png", "image/png", "png", "scan.png"),
    # The content decides, never the name: a JPEG called .png is a JPEG, offered as one.
    (samples.jpeg, "scan.png", "image/jpeg", "jpg", "scan.jpg"),
    (samples.png, "degree.pdf", "image/png", "png", "degree.png"),
    (samples.blank_pdf, None, "application/pdf", "pdf", "document.pdf"),
])
def test_an_allowed_file_is_accepted_with_its_real_type(make, filename, content_type,
                                                        extension, shown):
    data = make()
    with check(data, filename) as upload:
        assert (upload.content_type, upload.extension, upload.display_name) == (
            content_type, extension, shown)
        assert upload.size == len(data)
        assert upload.sha256 == hashlib.sha256(data).hexdigest()
        assert upload.file.read() == data  # positioned at its first byte, unchanged
    assert upload.file.closed  # the with block deleted the temporary copy


def test_a_file_of_several_megabytes_is_copied_exactly():
    data = samples.pdf_of_size(6 * 1024 * 1024 + 5)
    with check(data) as upload:
        assert upload.size == len(data)
        assert upload.sha256 == hashlib.sha256(data).hexdigest()
        assert upload.file.read() == data


# --- Types ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("make", "filename", "says"), [
    (samples.windows_exe, "passport.pdf", "looks like a Windows program (.exe)"),
    (samples.zip_archive, "documents.pdf", "looks like a ZIP archive (.zip)"),
    (samples.gif, "photo.png", "looks like a GIF image (.gif)"),
    (samples.html_page, "photo.png", "could not be recognised from its content"),
    (lambda: b"plain text, no signature at all\n", "notes.pdf",
     "could not be recognised from its content"),
], ids=["exe named .pdf", "zip", "gif", "html named .png", "text"])
def test_a_type_not_allowed_is_refused_saying_what_it_looks_like(make, filename, says):
    refused = refusal(make(), filename)
    assert refused.reason is Reason.TYPE_NOT_ALLOWED
    message = str(refused)
    assert says in message
    assert message.endswith("Upload one of these kinds of file: PDF, JPEG, PNG.")


def test_only_the_types_allowed_are_accepted():
    refused = refusal(samples.jpeg(), "photo.jpg", allowed=("application/pdf",))
    assert refused.reason is Reason.TYPE_NOT_ALLOWED
    assert str(refused) == ("This file looks like a JPEG image (.jpg), which cannot be "
                            "uploaded here. Upload one of these kinds of file: PDF.")


def test_a_type_without_its_own_words_is_named_by_its_extension():
    refused = refusal(b"\x00\x00\x01\x00" + bytes(60), "icon.png")  # a Windows icon
    assert "looks like a .ico file" in str(refused)


def test_an_empty_file_is_refused():
    refused = refusal(b"", "passport.pdf")
    assert refused.reason is Reason.EMPTY
    assert str(refused) == "The file is empty (0 bytes). Choose the file again and upload it."


# --- PDFs ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("make", "reason"), [
    (samples.pdf_with_document_javascript, Reason.PDF_SCRIPTS),
    (samples.pdf_with_open_action_javascript, Reason.PDF_SCRIPTS),
    (samples.pdf_with_page_open_javascript, Reason.PDF_SCRIPTS),
    (samples.pdf_with_link_javascript, Reason.PDF_SCRIPTS),
    (samples.pdf_with_field_javascript, Reason.PDF_SCRIPTS),
    (samples.pdf_with_escaped_javascript_names, Reason.PDF_SCRIPTS),
    (samples.pdf_with_unreachable_javascript, Reason.PDF_SCRIPTS),
    (samples.encrypted_pdf, Reason.PDF_ENCRYPTED),
    (lambda: samples.encrypted_pdf(user_password=""), Reason.PDF_ENCRYPTED),
    (samples.not_a_pdf_inside, Reason.PDF_UNREADABLE),
    (samples.truncated_pdf, Reason.PDF_UNREADABLE),
], ids=["names tree", "open action", "page open", "link", "form field", "escaped names",
        "unreachable object", "password", "owner password only", "not a pdf inside",
        "truncated"])
def test_a_pdf_that_is_unsafe_or_unreadable_is_refused(make, reason):
    assert refusal(make()).reason is reason


@pytest.mark.parametrize(("reason", "sentence"), [
    (Reason.PDF_SCRIPTS, "This PDF contains JavaScript, which could run when it is opened, so "
                         "it cannot be accepted. Upload a copy without scripts (for example, "
                         "printed again to PDF)."),
    (Reason.PDF_ENCRYPTED, "This PDF is protected by a password or encryption, so it cannot "
                           "be checked, and others could not open it. Upload a copy without "
                           "the protection."),
    (Reason.PDF_UNREADABLE, "This PDF could not be read: it may be damaged or incomplete. Save "
                            "it again as a PDF and upload the new copy."),
])
def test_each_pdf_refusal_says_why_and_what_to_do(reason, sentence):
    make = {Reason.PDF_SCRIPTS: samples.pdf_with_open_action_javascript,
            Reason.PDF_ENCRYPTED: samples.encrypted_pdf,
            Reason.PDF_UNREADABLE: samples.not_a_pdf_inside}[reason]
    assert str(refusal(make())) == sentence


# --- Size ----------------------------------------------------------------------------------

SMALL = 100_000


@pytest.mark.parametrize("size", [SMALL + 1, 2 * SMALL, 50 * SMALL])
def test_a_file_over_the_limit_is_refused_before_it_is_read_whole(size):
    stream = CountingStream(samples.pdf_of_size(size))
    with pytest.raises(UploadRefused) as info:
        check_upload(stream, "big.pdf", limit=SMALL, allowed=ALLOWED)
    assert info.value.reason is Reason.TOO_LARGE
    assert stream.bytes_read <= SMALL + CHUNK
    assert stream.bytes_read == SMALL + 1  # one byte past the limit is the proof


def test_a_file_exactly_at_the_limit_is_accepted():
    with check(samples.pdf_of_size(SMALL), limit=SMALL) as upload:
        assert upload.size == SMALL


@pytest.mark.parametrize(("limit", "said"), [
    (20 * 1024 * 1024, "20 MB"),
    (1024 * 1024 * 3 // 2, "1.5 MB"),
    (10 * 1024 * 1024 * 1024, "10,240 MB"),
])
def test_the_size_refusal_gives_the_limit_in_megabytes(limit, said):
    with pytest.raises(UploadRefused) as info:
        refuse_oversize(limit + FORM_ALLOWANCE + 1, limit)
    assert str(info.value) == (
        f"The file is larger than {said}, the most that can be uploaded. Upload a smaller copy "
        "(for example, scanned at a lower resolution).")


@pytest.mark.parametrize(("content_length", "refused"), [
    (None, False),  # a chunked request says nothing; check_upload stops at the limit
    (0, False),
    (SMALL, False),
    (SMALL + FORM_ALLOWANCE, False),  # the form around the file counts too
    (SMALL + FORM_ALLOWANCE + 1, True),
    (10**12, True),
])
def test_a_declared_content_length_too_large_is_refused_before_reading(content_length,
                                                                        refused):
    if refused:
        with pytest.raises(UploadRefused) as info:
            refuse_oversize(content_length, SMALL)
        assert info.value.reason is Reason.TOO_LARGE
    else:
        refuse_oversize(content_length, SMALL)


# --- Names ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("filename", "extension", "shown"), [
    ("passport.pdf", "pdf", "passport.pdf"),
    ("簽證.pdf", "pdf", "簽證.pdf"),
    ("../../etc/passwd.pdf", "pdf", "passwd.pdf"),
    ("C:\\Users\\x\\簽證.pdf", "pdf", "簽證.pdf"),
    ("/home/x/../scan.png", "png", "scan.png"),
    ("Cafe\u0301 receipt.pdf", "pdf", "Caf\u00e9 receipt.pdf"),  # NFC: one é, not e + accent
    ("line\nbreak\r\n.pdf", "pdf", "line break.pdf"),
    ("tab\tand\x00nul.pdf", "pdf", "tab and nul.pdf"),
    ('say "hi".pdf', "pdf", "say hi.pdf"),
    ("O'Brien's passport.pdf", "pdf", "OBriens passport.pdf"),
    # A right-to-left override makes "invoice\u202efdp.exe" read "invoiceexe.pdf".
    ("invoice\u202efdp.exe", "pdf", "invoicefdp.pdf"),
    ("zero\u200bwidth.pdf", "pdf", "zerowidth.pdf"),
    ("scan.jpeg", "jpg", "scan.jpeg"),  # another name for the same type is kept
    ("scan.png", "jpg", "scan.jpg"),  # a name for another type is not
    ("SCAN.PDF", "pdf", "SCAN.PDF"),
    ("Letter v2.1", "pdf", "Letter v2.1.pdf"),  # ".1" is part of the name, not a type
    ("no extension", "png", "no extension.png"),
    ("  spaced   out  .pdf", "pdf", "spaced out.pdf"),
    ("report. .pdf", "pdf", "report.pdf"),
    ("...hidden.pdf", "pdf", "hidden.pdf"),
    (None, "pdf", "document.pdf"),
    ("", "jpg", "document.jpg"),
    (".pdf", "pdf", "document.pdf"),
    ("../", "pdf", "document.pdf"),
    ("\n\"'\u202e", "png", "document.png"),
])
def test_the_display_name_is_the_last_part_of_the_name_cleaned(filename, extension, shown):
    assert display_name(filename, extension) == shown


@pytest.mark.parametrize("filename", ["長" * 300 + ".pdf", "a" * 1000 + ".pdf",
                                      "é" * 150 + "x.pdf"])
def test_a_long_name_is_cut_in_the_name_keeping_the_extension(filename):
    shown = display_name(filename, "pdf")
    assert len(shown.encode()) <= DISPLAY_NAME_MAX_BYTES
    assert shown.endswith(".pdf")
    assert filename.startswith(shown.removesuffix(".pdf"))  # cut whole characters only
    assert len(shown.encode()) > DISPLAY_NAME_MAX_BYTES - 4  # and no shorter than needed


def test_check_upload_names_the_file_for_display_only():
    with check(samples.blank_pdf(), "..\\..\\Windows\\System32\\簽證\n\"copy\".pdf") as upload:
        assert upload.display_name == "簽證 copy.pdf"
