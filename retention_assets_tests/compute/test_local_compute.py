"""LocalCompute failures (its success path runs beside Vertex in test_vertex_compute.py)."""

from __future__ import annotations

import dagster as dg
import pytest

from resources.compute import LocalCompute
from retention_assets_tests.compute.conftest import SLEEPY_MODULE, step_asset


def test_failing_step_is_a_dagster_failure(tmp_path):
    asset = step_asset("sleepy", "sleepy", SLEEPY_MODULE, {"sleep_s": 0, "fail": "bad column x"})
    with pytest.raises(dg.Failure, match="python -m retention_assets_tests.compute.sleepy_step"):
        dg.materialize([asset], resources={"compute": LocalCompute(artifact_root=str(tmp_path))})


def test_params_must_be_json(tmp_path):
    asset = step_asset("sleepy", "sleepy", SLEEPY_MODULE, {"sleep_s": object()})
    with pytest.raises(ValueError, match="step 'sleepy': params must be JSON-serializable"):
        dg.materialize([asset], resources={"compute": LocalCompute(artifact_root=str(tmp_path))})
