"""A real S3-compatible server for the storage tests: moto in server mode, started once per
test run as its own process on 127.0.0.1, never a mock inside the test process.

In CI (``CI=true``) a server that cannot start fails the tests that need it; locally they
skip, loudly (``service_missing``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import service_missing

START_TIMEOUT = 30  # seconds: moto imports every AWS service's models at start
REGION = "ap-east-1"  # Hong Kong: a bucket outside us-east-1 needs its location said
_LISTENING = re.compile(rb"Running on http://127\.0\.0\.1:(\d+)")


@dataclass(frozen=True)
class S3Server:
    """Where the server listens and the bucket made for this run."""

    endpoint_url: str
    bucket: str
    region: str = REGION
    access_key_id: str = "testing"
    secret_access_key: str = "testing"  # moto takes any keys

    def settings(self) -> dict:
        """The app settings that choose this bucket."""
        return {"DOCUMENT_STORAGE": "s3", "S3_BUCKET": self.bucket,
                "S3_ENDPOINT_URL": self.endpoint_url, "S3_REGION": self.region,
                "S3_ACCESS_KEY_ID": self.access_key_id,
                "S3_SECRET_ACCESS_KEY": self.secret_access_key}

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name=self.region,
                            aws_access_key_id=self.access_key_id,
                            aws_secret_access_key=self.secret_access_key)


def _start(log: Path) -> tuple[subprocess.Popen, int]:
    """Start moto on a port the system chooses (port 0) and read which from its log: no
    port is picked in advance that another process could take first."""
    environment = os.environ | {"PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=environment)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        found = _LISTENING.search(log.read_bytes())
        if found:
            return process, int(found.group(1))
        if process.poll() is not None:
            break
        time.sleep(0.05)  # waiting for the server to say it listens; no test's timing
    exited = process.poll() is not None
    _stop(process)
    output = log.read_bytes().decode(errors="replace").strip()[-2000:]
    raise RuntimeError((f"moto exited with code {process.returncode}" if exited else
                        f"moto did not listen within {START_TIMEOUT} s") + f": {output}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> Iterator[S3Server]:
    """moto's S3 on 127.0.0.1, answering, with an empty bucket; stopped after the run."""
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    try:
        process, port = _start(log)
    except (OSError, RuntimeError) as exc:
        service_missing("The moto S3 server", exc)
    try:
        server = S3Server(endpoint_url=f"http://127.0.0.1:{port}",
                          bucket=f"documents-{uuid.uuid4().hex[:12]}")
        try:
            # The first answer proves it serves requests, not only that it printed a line.
            server.client().create_bucket(
                Bucket=server.bucket,
                CreateBucketConfiguration={"LocationConstraint": server.region})
        except Exception as exc:
            service_missing("The moto S3 server", exc)
        yield server
    finally:
        _stop(process)
