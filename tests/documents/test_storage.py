"""The storage contract, run against both stores: a folder, and a real S3-compatible server
(moto, started by the test run). Whatever passes here for one passes for the other, so the
store can be switched by configuration alone."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from backoffice.documents.storage import (
    CHUNK,
    FolderStorage,
    S3Storage,
    StoredFileMissing,
    is_key,
    new_key,
    storage,
)
from config import Config, ConfigError, TestingConfig
from tests.conftest import build_app
from tests.documents.samples import CountingStream, random_bytes

STORES = ["folder", "s3"]
MB = 1024 * 1024


@pytest.fixture(params=STORES)
def make_store(request, tmp_path):
    """Makes store objects on one folder or bucket: each call another one, as each web
    server has its own."""
    if request.param == "folder":
        return lambda: FolderStorage(tmp_path / "documents")
    server = request.getfixturevalue("s3_server")
    return lambda: S3Storage(server.bucket, endpoint_url=server.endpoint_url,
                             region=server.region, access_key_id=server.access_key_id,
                             secret_access_key=server.secret_access_key)


@pytest.fixture
def store(make_store):
    return make_store()


def put(store, data: bytes, key: str | None = None, stream=None) -> str:
    key = key or new_key()
    store.put(key, stream or io.BytesIO(data), size=len(data), content_type="application/pdf")
    return key


def read_back(store, key: str) -> bytes:
    with store.open(key) as opened:
        return b"".join(iter(lambda: opened.read(CHUNK), b""))


# --- Keys ----------------------------------------------------------------------------------

def test_a_new_key_is_random_fanned_out_and_of_its_own_shape():
    keys = {new_key() for _ in range(1000)}
    assert len(keys) == 1000
    for key in keys:
        first, second, digits = key.split("/")
        assert len(digits) == 32 and digits.startswith(first + second)
        assert is_key(key)


@pytest.mark.parametrize("value", [
    "../x", "/etc/passwd", "a b", "", "ab/cd/" + "0" * 32,  # a fan-out that is not its own
    "00/00/" + "0" * 31, "00/00/" + "0" * 33, "00/00/" + "0" * 30 + "G0",
    "00/00/" + "0" * 30 + "A0",  # upper case: a key is lower-case hex only
    "00\\00\\" + "0" * 32, "00/00/" + "0" * 32 + "\n", None, 42,
])
def test_is_key_accepts_only_the_shape_new_key_makes(value):
    assert not is_key(value)


# --- The contract --------------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    b"x",  # one byte
    b"%PDF-1.7 a few bytes\n",
    bytes(range(256)) * 4,  # every byte value, NUL and CR/LF included, unchanged
    random_bytes(5 * MB + 3),  # several MB, more than a chunk, not a multiple of one
], ids=["1 byte", "small", "every byte value", "5 MB"])
def test_what_is_put_is_read_back_exactly(store, data):
    key = put(store, data)
    assert read_back(store, key) == data


def test_a_file_is_read_as_it_is_sent_not_whole(store):
    data = random_bytes(3 * MB)
    key = put(store, data)
    with store.open(key) as opened:
        assert opened.read(10) == data[:10]  # from the first byte
        assert opened.read(CHUNK) == data[10:10 + CHUNK]


def test_a_stream_that_cannot_seek_is_stored_as_it_is_read(store):
    """A body read once, front to back (a request's stream), is stored whole."""
    data = random_bytes(2 * MB + 1)
    stream = CountingStream(data)
    key = put(store, data, stream=stream)
    assert stream.bytes_read == len(data)
    assert read_back(store, key) == data


def test_exists_before_and_after_put_and_delete(store):
    key = new_key()
    assert not store.exists(key)
    put(store, b"evidence")
    put(store, b"evidence", key)
    assert store.exists(key)
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(StoredFileMissing):
        store.open(key)


def test_deleting_what_is_not_there_is_not_an_error(store):
    store.delete(new_key())  # a row rolled back before its file was stored


def test_opening_a_missing_key_says_which(store):
    key = new_key()
    with pytest.raises(StoredFileMissing, match=key) as info:
        store.open(key)
    assert info.value.key == key
    assert isinstance(info.value, LookupError)


@pytest.mark.parametrize("announced", [-1, +1], ids=["stream longer", "stream shorter"])
def test_a_stream_of_another_size_than_announced_is_refused_and_nothing_kept(store, announced):
    data = random_bytes(100_000)
    key = new_key()
    with pytest.raises(ValueError, match="announced"):
        store.put(key, io.BytesIO(data), size=len(data) + announced,
                  content_type="application/pdf")
    assert not store.exists(key)


BAD_KEYS = ["../x", "/etc/passwd", "a b", "", "../../" + "0" * 32, "00/00/../../etc/passwd"]
METHODS = {
    "put": lambda store, key: store.put(key, io.BytesIO(b"x"), size=1, content_type="text/plain"),
    "open": lambda store, key: store.open(key),
    "exists": lambda store, key: store.exists(key),
    "delete": lambda store, key: store.delete(key),
}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("key", BAD_KEYS)
def test_every_method_refuses_what_is_not_a_key(store, method, key):
    with pytest.raises(ValueError, match="Not a document storage key"):
        METHODS[method](store, key)


def test_stores_on_the_same_folder_or_bucket_see_each_others_files(make_store):
    """Several web servers, one store: a file one received, the others serve and delete."""
    first, second = make_store(), make_store()
    key = put(first, b"uploaded through the first server")
    assert second.exists(key)
    assert read_back(second, key) == b"uploaded through the first server"
    second.delete(key)
    assert not first.exists(key)


# --- The folder's own guarantees -----------------------------------------------------------

def test_the_folder_keeps_files_private_and_leaves_no_temporary_file(tmp_path):
    root = tmp_path / "documents"
    store = FolderStorage(root)
    key = put(store, b"passport scan")
    path = root / key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in (root, path.parent.parent, path.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary_one(tmp_path):
    store = FolderStorage(tmp_path)
    key = new_key()
    with pytest.raises(ValueError):
        store.put(key, io.BytesIO(b"short"), size=10, content_type="application/pdf")
    assert not store.exists(key)
    assert list((tmp_path / key).parent.iterdir()) == []


def test_the_folder_writes_nothing_until_a_file_is_put_then_makes_its_folders(tmp_path):
    root = tmp_path / "instance" / "documents"  # as in a fresh checkout: no instance/ yet
    store = FolderStorage(root)
    assert not (tmp_path / "instance").exists()
    key = put(store, b"first upload")
    assert read_back(store, key) == b"first upload"


# --- Choosing the store by configuration ---------------------------------------------------

def app_with(tmp_path: Path, **settings):
    return build_app("sqlite://", tmp_path, **settings)


def test_the_embedded_default_is_a_folder_in_the_instance_folder(tmp_path):
    app = app_with(tmp_path)
    with app.app_context():
        chosen = storage()
    assert isinstance(chosen, FolderStorage)
    assert chosen.root == tmp_path / "documents"


def test_the_defaults_and_the_tests_own_folder():
    assert int(os.environ.get("UPLOAD_MAX_BYTES", 20 * MB)) == Config.UPLOAD_MAX_BYTES
    assert Config.UPLOAD_TYPES == ("application/pdf", "image/jpeg", "image/png")
    # Each test app's documents go to its own instance folder, never a shared one.
    assert TestingConfig.DOCUMENT_STORAGE == "folder"
    assert TestingConfig.DOCUMENT_FOLDER is None


def test_document_folder_chooses_another_folder(tmp_path):
    app = app_with(tmp_path, DOCUMENT_FOLDER=tmp_path / "elsewhere")
    assert storage(app).root == tmp_path / "elsewhere"


def test_the_store_is_built_once_per_app(tmp_path):
    app = app_with(tmp_path)
    assert storage(app) is storage(app)
    assert storage(app_with(tmp_path)) is not storage(app)


def test_s3_settings_choose_the_bucket(tmp_path, s3_server):
    app = app_with(tmp_path, **s3_server.settings())
    with app.app_context():
        chosen = storage()
        assert isinstance(chosen, S3Storage)
        key = put(chosen, b"through the configured store")
    listed = s3_server.client().list_objects_v2(Bucket=s3_server.bucket, Prefix=key)
    assert [entry["Key"] for entry in listed["Contents"]] == [key]


@pytest.mark.parametrize(("settings", "names"), [
    ({"DOCUMENT_STORAGE": "ftp"}, ["DOCUMENT_STORAGE", "'ftp'", "'folder'", "'s3'"]),
    ({"DOCUMENT_STORAGE": "s3"}, ["S3_BUCKET"]),
    ({"DOCUMENT_STORAGE": "s3", "S3_BUCKET": ""}, ["S3_BUCKET"]),
])
def test_a_bad_configuration_fails_at_first_use_naming_the_setting(tmp_path, settings, names):
    app = app_with(tmp_path, **settings)  # the app starts: nothing is built before it is used
    for _ in range(2):  # and it keeps failing until the setting is fixed
        with pytest.raises(ConfigError) as info:
            storage(app)
        for name in names:
            assert name in str(info.value)
