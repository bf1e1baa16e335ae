"""Checking an upload before anything is stored.

:func:`check_upload` reads the body once, in chunks, into a temporary file (in memory while
small, on disk beyond), counting and hashing as it goes, and stops as soon as the file is
larger than the limit. Then it decides what the file is from its content (``filetype``),
never from its name or from the content type the browser sent, and refuses types that are
not allowed. A PDF is opened with pypdf and refused when it is encrypted, carries JavaScript
anywhere, or cannot be read at all.

Every refusal is an :class:`UploadRefused` carrying a whole sentence for the person who
uploaded, in their language when shown.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import BinaryIO

import filetype
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from backoffice.cases.words import LazyList, LazyNumber
from backoffice.core.i18n import lazy_gettext
from backoffice.core.refusals import Refusal

CHUNK = 64 * 1024
# Kept in memory up to this size, then in a file on disk (SpooledTemporaryFile).
IN_MEMORY = 1024 * 1024
# filetype reads at most this much of a file's beginning to recognise it.
HEAD = 8192
MEBIBYTE = 1024 * 1024
# A request's Content-Length counts the form around the file (field names, boundaries, the
# CSRF token): this much more than the file's limit is still a request worth reading.
FORM_ALLOWANCE = 64 * 1024
# A display name's length in UTF-8 bytes: within every file system's 255 and a
# String(200) column, with room for the " (1)" a browser adds to a second download.
DISPLAY_NAME_MAX_BYTES = 200
FALLBACK_STEM = "document"


class Reason(StrEnum):
    """Why an upload was refused (for logs and tests; people read the sentence)."""

    TOO_LARGE = "too_large"
    EMPTY = "empty"
    TYPE_NOT_ALLOWED = "type_not_allowed"
    PDF_ENCRYPTED = "pdf_encrypted"
    PDF_SCRIPTS = "pdf_scripts"
    PDF_UNREADABLE = "pdf_unreadable"


class UploadRefused(Refusal):
    """An upload that will not be stored; ``str()`` is the sentence saying why."""

    def __init__(self, reason: Reason, message: object) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class CheckedUpload:
    """An upload that passed every check. ``file`` is a temporary file positioned at its
    first byte, deleted when closed: use the object in a ``with`` block, or close it.

    ``content_type`` and ``extension`` are what the content is ("application/pdf", "pdf"),
    ``display_name`` what to show and offer on download (never a path)."""

    file: BinaryIO
    size: int
    sha256: str
    content_type: str
    extension: str
    display_name: str

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> CheckedUpload:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


# How a type is named in "Upload one of these kinds of file: PDF, JPEG, PNG".
_TYPE_NAMES = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}

# What a refused file looks like, for the kinds people upload by mistake.
_KINDS = {
    "application/pdf": lazy_gettext("a PDF document (.pdf)"),
    "image/jpeg": lazy_gettext("a JPEG image (.jpg)"),
    "image/png": lazy_gettext("a PNG image (.png)"),
    "image/gif": lazy_gettext("a GIF image (.gif)"),
    "image/webp": lazy_gettext("a WebP image (.webp)"),
    "image/heic": lazy_gettext("an iPhone photo in HEIC format (.heic)"),
    "image/tiff": lazy_gettext("a TIFF image (.tif)"),
    "image/bmp": lazy_gettext("a bitmap image (.bmp)"),
    "application/x-msdownload": lazy_gettext("a Windows program (.exe)"),
    "application/x-executable": lazy_gettext("a program (an executable file)"),
    "application/zip": lazy_gettext("a ZIP archive (.zip)"),
    "application/x-rar-compressed": lazy_gettext("a RAR archive (.rar)"),
    "application/x-7z-compressed": lazy_gettext("a 7-Zip archive (.7z)"),
    "application/gzip": lazy_gettext("a compressed file (.gz)"),
    "application/msword": lazy_gettext("a Word document (.doc)"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
        lazy_gettext("a Word document (.docx)"),
    "application/vnd.ms-excel": lazy_gettext("an Excel workbook (.xls)"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
        lazy_gettext("an Excel workbook (.xlsx)"),
    "application/rtf": lazy_gettext("a Rich Text document (.rtf)"),
    "video/mp4": lazy_gettext("a video (.mp4)"),
    "video/quicktime": lazy_gettext("a video (.mov)"),
    "audio/mpeg": lazy_gettext("an audio recording (.mp3)"),
}

# Names a person may give a file of a type, beside filetype's own extension for it.
_SAME_TYPE = {"jpg": {"jpg", "jpeg", "jpe", "jfif"}, "tif": {"tif", "tiff"}}
# Suffixes that name a file type: replaced by the real one rather than kept as part of the
# name ("scan.png" that is a JPEG is offered as "scan.jpg"; "Letter v2.1" keeps its ".1").
_TYPE_SUFFIXES = {kind.extension for kind in filetype.types} | {
    "jpeg", "jpe", "jfif", "tiff", "htm", "html", "txt", "exe", "com", "bat", "cmd", "js",
    "svg", "xml", "heif"}
_QUOTES = {'"', "'"}


def allowed_types_words(allowed: Collection[str]) -> LazyList:
    """The allowed types as people know them ("PDF, JPEG, PNG"), joined the reader's way."""
    names = []
    for mime in allowed:
        kind = filetype.get_type(mime=mime)
        names.append(_TYPE_NAMES.get(mime) or (kind.extension.upper() if kind else mime))
    return LazyList(names)


