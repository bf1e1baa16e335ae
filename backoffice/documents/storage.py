"""Where uploaded files are kept: one contract, two stores, chosen by configuration.

A file is stored under a key made here (:func:`new_key`), never under a name from the person
who uploaded it; the name they gave is kept on the database row for display only. Every
method refuses a string that is not a key's shape, so no caller can turn a name into a path
(``../x``) or an object name of its choosing.

- :class:`FolderStorage` is the embedded default: a folder under ``instance/`` (outside any
  folder the web server serves), for one machine.
- :class:`S3Storage` is an S3-compatible object store, for production with several web
  servers: each sees every file, whichever server received it.

:func:`storage` gives the app's store, built from its configuration on first use.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from backoffice.extensions import db
from config import ConfigError

if TYPE_CHECKING:
    from flask import Flask

# Two levels of fan-out from the key's own first four digits, so no folder (or listing) ever
# holds more than a few thousand entries: "3f/a2/3fa2…" (32 hex digits, 128 random bits).
_KEY = re.compile(r"(?P<a>[0-9a-f]{2})/(?P<b>[0-9a-f]{2})/(?P=a)(?P=b)[0-9a-f]{28}")
CHUNK = 64 * 1024
SPOOL_IN_MEMORY = 1024 * 1024
_EXTENSION = "documents.storage"


class StoredFileMissing(LookupError):
    """A key names no stored file: its row exists but the file is gone (restored from a
    backup without the files, deleted by hand). A fault to report, not a refusal."""

    def __init__(self, key: str) -> None:
        super().__init__(f"No stored file has the key {key!r}.")
        self.key = key


def new_key() -> str:
    """A fresh random key ("3f/a2/3fa2…", 32 hex digits), unguessable and never derived from
    anything a user sent."""
    digits = secrets.token_hex(16)
    return f"{digits[:2]}/{digits[2:4]}/{digits}"


def is_key(value: object) -> bool:
    """Whether ``value`` has the shape :func:`new_key` makes."""
    return isinstance(value, str) and _KEY.fullmatch(value) is not None


def check_key(value: object) -> str:
    """``value`` if it is a key; ValueError otherwise (names are never paths)."""
    if not is_key(value):
        raise ValueError(f"Not a document storage key: {str(value)[:80]!r}.")
    return value  # type: ignore[return-value]  # is_key checked it is a str


class Storage(Protocol):
    """What every store does. Keys come from :func:`new_key`; anything else is a ValueError.

    A key is written once: the database row that names it is created in the same request,
    after the file is stored, and :meth:`delete` removes a file whose row rolled back.
    """

    def put(self, key: str, stream: BinaryIO, *, size: int, content_type: str) -> None:
        """Store ``size`` bytes read from ``stream`` under ``key``, whole or not at all: a
        reader never sees half a file. A stream that does not hold ``size`` bytes is a
        ValueError and nothing is kept."""

    def open(self, key: str) -> BinaryIO:
        """The stored file, readable from its first byte and read as it is sent (never
        whole into memory); the caller closes it. :class:`StoredFileMissing` if there is no
        file under ``key``."""

    def exists(self, key: str) -> bool:
        """Whether a file is stored under ``key``."""

    def delete(self, key: str) -> None:
        """Remove the file under ``key``, if there is one."""


def _copy(stream: BinaryIO, target: BinaryIO, size: int) -> None:
    """Copy exactly ``size`` bytes; ValueError if the stream holds fewer or more."""
    left = size
    while left > 0:
        chunk = stream.read(min(CHUNK, left))
        if not chunk:
            raise ValueError(f"The stream ended {left} bytes before the {size} announced.")
        target.write(chunk)
        left -= len(chunk)
    if stream.read(1):
        raise ValueError(f"The stream holds more than the {size} bytes announced.")


class FolderStorage:
    """Files in a folder on this machine (the embedded run, a single server).

    Each file is written whole to a temporary file beside its final place and then renamed
    over it (``os.replace`` is atomic on one file system), so a reader sees the whole file or
    none, and a crash leaves at most a ``.tmp-`` file no key can name. Files are readable by
    this account only (0600, folders 0700): they are applicants' passports and bank
    statements.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"FolderStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, stream: BinaryIO, *, size: int, content_type: str) -> None:
        path = self._path(key)
        for folder in (self.root, path.parent.parent, path.parent):
            # mkdir's mode is filtered by the umask; chmod makes it exactly 0700. Folders
            # above the root (instance/ in a fresh checkout) are made as any other.
            if not folder.is_dir():
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                folder.chmod(0o700)
        # mkstemp creates the file 0600, in the same folder so the rename stays on one disk.
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as target:
                _copy(stream, target, size)
                target.flush()
                os.fsync(target.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        # The rename itself survives a power cut only once its folder is on disk.
        folder_handle = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder_handle)
        finally:
            os.close(folder_handle)

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise StoredFileMissing(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3Storage:
    """Objects in a bucket of an S3-compatible store (AWS S3, MinIO, Ceph...), shared by
    every web server and worker.

    ``endpoint_url`` None means AWS itself; given, the store is addressed by path
    (``https://host/bucket/key``), which every S3-compatible server understands. Keys left
    None are found the way boto3 finds them (its environment variables, an instance role).
    The client is made at first use, so a process forked after ``create_app`` has its own.
    """

    def __init__(self, bucket: str, *, endpoint_url: str | None = None,
                 region: str | None = None, access_key_id: str | None = None,
                 secret_access_key: str | None = None) -> None:
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.region = region
        self._credentials = (access_key_id, secret_access_key)
        self._client = None

    def __repr__(self) -> str:
        return f"S3Storage({self.bucket!r}, endpoint_url={self.endpoint_url!r})"

    @property
    def client(self):
        """The boto3 client (thread-safe, so one per store)."""
        if self._client is None:
            access_key_id, secret_access_key = self._credentials
            self._client = boto3.client(
                "s3", endpoint_url=self.endpoint_url, region_name=self.region,
                aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key,
                config=BotoConfig(
                    s3={"addressing_style": "path" if self.endpoint_url else "auto"},
                    # A request to a store that is down fails in seconds, not minutes.
                    connect_timeout=5, read_timeout=60,
                    retries={"max_attempts": 3, "mode": "standard"}))
        return self._client

    @staticmethod
    def _is_missing(error: Exception) -> bool:
        code = getattr(error, "response", {}).get("Error", {}).get("Code")
        return code in {"NoSuchKey", "404", "NotFound"}

    def put(self, key: str, stream: BinaryIO, *, size: int, content_type: str) -> None:
        check_key(key)
        if getattr(stream, "seekable", lambda: False)():
            self._put(key, stream, size, content_type)
            return
        # botocore reads a body twice (its checksum, then the request), so a stream read
        # once front to back is first copied to a temporary file (in memory while small).
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as copy:
            _copy(stream, copy, size)
            copy.seek(0)
            self._put(key, copy, size, content_type)

    def _put(self, key: str, stream: BinaryIO, size: int, content_type: str) -> None:
        # One PUT is whole or nothing on every S3 store: an object appears only complete.
        self.client.put_object(Bucket=self.bucket, Key=key, Body=_Exactly(stream, size),
                               ContentLength=size, ContentType=content_type)

    def open(self, key: str) -> BinaryIO:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as error:
            if self._is_missing(error):
                raise StoredFileMissing(key) from None
            raise
        return answer["Body"]  # botocore's StreamingBody: read from the network as asked

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as error:
            if self._is_missing(error):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=check_key(key))


