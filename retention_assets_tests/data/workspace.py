"""A data workspace for the asset tests: a temp experiment config, real resources on temp dirs.

Every materialization goes through ``dagster.materialize`` with the resources the code location
itself builds (``profiles.build_resources``), pointed at a temp storage root and cache, so the
tests exercise the same IO manager, config loading and asset code as ``dagster dev``.
"""

from __future__ import annotations

import hashlib
import io
import itertools
from pathlib import Path

import dagster as dg
import pandas as pd
import yaml

from retention_assets.data.assets import assets as data_assets
from retention_assets.profiles import build_resources
from retention_assets.settings import load_config

TABLES = ["telco_customers", "bank_contacts", "sft_pairs", "preference_pairs"]
SPLITS = ["customer_splits", "contact_splits", "sft_splits", "preference_splits"]


class DataWorkspace:
    """One storage root shared by every run; each run may use its own ``data`` config section."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.storage = root / "storage"
        self._configs = itertools.count()

    def config(self, data: dict | None = None, **top) -> Path:
        # A new file per run: ExperimentResource caches configs by path.
        path = self.root / f"experiment-{next(self._configs)}.yaml"
        section = {"cache_dir": str(self.root / "cache"), **(data or {})}
        path.write_text(yaml.safe_dump({"name": "test", "data": section, "storage": {"root": str(self.storage)}, **top}))
        return path

    def materialize(self, selection: list[str], data: dict | None = None, **top) -> dg.ExecuteInProcessResult:
        path = self.config(data, **top)
        return dg.materialize(
            data_assets,
            selection=selection,
            resources=build_resources(load_config(path), str(path)),
            raise_on_error=False,
        )

    def table_path(self, asset: str) -> Path:
        return self.storage / "tables" / f"{asset}.parquet"

    def table(self, asset: str) -> pd.DataFrame:
        return pd.read_parquet(io.BytesIO(self.table_path(asset).read_bytes()))

    def digest(self, asset: str) -> str:
        return hashlib.sha256(self.table_path(asset).read_bytes()).hexdigest()

    def stored_files(self) -> list[str]:
        """Every file under the storage root, temp files of interrupted writes included."""
        return sorted(p.relative_to(self.storage).as_posix() for p in self.storage.rglob("*") if p.is_file())


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The message of the failed step, with its chain of causes (the user's error is a cause)."""
    failures = result.get_step_failure_events()
    assert failures, "expected a failed step"
    parts, error = [], failures[0].step_failure_data.error
    while error is not None:
        parts.append(error.message)
        error = error.cause
    return "\n".join(parts)


def check_results(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], bool]:
    return {(e.asset_key.to_user_string(), e.check_name): e.passed for e in result.get_asset_check_evaluations()}


def materialization_metadata(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    return {
        e.materialization.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }
