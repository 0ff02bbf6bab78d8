"""Fixtures for the compute tests: the fake Vertex API, an experiment config that points at it,
and assets that run a step through whichever compute resource they are given."""


import os
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml

from resources.compute import ComputeResource, VertexCompute
from retention_assets_tests.conftest import PROJECT_ROOT
from retention_assets_tests.fakes.vertex import FakeVertex

PROBE_MODULE = "resources.compute.churn_probe"
SLEEPY_MODULE = "retention_assets_tests.compute.sleepy_step"


@pytest.fixture(autouse=True)
def short_pipes_grace(monkeypatch):
    """Dagster's readers wait 10 s after a session closes for messages that may still come; a
    job that never started (or was killed) sends none, so the tests wait 1 s instead."""
    import dagster._core.pipes.utils as pipes_utils

    monkeypatch.setattr(pipes_utils, "WAIT_FOR_LOGS_AFTER_EXECUTION_INTERVAL", 1)


@pytest.fixture
def fake_vertex(gcs_emulator, tmp_path):
    """The fake Vertex API; its "containers" see the GCS emulator and this checkout, as the image would."""
    fake = FakeVertex(
        base_env={
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(tmp_path),
            "PYTHONPATH": str(PROJECT_ROOT),
            "STORAGE_EMULATOR_HOST": gcs_emulator,
            "GOOGLE_CLOUD_PROJECT": "retention-test",
        },
        workdir=tmp_path / "vertex",
    )
    endpoint = fake.start()
    fake.endpoint = endpoint
    yield fake
    fake.stop()


def write_config(tmp_path: Path, bucket: str, endpoint: str, **compute) -> Path:
    """An experiment config with the Vertex backend pointed at the fake and the emulator bucket."""
    section = {
        "backend": "vertex",
        "budget_usd": 100.0,
        "retries": {"max_attempts": 2, "backoff_s": 0.0},
        "vertex": {
            "project": "retention-test",
            "region": "us-central1",
            "image_uri": "us-docker.pkg.dev/retention-test/train/retention:test",
            "service_account": "trainer@retention-test.iam.gserviceaccount.com",
            "staging_uri": f"gs://{bucket}/staging",
            "api_endpoint": endpoint,
            "poll_interval_s": 0.2,
        },
        **compute,
    }
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump({"name": "compute-test", "storage": {"root": f"gs://{bucket}/store"}, "compute": section}))
    return path


def vertex_compute(tmp_path: Path, bucket: str, endpoint: str, **compute) -> VertexCompute:
    path = write_config(tmp_path, bucket, endpoint, **compute)
    return VertexCompute(artifact_root=f"gs://{bucket}/store", config_path=str(path))


def step_asset(name: str, step: str, module: str, params: dict, checks: tuple[str, ...] = ()) -> dg.AssetsDefinition:
    """An asset that runs ``module`` through the ``compute`` resource and returns what it reported."""

    @dg.asset(name=name, check_specs=[dg.AssetCheckSpec(c, asset=name) for c in checks])
    def _asset(context: dg.AssetExecutionContext, compute: ComputeResource):
        result = compute.run_step(context, step, module, params)
        metadata = {**result.metadata}
        if result.artifact is not None:
            metadata["artifact"] = dg.MetadataValue.json(result.artifact.to_dict())
        return dg.MaterializeResult(metadata=metadata, check_results=result.check_results)

    return _asset


def materialized_metadata(result: dg.ExecuteInProcessResult, name: str) -> dict:
    [event] = result.asset_materializations_for_node(name)
    return {k: v.value for k, v in event.metadata.items()}
