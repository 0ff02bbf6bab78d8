"""Fixtures shared by every test: the offline mirror, a GCS emulator on loopback, temp storage."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest

from retention_assets.data.sources import MIRROR_ENV

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The offline mirror of the public data (``$RETENTION_MIRROR``); the data tests need it."""
    value = os.environ.get(MIRROR_ENV)
    if not value:
        pytest.fail(f"set {MIRROR_ENV} to the offline mirror (e.g. ../shared/data) to run the data tests")
    path = Path(value).expanduser().resolve()
    assert (path / "README.md").is_file(), f"{MIRROR_ENV}={value} is not the mirror"
    return path


@pytest.fixture(scope="session")
def gcs_emulator():
    """A real GCS JSON-API server (gcp-storage-emulator) on a free loopback port.

    Sets ``STORAGE_EMULATOR_HOST`` so google-cloud-storage (and dagster-gcp) talk to it, and
    yields its base URL.
    """
    from gcp_storage_emulator.server import create_server

    port = free_port()
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    host = f"http://127.0.0.1:{port}"
    previous = {k: os.environ.get(k) for k in ("STORAGE_EMULATOR_HOST", "GOOGLE_CLOUD_PROJECT")}
    os.environ["STORAGE_EMULATOR_HOST"] = host
    os.environ["GOOGLE_CLOUD_PROJECT"] = "retention-test"
    try:
        yield host
    finally:
        server.stop()
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def gcs_bucket(gcs_emulator) -> str:
    """A fresh, empty bucket on the emulator; yields its name."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    name = f"test-{uuid.uuid4().hex[:12]}"
    storage.Client(project="retention-test", credentials=AnonymousCredentials()).create_bucket(name)
    return name
