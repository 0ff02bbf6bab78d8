"""LocalCompute: a real step module as a subprocess through Dagster Pipes."""

from __future__ import annotations

import dagster as dg
import pytest

from resources.compute import LocalCompute
from resources.storage.artifacts import ArtifactStore
from retention_assets_tests.compute.conftest import PROBE_MODULE, SLEEPY_MODULE, materialized_metadata, step_asset

TELCO = "telco/WA_Fn-UseC_-Telco-Customer-Churn.csv"


def test_probe_step_runs_locally_and_publishes(mirror, tmp_path):
    root = str(tmp_path / "store")
    asset = step_asset("churn_probe_model", "churn_probe", PROBE_MODULE, {"csv_path": str(mirror / TELCO)}, ("auc_above_floor",))
    result = dg.materialize([asset], resources={"compute": LocalCompute(artifact_root=root)})
    assert result.success
    meta = materialized_metadata(result, "churn_probe_model")
    assert meta["rows"] == 7032  # 7,043 customers less 11 with blank TotalCharges (mirror README)
    assert 0.7 < meta["test_auc"] < 0.95
    assert meta["compute_backend"] == "local"
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == "auc_above_floor" and check.passed
    ref = ArtifactStore.at(root).latest("churn_probe")
    assert meta["artifact"]["uri"] == ref.uri
    assert (ArtifactStore.at(root).fetch(ref) / "model.json").is_file()


def test_failing_step_is_a_dagster_failure(tmp_path):
    asset = step_asset("sleepy", "sleepy", SLEEPY_MODULE, {"sleep_s": 0, "fail": "bad column x"})
    with pytest.raises(dg.Failure, match="python -m retention_assets_tests.compute.sleepy_step"):
        dg.materialize([asset], resources={"compute": LocalCompute(artifact_root=str(tmp_path))})


def test_params_must_be_json(tmp_path):
    asset = step_asset("sleepy", "sleepy", SLEEPY_MODULE, {"sleep_s": object()})
    with pytest.raises(ValueError, match="step 'sleepy': params must be JSON-serializable"):
        dg.materialize([asset], resources={"compute": LocalCompute(artifact_root=str(tmp_path))})