class _Exactly:
    """A read-only view of ``size`` bytes of a seekable stream, from where it stands, that
    fails instead of sending a short or long object when the stream holds another number of
    bytes (as :func:`_copy`). Seekable, as botocore needs a body to be: it reads the body
    once for its checksum and signature, rewinds it, and rewinds it again to retry."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self._stream = stream
        self._size = size
        self._start = stream.tell()
        self._read = 0

    def read(self, amount: int | None = -1) -> bytes:
        left = self._size - self._read
        want = left if amount is None or amount < 0 else min(amount, left)
        chunk = self._stream.read(want) if want else b""
        self._read += len(chunk)
        if len(chunk) < want:
            raise ValueError(f"The stream ended {self._size - self._read} bytes before the "
                             f"{self._size} announced.")
        if self._read == self._size and self._stream.read(1):
            raise ValueError(f"The stream holds more than the {self._size} bytes announced.")
        return chunk

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._read, os.SEEK_END: self._size}[whence]
        self._read = base + offset
        self._stream.seek(self._start + self._read)
        return self._read

    def tell(self) -> int:
        return self._read


def build_storage(config: dict) -> Storage:
    """The store a configuration asks for (``DOCUMENT_STORAGE``), or ConfigError saying which
    setting is wrong."""
    kind = (config.get("DOCUMENT_STORAGE") or "folder").strip().lower()
    if kind == "folder":
        folder = config.get("DOCUMENT_FOLDER") or Path(config["INSTANCE_DIR"]) / "documents"
        return FolderStorage(Path(folder))
    if kind == "s3":
        bucket = config.get("S3_BUCKET")
        if not bucket:
            raise ConfigError(
                "DOCUMENT_STORAGE is 's3' but S3_BUCKET is not set: set S3_BUCKET to the "
                "bucket that keeps the uploaded documents (and S3_ENDPOINT_URL for a store "
                "other than AWS).")
        return S3Storage(bucket, endpoint_url=config.get("S3_ENDPOINT_URL") or None,
                         region=config.get("S3_REGION") or None,
                         access_key_id=config.get("S3_ACCESS_KEY_ID") or None,
                         secret_access_key=config.get("S3_SECRET_ACCESS_KEY") or None)
    raise ConfigError(
        f"Unknown DOCUMENT_STORAGE {config.get('DOCUMENT_STORAGE')!r}: use 'folder' (files "
        "under the instance folder, or DOCUMENT_FOLDER) or 's3' (an S3-compatible store "
        "named by S3_BUCKET).")


def storage(app: Flask | None = None) -> Storage:
    """The app's store (``current_app`` unless given), built on first use and kept in
    ``app.extensions`` so every request shares its client. A bad configuration raises
    ConfigError here, naming the setting, each time until it is fixed."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    store = app.extensions.get(_EXTENSION)
    if store is None:
        store = app.extensions[_EXTENSION] = build_storage(app.config)
    return store


# --- Files written beside a transaction ----------------------------------------------------------
# A file is stored before the row that names it is committed. Should that transaction roll
# back, the file is deleted again, so that no file outlives the row that would name it.
_WRITTEN = "documents.stored_keys"


def put_in_transaction(key: str, stream: BinaryIO, *, size: int, content_type: str) -> None:
    """Store a file whose row is written in the current database transaction: kept when it
    commits, deleted when it rolls back."""
    store = storage()
    store.put(key, stream, size=size, content_type=content_type)
    db.session.info.setdefault(_WRITTEN, []).append((store, key))


@event.listens_for(Session, "after_commit")
def _kept(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    for store, key in session.info.pop(_WRITTEN, ()):
        try:
            store.delete(key)
        except Exception:  # a store that is down: the file is left, and said
            logging.getLogger(__name__).exception("stored file %s outlived its rollback", key)
