"""A minimal blob store over a local directory or a GCS bucket prefix.

Both the table IO manager and the artifact store are written against this interface, so the
local and the ``gs://`` paths share every line of logic above it. The GCS client honours
``STORAGE_EMULATOR_HOST``, which is how the tests point it at a GCS emulator on loopback.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path


class ObjectStore(ABC):
    """Keys are ``/``-separated paths relative to the store's root."""

    root: str

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None:
        """Write one object atomically: readers see the old bytes or the new, never a mix."""

    @abstractmethod
    def get_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def list(self, prefix: str) -> list[str]:
        """Every key under ``prefix`` (recursively), sorted."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove one object; a missing object is not an error."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> None: ...

    def uri(self, key: str) -> str:
        return f"{self.root.rstrip('/')}/{key}"

    def put_file(self, key: str, path: Path) -> None:
        self.put_bytes(key, Path(path).read_bytes())


class LocalObjectStore(ObjectStore):
    def __init__(self, root: str | os.PathLike):
        self._base = Path(root).expanduser().resolve()
        self.root = str(self._base)

    def _path(self, key: str) -> Path:
        path = (self._base / key).resolve()
        if self._base not in path.parents and path != self._base:
            raise ValueError(f"key {key!r} escapes the store root {self.root}")
        return path

    def put_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(f"{self.uri(key)} does not exist")
        return path.read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix) if prefix else self._base
        if not base.is_dir():
            return []
        return sorted(
            p.relative_to(self._base).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.endswith(".tmp")
        )

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        for key in reversed(self.list(prefix)):
            self.delete(key)
        # Directories are implicit, as in a bucket: remove the ones the deletion emptied.
        base = self._path(prefix) if prefix else self._base
        if not base.is_dir():
            return
        # A concurrent writer may refill a directory between the check and rmdir: then keep it.
        for directory in sorted((p for p in base.rglob("*") if p.is_dir()), reverse=True):  # deepest first
            with contextlib.suppress(OSError):
                directory.rmdir()
        while base != self._base:
            try:
                base.rmdir()
            except OSError:
                break
            base = base.parent


class GCSObjectStore(ObjectStore):
    def __init__(self, uri: str, client=None):
        bucket, _, prefix = uri.removeprefix("gs://").partition("/")
        if not bucket:
            raise ValueError(f"not a gs:// URI with a bucket: {uri!r}")
        from google.cloud import storage

        self._client = client or storage.Client()
        self._bucket = self._client.bucket(bucket)
        self._prefix = prefix.strip("/")
        self.root = f"gs://{bucket}/{self._prefix}".rstrip("/")

    def _name(self, key: str) -> str:
        return f"{self._prefix}/{key}" if self._prefix else key

    def put_bytes(self, key: str, data: bytes) -> None:
        # A GCS object upload is atomic: the object appears whole or not at all.
        self._bucket.blob(self._name(key)).upload_from_string(data)

    def get_bytes(self, key: str) -> bytes:
        from google.api_core.exceptions import NotFound

        try:
            return self._bucket.blob(self._name(key)).download_as_bytes()
        except NotFound:
            raise FileNotFoundError(f"{self.uri(key)} does not exist") from None

    def exists(self, key: str) -> bool:
        return self._bucket.blob(self._name(key)).exists()

    def list(self, prefix: str) -> list[str]:
        # "a/b" lists a/b/..., not a/bc/...: keys under the prefix as under a directory.
        full = self._name(prefix.rstrip("/") + "/") if prefix else self._name("")
        strip = len(self._prefix) + 1 if self._prefix else 0
        return sorted(blob.name[strip:] for blob in self._client.list_blobs(self._bucket, prefix=full))

    def delete(self, key: str) -> None:
        from google.api_core.exceptions import NotFound

        try:
            self._bucket.blob(self._name(key)).delete()
        except NotFound:
            pass

    def delete_prefix(self, prefix: str) -> None:
        for key in self.list(prefix):
            self.delete(key)


def open_store(root: str) -> ObjectStore:
    """A store for ``gs://bucket/prefix`` or a local directory."""
    return GCSObjectStore(root) if root.startswith("gs://") else LocalObjectStore(root)


def read_uri(uri: str) -> bytes:
    """The bytes of one file named by a local path or a ``gs://`` URI."""
    if uri.startswith("gs://"):
        bucket, _, name = uri.removeprefix("gs://").partition("/")
        parent, _, leaf = name.rpartition("/")
        return GCSObjectStore(f"gs://{bucket}/{parent}").get_bytes(leaf)
    path = Path(uri).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{uri} does not exist")
    return path.read_bytes()