def _megabytes(limit: int) -> LazyNumber:
    """The limit in MB (of 1,048,576 bytes), whole when it is whole, else to one decimal."""
    value = (Decimal(limit) / MEBIBYTE).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return LazyNumber(value.to_integral_value() if value == value.to_integral_value()
                      else value)


def too_large(limit: int) -> UploadRefused:
    return UploadRefused(Reason.TOO_LARGE, lazy_gettext(
        "The file is larger than %(limit)s MB, the most that can be uploaded. Upload a smaller "
        "copy (for example, scanned at a lower resolution).", limit=_megabytes(limit)))


def refuse_oversize(content_length: int | None, limit: int) -> None:
    """Refuse a request whose declared ``Content-Length`` (the file and the form around it)
    is too large for a file of at most ``limit`` bytes, before its body is read. A request
    without one is read, and :func:`check_upload` stops at the limit."""
    if content_length is not None and content_length > limit + FORM_ALLOWANCE:
        raise too_large(limit)


def _read_limited(stream: BinaryIO, limit: int) -> tuple[BinaryIO, int, str, bytes]:
    """Copy at most ``limit + 1`` bytes of ``stream`` into a temporary file; return it (at
    its start), the size, the SHA-256 and the first bytes. Refuses as soon as the copy
    passes the limit, without reading the rest."""
    spool = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY)  # noqa: SIM115  (returned open)
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        while True:
            # Never ask for more than one byte past the limit: that byte proves "too large".
            chunk = stream.read(min(CHUNK, limit + 1 - size))
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            if len(head) < HEAD:
                head += chunk[:HEAD - len(head)]
            digest.update(chunk)
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, size, digest.hexdigest(), head


def _not_allowed(head: bytes, allowed: Collection[str]) -> UploadRefused:
    kind = filetype.guess(head)
    words = allowed_types_words(allowed)
    if kind is None:
        message = lazy_gettext(
            "What kind of file this is could not be recognised from its content, so it cannot "
            "be uploaded. Upload one of these kinds of file: %(allowed)s.", allowed=words)
    elif kind.mime in _KINDS:
        message = lazy_gettext(
            "This file looks like %(kind)s, which cannot be uploaded here. Upload one of these "
            "kinds of file: %(allowed)s.", kind=_KINDS[kind.mime], allowed=words)
    else:
        message = lazy_gettext(
            "This file looks like a .%(extension)s file, which cannot be uploaded here. Upload "
            "one of these kinds of file: %(allowed)s.", extension=kind.extension, allowed=words)
    return UploadRefused(Reason.TYPE_NOT_ALLOWED, message)


def check_upload(stream: BinaryIO, filename: str | None, *, limit: int,
                 allowed: Collection[str]) -> CheckedUpload:
    """Read and check an upload; the checked copy, or :class:`UploadRefused`.

    ``stream`` is read once, at most ``limit + 1`` bytes of it. ``filename`` is only the
    name to display (:func:`display_name`); ``allowed`` are MIME types (``UPLOAD_TYPES``),
    matched against what the content is. The caller closes the returned upload.
    """
    spool, size, sha256, head = _read_limited(stream, limit)
    try:
        if size == 0:
            raise UploadRefused(Reason.EMPTY, lazy_gettext(
                "The file is empty (0 bytes). Choose the file again and upload it."))
        kind = filetype.guess(head)
        if kind is None or kind.mime not in allowed:
            raise _not_allowed(head, allowed)
        if kind.mime == "application/pdf":
            _check_pdf(spool)
            spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return CheckedUpload(file=spool, size=size, sha256=sha256, content_type=kind.mime,
                         extension=kind.extension, display_name=display_name(filename,
                                                                             kind.extension))


