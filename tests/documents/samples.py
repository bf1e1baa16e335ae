"""Real files for the upload and storage tests, made when the tests run.

Each maker returns the bytes of a file as a real program writes it: PDFs by pypdf's writer
(or, for the shapes a writer will not make, by :func:`raw_pdf` from objects written out),
images by Pillow. Nothing here is a fixture file kept in the repository.
"""

from __future__ import annotations

import io
import os

from PIL import Image
from pypdf import PdfWriter
from pypdf.actions import JavaScript, PageTrigger
from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject, TextStringObject

SCRIPT = "app.alert('This PDF runs a script.');"


def _written(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _one_page() -> PdfWriter:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)  # A4 in points
    return writer


def blank_pdf() -> bytes:
    """A one-page PDF, as a scanner's software or a browser's "Save as PDF" would make."""
    return _written(_one_page())


def pdf_with_document_javascript() -> bytes:
    """JavaScript in the catalogue's /Names /JavaScript tree (run when the file opens)."""
    writer = _one_page()
    writer.add_open_action(JavaScript(SCRIPT))  # pypdf 7's name for the old add_js
    return _written(writer)


def pdf_with_open_action_javascript() -> bytes:
    """The catalogue's /OpenAction is a JavaScript action."""
    writer = _one_page()
    writer.root_object[NameObject("/OpenAction")] = _javascript_action()
    return _written(writer)


def pdf_with_page_open_javascript() -> bytes:
    """A page's additional actions (/AA /O) run JavaScript when the page is shown."""
    writer = _one_page()
    writer.pages[0].add_action(PageTrigger.OPEN, JavaScript(SCRIPT))
    return _written(writer)


def pdf_with_link_javascript() -> bytes:
    """A link annotation whose /A action is JavaScript (run when clicked)."""
    writer = _one_page()
    writer.add_annotation(0, DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
        NameObject("/Rect"): _rect(), NameObject("/A"): _javascript_action()}))
    return _written(writer)


def pdf_with_field_javascript() -> bytes:
    """A form field (a text box) whose keystroke action (/AA /K) is JavaScript."""
    writer = _one_page()
    field = writer.add_annotation(0, DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Widget"),
        NameObject("/FT"): NameObject("/Tx"), NameObject("/T"): TextStringObject("name"),
        NameObject("/Rect"): _rect(),
        NameObject("/AA"): DictionaryObject({NameObject("/K"): _javascript_action()})}))
    writer.root_object[NameObject("/AcroForm")] = DictionaryObject(
        {NameObject("/Fields"): ArrayObject([field.indirect_reference])})
    return _written(writer)


def _rect() -> ArrayObject:
    return ArrayObject([FloatObject(v) for v in (72, 72, 272, 100)])


def _javascript_action() -> DictionaryObject:
    return DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                             NameObject("/JS"): TextStringObject(SCRIPT)})


def encrypted_pdf(user_password: str = "secret") -> bytes:  # noqa: S107  (a sample's)
    """Encrypted with AES; ``user_password=""`` opens without asking (an owner password
    only, "no printing"), but is encrypted all the same."""
    writer = _one_page()
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-128")
    return _written(writer)


def raw_pdf(*objects: bytes, trailer: bytes = b"/Root 1 0 R") -> bytes:
    """A PDF written object by object (numbered from 1), with a correct cross-reference
    table: for shapes pypdf's writer will not make (escaped names, unreachable objects)."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, trailer, xref))
    return out.getvalue()


_CATALOGUE = b"<< /Type /Catalog /Pages 2 0 R >>"
_PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
_PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"


def raw_blank_pdf() -> bytes:
    """The same one page as :func:`blank_pdf`, written by hand (so :func:`raw_pdf` itself
    is known to make readable files)."""
    return raw_pdf(_CATALOGUE, _PAGES, _PAGE)


def pdf_with_escaped_javascript_names() -> bytes:
    """/OpenAction with the names spelt in #-escapes (/Java#53cript, /J#53): the same names
    to a viewer, other bytes to a search of the file."""
    return raw_pdf(b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>", _PAGES, _PAGE,
                   b"<< /S /Java#53cript /J#53 (app.alert(1)) >>")


def pdf_with_unreachable_javascript() -> bytes:
    """A JavaScript action that no page or catalogue entry points to, only the
    cross-reference table (left by an incremental update, say)."""
    return raw_pdf(_CATALOGUE, _PAGES, _PAGE, b"<< /S /JavaScript /JS (app.alert(1)) >>")


def not_a_pdf_inside() -> bytes:
    """Starts like a PDF, then nothing a PDF reader can use."""
    return b"%PDF-1.7\n" + b"this is not a PDF body at all\n" * 40


def truncated_pdf() -> bytes:
    """The first third of a real PDF, as an interrupted download leaves it."""
    whole = blank_pdf()
    return whole[: len(whole) // 3]


def jpeg() -> bytes:
    """A small photo-like JPEG, as a phone or scanner saves one."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(out, "JPEG", quality=85)
    return out.getvalue()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (32, 32), (0, 90, 160, 255)).save(out, "PNG")
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (16, 16)).save(out, "GIF")
    return out.getvalue()


def windows_exe() -> bytes:
    """The start of a Windows program: the DOS header ("MZ", e_lfanew at 0x3C), the DOS stub
    and the "PE" signature with an x86-64 machine type."""
    header = bytearray(b"MZ" + b"\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(48))
    header[0x3C:0x40] = (0x80).to_bytes(4, "little")
    stub = b"\x0e\x1f\xba\x0e\x00\xb4\x09\xcd\x21\xb8\x01\x4c\xcd\x21" \
        b"This program cannot be run in DOS mode.\r\r\n$"
    body = bytes(header) + stub
    body += bytes(0x80 - len(body)) + b"PE\x00\x00" + (0x8664).to_bytes(2, "little")
    return body + bytes(512)


def zip_archive() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("passport.pdf", blank_pdf())
    return out.getvalue()


def html_page() -> bytes:
    return (b"<!DOCTYPE html>\n<html><head><title>x</title></head>"
            b"<body><script>alert(document.cookie)</script></body></html>\n")


def random_bytes(size: int) -> bytes:
    """Bytes of every value, in no pattern (so a store that changed one would be seen)."""
    return os.urandom(size)


def pdf_of_size(size: int) -> bytes:
    """A real PDF padded (with a comment after its end, which readers ignore) to ``size``
    bytes: a file just at or over a limit."""
    whole = blank_pdf()
    return whole + b"%" + b"x" * (size - len(whole) - 2) + b"\n"


class CountingStream(io.RawIOBase):
    """A readable stream over ``data`` that counts the bytes handed out, as a request's body
    would be read: the proof of how much of an upload was read."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self._data.read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readinto(self, buffer) -> int:
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)
