"""Model checkpoints as directories, published atomically with a sha256 manifest.

Publishing a directory:

1. upload it under ``_staging/<name>/<id>/``;
2. download the staged copy into a fresh directory and run the caller's ``validate`` hook on it
   (reload the model, predict or generate), so what is checked is what was uploaded;
3. upload the validated files to ``artifacts/<name>/<version>/`` and write ``MANIFEST.json``
   (every file's sha256) *last*, then move the ``LATEST`` pointer.

Readers trust only a version whose manifest exists, and re-hash every file on fetch, so a
half-written or corrupted checkpoint is refused rather than loaded. The version is derived from
the manifest, so publishing identical bytes twice yields the same version.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from resources.storage.object_store import LocalObjectStore, ObjectStore, open_store

MANIFEST = "MANIFEST.json"
LATEST = "LATEST"


class CorruptArtifactError(RuntimeError):
    """An artifact whose files do not match its manifest, or that has no manifest."""


@dataclass(frozen=True)
class ArtifactRef:
    name: str
    version: str
    uri: str

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ArtifactRef":
        return cls(name=data["name"], version=data["version"], uri=data["uri"])


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _files_of(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


class ArtifactStore:
    def __init__(self, store: ObjectStore, cache_dir: str | Path | None = None):
        self.store = store
        self._cache = Path(cache_dir or tempfile.gettempdir()).expanduser() / "retention-artifacts"

    @classmethod
    def at(cls, root: str, cache_dir: str | Path | None = None) -> "ArtifactStore":
        return cls(open_store(root), cache_dir)

    # -- writing -------------------------------------------------------------------------

    def publish(
        self,
        name: str,
        local_dir: str | Path,
        validate: Callable[[Path], None] | None = None,
    ) -> ArtifactRef:
        """Stage, validate and publish ``local_dir`` as a new version of ``name``.

        ``validate`` receives a directory downloaded back from the staging area and raises to
        refuse the artifact; a refused artifact leaves no trace and ``LATEST`` keeps pointing at
        the previous good version.
        """
        local_dir = Path(local_dir)
        files = _files_of(local_dir)
        if not files:
            raise ValueError(f"artifact {name!r}: {local_dir} holds no files")
        staging = f"_staging/{name}/{uuid.uuid4().hex}"
        try:
            for path in files:
                self.store.put_file(f"{staging}/{path.relative_to(local_dir).as_posix()}", path)
            with tempfile.TemporaryDirectory(prefix=f"{name}-staged-") as tmp:
                staged = Path(tmp)
                for key in self.store.list(staging):
                    target = staged / key[len(staging) + 1 :]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(self.store.get_bytes(key))
                if validate is not None:
                    validate(staged)
                return self._promote(name, staged)
        finally:
            self.store.delete_prefix(staging)

    def _promote(self, name: str, directory: Path) -> ArtifactRef:
        entries = {
            p.relative_to(directory).as_posix(): {"sha256": sha256_bytes(p.read_bytes()), "bytes": p.stat().st_size}
            for p in _files_of(directory)
        }
        manifest = json.dumps({"name": name, "files": entries}, indent=2, sort_keys=True).encode()
        version = sha256_bytes(manifest)[:16]
        prefix = f"artifacts/{name}/{version}"
        for rel in entries:
            self.store.put_file(f"{prefix}/{rel}", directory / rel)
        self.store.put_bytes(f"{prefix}/{MANIFEST}", manifest)
        self.store.put_bytes(f"artifacts/{name}/{LATEST}", version.encode())
        return ArtifactRef(name=name, version=version, uri=self.store.uri(prefix))

    # -- reading -------------------------------------------------------------------------

    def latest(self, name: str) -> ArtifactRef | None:
        key = f"artifacts/{name}/{LATEST}"
        if not self.store.exists(key):
            return None
        version = self.store.get_bytes(key).decode().strip()
        return ArtifactRef(name=name, version=version, uri=self.store.uri(f"artifacts/{name}/{version}"))

    def fetch(self, ref: ArtifactRef) -> Path:
        """A local directory holding the verified files of ``ref`` and its manifest.

        Raises ``CorruptArtifactError`` naming the file when a file is missing, extra or does
        not match its manifest hash.
        """
        prefix = f"artifacts/{ref.name}/{ref.version}"
        raw, manifest = self._manifest(ref, prefix)
        if isinstance(self.store, LocalObjectStore):
            directory = Path(self.store.uri(prefix))
            self._verify(ref, directory, manifest)
            return directory
        directory = self._cache / ref.name / ref.version
        if directory.is_dir():
            try:
                self._verify(ref, directory, manifest)
                return directory
            except CorruptArtifactError:
                shutil.rmtree(directory)
        tmp = Path(tempfile.mkdtemp(prefix=f".{ref.version}.", dir=self._ensure(directory.parent)))
        try:
            for rel in manifest:
                target = tmp / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    target.write_bytes(self.store.get_bytes(f"{prefix}/{rel}"))
                except FileNotFoundError:
                    raise CorruptArtifactError(f"artifact {ref.uri}: missing file(s) {[rel]}") from None
            (tmp / MANIFEST).write_bytes(raw)
            self._verify(ref, tmp, manifest)
            tmp.rename(directory)
        except OSError:
            if not directory.is_dir():  # else a concurrent fetch put the same verified files there
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return directory

    def _manifest(self, ref: ArtifactRef, prefix: str) -> tuple[bytes, dict[str, dict]]:
        """The manifest's bytes and its ``files`` table."""
        try:
            raw = self.store.get_bytes(f"{prefix}/{MANIFEST}")
        except FileNotFoundError:
            raise CorruptArtifactError(
                f"artifact {ref.uri} has no {MANIFEST}: it was never published, or was cut off"
            ) from None
        try:
            return raw, json.loads(raw)["files"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CorruptArtifactError(f"artifact {ref.uri}: {MANIFEST} is unreadable ({exc})") from None

    @staticmethod
    def _verify(ref: ArtifactRef, directory: Path, manifest: dict[str, dict]) -> None:
        present = {p.relative_to(directory).as_posix() for p in _files_of(directory)} - {MANIFEST}
        missing = sorted(set(manifest) - present)
        if missing:
            raise CorruptArtifactError(f"artifact {ref.uri}: missing file(s) {missing}")
        extra = sorted(present - set(manifest))
        if extra:
            raise CorruptArtifactError(f"artifact {ref.uri}: file(s) {extra} are not in its {MANIFEST}")
        for rel, entry in manifest.items():
            actual = sha256_bytes((directory / rel).read_bytes())
            if actual != entry["sha256"]:
                raise CorruptArtifactError(
                    f"artifact {ref.uri}: {rel} has sha256 {actual[:12]}…, manifest says {entry['sha256'][:12]}…"
                )

    @staticmethod
    def _ensure(path: Path) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        return path