# --- PDFs ----------------------------------------------------------------------------------

def _check_pdf(file: BinaryIO) -> None:
    """Refuse an encrypted PDF, one with JavaScript, and one pypdf cannot read."""
    try:
        reader = PdfReader(file, strict=False)
        encrypted = reader.is_encrypted
        # Nothing of an encrypted file can be checked without its password.
        scripted = not encrypted and _has_javascript(reader)
        pages = 0 if encrypted else len(reader.pages)
    except Exception:  # a parser fed hostile bytes fails in many ways; each means unreadable
        pages, encrypted, scripted = -1, False, False
    if encrypted:
        raise UploadRefused(Reason.PDF_ENCRYPTED, lazy_gettext(
            "This PDF is protected by a password or encryption, so it cannot be checked, and "
            "others could not open it. Upload a copy without the protection."))
    if scripted:
        raise UploadRefused(Reason.PDF_SCRIPTS, lazy_gettext(
            "This PDF contains JavaScript, which could run when it is opened, so it cannot be "
            "accepted. Upload a copy without scripts (for example, printed again to PDF)."))
    if pages < 1:
        raise UploadRefused(Reason.PDF_UNREADABLE, lazy_gettext(
            "This PDF could not be read: it may be damaged or incomplete. Save it again as a "
            "PDF and upload the new copy."))


def _has_javascript(reader: PdfReader) -> bool:
    """Whether any object of the PDF is or names JavaScript.

    Scripts hide in many places: the catalogue's /Names /JavaScript tree, its /OpenAction,
    the /AA (additional actions) of the document, pages, annotations and form fields, the
    /A action of a link, the /Next of another action. Rather than trust a list of places,
    this walks every object reachable from the trailer and every object the cross-reference
    tables list (reachable or not: an incremental update can make a viewer read another
    object than pypdf does), and looks in every dictionary for a /JS entry, a /JavaScript
    entry (the name tree) or the name /JavaScript (an action's /S). pypdf decodes escaped
    names (/Java#53cript), so spelling does not hide one.
    """
    pending: list = [reader.trailer]
    for generation, numbers in reader.xref.items():
        pending += [IndirectObject(number, generation, reader) for number in numbers]
    pending += [IndirectObject(number, 0, reader) for number in reader.xref_objStm]
    seen: set[tuple[int, int]] = set()
    while pending:
        node = pending.pop()
        if isinstance(node, IndirectObject):
            if (node.idnum, node.generation) in seen:
                continue
            seen.add((node.idnum, node.generation))
            node = node.get_object()
        if isinstance(node, DictionaryObject):  # stream objects too (their dictionary)
            if "/JS" in node or "/JavaScript" in node:
                return True
            # dict.values: the stored values, references unresolved (resolved, a cycle of
            # objects would be walked for ever).
            pending += dict.values(node)
        elif isinstance(node, ArrayObject):
            pending += list(list.__iter__(node))  # unresolved, as above
        elif isinstance(node, NameObject) and node == "/JavaScript":
            return True
    return False


# --- Names ---------------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def display_name(filename: str | None, extension: str) -> str:
    """The name to show and offer on download for an upload named ``filename`` whose content
    is of type ``extension`` ("pdf"). Never used as a path.

    The last part of a path-like name (``/`` or ``\\``), in NFC; control, format (bidi
    overrides that make "fdp.exe" read "exe.pdf") and line-separator characters and quotes
    removed, spaces collapsed; ending in the content's extension (one the person wrote is
    kept when it means the same type, "scan.jpeg"); at most 200 bytes of UTF-8, cut in the
    name, never in the extension; "document.pdf" when nothing is left.
    """
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(" " if unicodedata.category(c) in {"Cc", "Zl", "Zp"}
                   else "" if unicodedata.category(c) in {"Cf", "Cs"} or c in _QUOTES
                   else c for c in name)
    name = _SPACES.sub(" ", name).strip()
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    if suffix.lower() in _SAME_TYPE.get(extension, {extension}):
        extension = suffix
    elif suffix.lower() not in _TYPE_SUFFIXES:
        stem = name  # "Letter v2.1": the dot is part of the name
    stem = stem.strip(" .")
    room = DISPLAY_NAME_MAX_BYTES - len(extension.encode()) - 1
    # Cut in bytes; a character the cut splits is dropped whole.
    stem = stem.encode()[:room].decode(errors="ignore").rstrip(" .") or FALLBACK_STEM
    return f"{stem}.{extension}"
