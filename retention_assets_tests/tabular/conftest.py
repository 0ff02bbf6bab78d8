"""Fixtures of the tabular tests: the data and both models materialized once from the mirror."""

from __future__ import annotations

import itertools
from pathlib import Path

import dagster as dg
import pytest
import yaml

from retention_assets.data.assets import assets as data_assets
from retention_assets.profiles import build_resources
from retention_assets.settings import load_config
from retention_assets.tabular.assets import assets as tabular_assets
from retention_assets_tests.data.workspace import failure_message

INPUTS = ["telco_customers", "bank_contacts", "customer_splits", "contact_splits"]
MODELS = ["risk_model", "accept_model"]


class TabularWorkspace:
    def __init__(self, root: Path):
        self.root = root
        self.storage = root / "storage"
        self._configs = itertools.count()

    def config_path(self, tabular: dict | None = None) -> Path:
        # A new file per run: ExperimentResource caches configs by path.
        path = self.root / f"experiment-{next(self._configs)}.yaml"
        body = {"name": "test", "data": {"cache_dir": str(self.root / "cache")}, "storage": {"root": str(self.storage)}}
        if tabular:
            body["tabular"] = tabular
        path.write_text(yaml.safe_dump(body))
        return path

    def materialize(self, selection: list[str], tabular: dict | None = None) -> dg.ExecuteInProcessResult:
        path = self.config_path(tabular)
        return dg.materialize(
            [*data_assets, *tabular_assets], selection=selection,
            resources=build_resources(load_config(path), str(path)), raise_on_error=False,
        )  # fmt: skip


@pytest.fixture(scope="package")
def trained(tmp_path_factory, mirror) -> tuple[TabularWorkspace, dg.ExecuteInProcessResult]:
    """Both models trained, gated and published once with the default config (about 15 s)."""
    ws = TabularWorkspace(tmp_path_factory.mktemp("tabular"))
    result = ws.materialize(INPUTS + MODELS)
    assert result.success, failure_message(result)
    return ws, result
