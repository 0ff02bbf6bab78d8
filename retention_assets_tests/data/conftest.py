"""Fixtures of the data tests: a temp data workspace, and the public data materialized once."""

from __future__ import annotations

import dagster as dg
import pytest

from retention_assets_tests.data.workspace import SPLITS, TABLES, DataWorkspace, failure_message


@pytest.fixture
def workspace(tmp_path, mirror) -> DataWorkspace:
    return DataWorkspace(tmp_path)


@pytest.fixture(scope="module")
def public_run(tmp_path_factory, mirror) -> tuple[DataWorkspace, dg.ExecuteInProcessResult]:
    """Every data asset materialized once from the mirror (about 2 s), shared by a module's tests."""
    ws = DataWorkspace(tmp_path_factory.mktemp("public"))
    result = ws.materialize(TABLES + SPLITS)
    assert result.success, failure_message(result)
    return ws, result
