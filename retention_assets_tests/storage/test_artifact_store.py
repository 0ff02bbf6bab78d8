"""The artifact store on local disk and on the GCS emulator: atomic publish, manifests, verified reads."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from resources.storage.artifacts import MANIFEST, ArtifactRef, ArtifactStore, CorruptArtifactError

NAME = "risk_model"


def _checkpoint(directory: Path, scale: float = 1.0) -> Path:
    """A small model directory as the domains write them: safetensors weights and a JSON config."""
    (directory / "tokenizer").mkdir(parents=True)
    save_file({"weight": np.arange(12, dtype=np.float32).reshape(3, 4) * scale}, str(directory / "model.safetensors"))
    (directory / "config.json").write_text(json.dumps({"layers": 2, "scale": scale}))
    (directory / "tokenizer" / "vocab.json").write_text(json.dumps({"a": 0, "b": 1}))
    return directory


def _reloads(directory: Path) -> None:
    """A validate hook in earnest: reload the weights and check them against the config."""
    scale = json.loads((directory / "config.json").read_text())["scale"]
    weight = load_file(str(directory / "model.safetensors"))["weight"]
    if not np.allclose(weight, np.arange(12).reshape(3, 4) * scale):
        raise ValueError(f"reloaded weights do not match config.json in {directory}")


def _files(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture
def store(root, tmp_path) -> ArtifactStore:
    return ArtifactStore.at(root, cache_dir=tmp_path / "cache")


def test_publish_validates_the_staged_copy_and_fetch_returns_the_same_files(store, raw, root, tmp_path):
    source = _checkpoint(tmp_path / "ckpt")
    seen = []

    def validate(staged: Path) -> None:
        seen.append((staged, _files(staged)))
        _reloads(staged)

    ref = store.publish(NAME, source, validate=validate)
    staged, staged_files = seen[0]
    assert staged != source and staged_files == _files(source), "the hook must see what was uploaded"
    assert ref.uri == f"{root.rstrip('/')}/artifacts/{NAME}/{ref.version}" and store.latest(NAME) == ref
    stored_manifest = raw.read(f"artifacts/{NAME}/{ref.version}/{MANIFEST}")
    assert _files(store.fetch(ref)) == {**_files(source), MANIFEST: stored_manifest}

    manifest = json.loads(stored_manifest)["files"]
    assert {rel: entry["sha256"] for rel, entry in manifest.items()} == {
        rel: hashlib.sha256(data).hexdigest() for rel, data in _files(source).items()
    }
    assert raw.keys() == sorted(
        [f"artifacts/{NAME}/LATEST"] + [f"artifacts/{NAME}/{ref.version}/{rel}" for rel in [*manifest, MANIFEST]]
    )
    assert not any(d.startswith("_staging") for d in raw.directories()), "staging directories left behind"


def test_versions_follow_the_bytes(store, tmp_path):
    first = store.publish(NAME, _checkpoint(tmp_path / "a"), validate=_reloads)
    assert store.publish(NAME, _checkpoint(tmp_path / "b"), validate=_reloads) == first  # same bytes, same version
    second = store.publish(NAME, _checkpoint(tmp_path / "c", scale=2.0), validate=_reloads)
    assert second.version != first.version and store.latest(NAME) == second
    assert json.loads((store.fetch(first) / "config.json").read_text())["scale"] == 1.0
    assert json.loads((store.fetch(second) / "config.json").read_text())["scale"] == 2.0


def test_a_refused_artifact_leaves_no_version_and_latest_unchanged(store, raw, tmp_path):
    good = store.publish(NAME, _checkpoint(tmp_path / "good"), validate=_reloads)
    before = raw.keys()
    bad = _checkpoint(tmp_path / "bad", scale=3.0)
    (bad / "config.json").write_text(json.dumps({"layers": 2, "scale": 1.0}))  # weights no longer match

    with pytest.raises(ValueError, match="reloaded weights do not match config.json"):
        store.publish(NAME, bad, validate=_reloads)
    assert raw.keys() == before, "the refused artifact left objects behind"
    assert not any(d.startswith("_staging") for d in raw.directories())
    assert store.latest(NAME) == good
    assert _files(store.fetch(good))["config.json"] == _files(tmp_path / "good")["config.json"]


def test_an_empty_directory_is_refused(store, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no files"):
        store.publish(NAME, tmp_path / "empty")


def test_a_corrupted_file_is_detected_on_fetch(store, raw, tmp_path):
    ref = store.publish(NAME, _checkpoint(tmp_path / "ckpt"))
    key = f"artifacts/{NAME}/{ref.version}/model.safetensors"
    data = bytearray(raw.read(key))
    data[-1] ^= 0xFF
    raw.write(key, bytes(data))
    with pytest.raises(CorruptArtifactError, match=r"model\.safetensors has sha256 .* manifest says"):
        store.fetch(ref)


def test_a_missing_manifest_is_refused(store, raw, tmp_path):
    ref = store.publish(NAME, _checkpoint(tmp_path / "ckpt"))
    raw.delete(f"artifacts/{NAME}/{ref.version}/{MANIFEST}")
    with pytest.raises(CorruptArtifactError, match=f"has no {MANIFEST}: it was never published, or was cut off"):
        store.fetch(ref)
    never = ArtifactRef(NAME, "0123456789abcdef", ref.uri.rsplit("/", 1)[0] + "/0123456789abcdef")
    with pytest.raises(CorruptArtifactError, match=f"has no {MANIFEST}"):
        store.fetch(never)


def test_a_missing_or_unlisted_file_is_refused(store, raw, root, tmp_path):
    ref = store.publish(NAME, _checkpoint(tmp_path / "ckpt"))
    raw.delete(f"artifacts/{NAME}/{ref.version}/tokenizer/vocab.json")
    with pytest.raises(CorruptArtifactError, match=r"missing file\(s\) \['tokenizer/vocab.json'\]"):
        store.fetch(ref)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob(f"*{ref.version}*"))
    if not root.startswith("gs://"):  # a bucket fetch downloads only the manifest's files
        ref = store.publish(NAME, _checkpoint(tmp_path / "other", scale=2.0))
        raw.write(f"artifacts/{NAME}/{ref.version}/stray.bin", b"not in the manifest")
        with pytest.raises(CorruptArtifactError, match=r"\['stray.bin'\] are not in its MANIFEST.json"):
            store.fetch(ref)


def test_an_unreadable_manifest_is_refused(store, raw, tmp_path):
    ref = store.publish(NAME, _checkpoint(tmp_path / "ckpt"))
    raw.write(f"artifacts/{NAME}/{ref.version}/{MANIFEST}", b'{"files": ')
    with pytest.raises(CorruptArtifactError, match=f"{MANIFEST} is unreadable"):
        store.fetch(ref)


def test_a_corrupted_download_cache_is_fetched_again(gcs_bucket, tmp_path):
    store = ArtifactStore.at(f"gs://{gcs_bucket}/retention", cache_dir=tmp_path / "cache")
    source = _checkpoint(tmp_path / "ckpt")
    ref = store.publish(NAME, source)
    cached = store.fetch(ref)
    assert tmp_path / "cache" in cached.parents
    (cached / "config.json").write_text("tampered")
    assert _files(store.fetch(ref))["config.json"] == _files(source)["config.json"]
