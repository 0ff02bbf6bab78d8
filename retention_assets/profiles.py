"""Resources per profile. ``local``: disk and subprocesses; ``gcp``: a GCS bucket and Vertex AI.

Both profiles are driven by the same experiment config: its ``storage.root`` is a directory or
``gs://bucket/prefix``, and ``compute.backend`` says where heavy steps run.
"""

from __future__ import annotations

from pathlib import Path

from retention_assets.settings import PROJECT_ROOT, ExperimentConfig, ExperimentResource, config_path
from resources.compute import build_compute
from resources.storage.io_managers import ArtifactStoreResource, TableIOManager


def _storage_root(config: ExperimentConfig) -> str:
    root = config.storage.root
    if config.storage.is_gcs:
        return root
    path = Path(root).expanduser()
    return str(path if path.is_absolute() else PROJECT_ROOT / path)


def build_resources(config: ExperimentConfig, path: str | None = None) -> dict:
    """The resources for ``config``, read from ``path`` (default: ``$RETENTION_CONFIG``)."""
    root = _storage_root(config)
    resolved_path = str(config_path(path))
    return {
        "experiment": ExperimentResource(config_path=resolved_path),
        "io_manager": TableIOManager(root=root),
        "artifact_store": ArtifactStoreResource(root=root, cache_dir=config.data.cache_dir),
        "compute": build_compute(config.compute, artifact_root=root, config_path=resolved_path),
    }
