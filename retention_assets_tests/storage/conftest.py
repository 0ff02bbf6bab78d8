"""Storage roots for the storage tests: a temp directory, and a bucket prefix on the GCS emulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage


@pytest.fixture(params=["local", "gcs"])
def root(request, tmp_path) -> str:
    """A storage root: a local directory, or ``gs://<fresh bucket>/retention`` on the emulator."""
    if request.param == "local":
        return str(tmp_path / "store")
    return f"gs://{request.getfixturevalue('gcs_bucket')}/retention"


class RawStorage:
    """Reads and writes a root behind our own code's back: the files or blobs as they really are."""

    def __init__(self, root: str):
        self.root = root
        if root.startswith("gs://"):
            bucket, _, self.prefix = root.removeprefix("gs://").partition("/")
            client = storage.Client(project="retention-test", credentials=AnonymousCredentials())
            self.bucket = client.bucket(bucket)
        else:
            self.base = Path(root)

    def keys(self) -> list[str]:
        """Every object (every file, hidden temp files included) under the root."""
        if self.root.startswith("gs://"):
            names = (b.name for b in self.bucket.client.list_blobs(self.bucket, prefix=self.prefix + "/"))
            return sorted(n[len(self.prefix) + 1 :] for n in names)
        return sorted(p.relative_to(self.base).as_posix() for p in self.base.rglob("*") if p.is_file())

    def directories(self) -> list[str]:
        """Local directories under the root (a bucket has none)."""
        if self.root.startswith("gs://"):
            return []
        return sorted(p.relative_to(self.base).as_posix() for p in self.base.rglob("*") if p.is_dir())

    def read(self, key: str) -> bytes:
        if self.root.startswith("gs://"):
            return self.bucket.blob(f"{self.prefix}/{key}").download_as_bytes()
        return (self.base / key).read_bytes()

    def write(self, key: str, data: bytes) -> None:
        if self.root.startswith("gs://"):
            self.bucket.blob(f"{self.prefix}/{key}").upload_from_string(data)
        else:
            (self.base / key).write_bytes(data)

    def delete(self, key: str) -> None:
        if self.root.startswith("gs://"):
            self.bucket.blob(f"{self.prefix}/{key}").delete()
        else:
            (self.base / key).unlink()


@pytest.fixture
def raw(root) -> RawStorage:
    return RawStorage(root)
