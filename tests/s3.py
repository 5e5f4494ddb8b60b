"""A real S3-compatible server for the tests (registered as a plugin by the root conftest.py).

``s3_server`` (session): starts ``moto_server`` (moto[server]) as a subprocess on a free port of
127.0.0.1, once per xdist worker, and waits until it answers. Nothing is mocked inside the app:
django-storages and boto3 talk HTTP to that process as they would to any S3 service.

``s3_storage`` (per test): a fresh bucket with a unique name, and ``STORAGES["default"]`` pointed
at it through ``crm.storage_config.s3_storage`` (the code that reads the production variables).
Django's ``setting_changed`` receiver resets ``storages`` and ``default_storage``, and every
``FileField`` of the project uses ``default_storage`` (resolved at each call), so documents,
import files and their rejected rows all go to the bucket. It yields an ``S3Bucket`` for checks
made directly with boto3.

When moto cannot start, the tests that need it are skipped on a developer machine and fail under
``CI=true``. ``CRM_TEST_MOTO_SERVER`` names another ``moto_server`` executable (default: the one
next to this Python, from ``moto[server]`` in requirements/dev.lock)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crm import storage_config

REGION = "us-east-1"
ACCESS_KEY = "crm-test-key"
SECRET_KEY = "crm-test-secret"  # moto accepts any credentials
START_SECONDS = 30

# Requests to the local server never go through a proxy the environment may name.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(proxies={}, s3={"addressing_style": "path"}),
        )

    def env(self, bucket: str, **extra: str) -> dict[str, str]:
        """The production variables (README, crm/storage_config.py) for ``bucket`` here."""
        return {
            "CRM_S3_BUCKET": bucket,
            "CRM_S3_ENDPOINT_URL": self.endpoint,
            "CRM_S3_REGION": REGION,
            "CRM_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "CRM_S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "CRM_S3_ADDRESSING_STYLE": "path",
            **extra,
        }

    def new_bucket(self) -> S3Bucket:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        bucket = S3Bucket(self, f"crm-{worker}-{uuid.uuid4().hex[:16]}".lower())
        self.client().create_bucket(Bucket=bucket.name)
        return bucket


@dataclass(frozen=True)
class S3Bucket:
    server: S3Server
    name: str

    def object_keys(self) -> list[str]:
        listing = self.server.client().list_objects_v2(Bucket=self.name)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def read(self, key: str) -> bytes:
        body: bytes = self.server.client().get_object(Bucket=self.name, Key=key)["Body"].read()
        return body

    def acl_grants(self, key: str) -> list[dict[str, Any]]:
        grants: list[dict[str, Any]] = self.server.client().get_object_acl(
            Bucket=self.name, Key=key
        )["Grants"]
        return grants

    def empty_and_delete(self) -> None:
        client = self.server.client()
        for key in self.object_keys():
            client.delete_object(Bucket=self.name, Key=key)
        client.delete_bucket(Bucket=self.name)


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    """GET ``url`` as a browser following the redirect would (no proxy, no credentials): the
    status, the headers (names in lower case) and the body."""
    try:
        with DIRECT.open(url, timeout=10) as response:
            return response.status, _lower(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, _lower(error.headers.items()), error.read()


def _lower(items: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in items}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(process: subprocess.Popen[bytes], endpoint: str) -> bool:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False  # exited: the port was taken meanwhile, or moto is broken
        try:
            fetch(endpoint + "/")
        except OSError:
            time.sleep(0.1)
            continue
        return process.poll() is None
    return False


# Starts moto_server so that it ends when the test process dies, even by SIGKILL (Linux: the
# parent-death signal survives the exec); elsewhere it simply execs it.
LAUNCHER = """
import ctypes, os, signal, sys
if sys.platform.startswith("linux"):
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != int(sys.argv[1]):
        sys.exit(1)  # the parent is already gone
os.execv(sys.argv[2], sys.argv[2:])
"""


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _unavailable(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true: the S3 tests must run)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    folder = tmp_path_factory.mktemp("moto")
    server = os.environ.get("CRM_TEST_MOTO_SERVER") or str(
        Path(sys.executable).with_name("moto_server")
    )
    command = [server, "-H", "127.0.0.1"]
    failures: list[str] = []
    if not os.access(server, os.X_OK):
        failures.append(f"moto_server cannot start: no executable {server} (moto[server])")
    started: subprocess.Popen[bytes] | None = None
    endpoint = ""
    for attempt in range(0 if failures else 3):  # a port may be taken before moto binds it
        port = _free_port()
        endpoint = f"http://127.0.0.1:{port}"
        log_path = folder / f"moto-{attempt}.log"
        with log_path.open("wb") as log:
            try:
                process = subprocess.Popen(
                    [sys.executable, "-c", LAUNCHER, str(os.getpid()), *command, "-p", str(port)],
                    cwd=folder,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"},
                )
            except OSError as error:
                failures.append(f"moto_server cannot start: {error}")
                break
        if _answers(process, endpoint):
            started = process
            break
        _stop(process)
        failures.append(
            "moto_server did not answer: " + log_path.read_text(errors="replace")[-800:]
        )
    if started is None:
        _unavailable(" | ".join(failures))
        return
    # The app's boto3 (django-storages) reaches the server directly even if a proxy is set.
    bypass = pytest.MonkeyPatch()
    for name in ("NO_PROXY", "no_proxy"):
        bypass.setenv(name, ",".join(filter(None, [os.environ.get(name), "127.0.0.1"])))
    try:
        yield S3Server(endpoint)
    finally:
        bypass.undo()
        _stop(started)


@pytest.fixture
def s3_storage(s3_server: S3Server, settings: Any) -> Iterator[S3Bucket]:
    bucket = s3_server.new_bucket()
    entry = storage_config.s3_storage(s3_server.env(bucket.name))
    assert entry is not None
    settings.STORAGES = {**settings.STORAGES, "default": entry}
    try:
        yield bucket
    finally:
        bucket.empty_and_delete()
