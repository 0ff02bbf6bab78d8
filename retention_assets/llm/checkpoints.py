"""Checkpoint directories: safetensors/PEFT files plus a ``checkpoint.json`` that says what they are.

Loading a checkpoint turns any unreadable or mismatched file into a ``CheckpointError`` naming
the file, and publishing goes through ``ArtifactStore.publish`` with a validate hook that reloads
the staged copy and must reproduce the probe figures the trained model produced in memory.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

from resources.storage.artifacts import ArtifactRef, ArtifactStore

META = "checkpoint.json"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be loaded or does not behave like the model that was saved."""


def write_meta(directory: Path, kind: str, **fields) -> None:
    (directory / META).write_text(json.dumps({"kind": kind, **fields}, indent=2, sort_keys=True))


def read_meta(directory: Path, kind: str) -> dict:
    path = Path(directory) / META
    try:
        meta = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint description ({exc})") from exc
    if meta.get("kind") != kind:
        raise CheckpointError(f"{path}: holds a {meta.get('kind')!r} checkpoint, expected {kind!r}")
    return meta


def guarded_load(directory: Path, load: Callable[[Path], object]):
    """``load(directory)``, with any failure reported as a ``CheckpointError`` naming the directory."""
    try:
        return load(Path(directory))
    except CheckpointError:
        raise
    except Exception as exc:  # safetensors, peft and json each raise their own types
        raise CheckpointError(f"checkpoint {directory} cannot be loaded: {type(exc).__name__}: {exc}") from exc


def check_probe(name: str, expected: dict[str, float], actual: dict[str, float], tolerance: float) -> None:
    """Refuse a reloaded checkpoint whose probe figures differ from the in-memory model's."""
    for key, value in expected.items():
        got = actual[key]
        if not math.isfinite(got) or abs(got - value) > tolerance * max(1.0, abs(value)):
            raise CheckpointError(f"{name}: reloaded checkpoint gives {key}={got:.6g}, the trained model gave {value:.6g}")


def publish(store: ArtifactStore, name: str, directory: Path, validate: Callable[[Path], None]) -> ArtifactRef:
    """Publish ``directory`` as artifact ``name`` once ``validate`` accepted the staged copy."""
    return store.publish(name, directory, validate=lambda staged: guarded_load(staged, validate))
