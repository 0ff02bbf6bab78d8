"""The Dagster UI end to end: ``dagster dev`` on loopback, a data_job run launched over GraphQL,
and the lineage of telco_customers read back from /graphql."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import requests
import yaml
from dagster import DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient

from retention_assets_tests.conftest import PROJECT_ROOT, free_port

# Upper bounds on a loaded 2-core machine; an unloaded start takes about 20 s and the run about 15 s.
STARTUP_S = 90
RUN_S = 90

# dagster-graphql's client calls gql in a way gql deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Using variable_values and operation_name:DeprecationWarning")

LOCATIONS = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""

LINEAGE = """
query Lineage($path: [String!]!) {
  assetNodeOrError(assetKey: {path: $path}) {
    __typename
    ... on AssetNode { groupName dependencyKeys { path } dependedByKeys { path } }
  }
  assetOrError(assetKey: {path: $path}) {
    ... on Asset { assetMaterializations(limit: 1) {
      runId metadataEntries { label ... on IntMetadataEntry { intValue } } } }
  }
}
"""


def _graphql(url: str, query: str, variables: dict | None = None) -> dict:
    response = requests.post(f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30)
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def _wait_until_loaded(url: str, server: subprocess.Popen, deadline: float) -> None:
    """Until /server_info answers and the code location has loaded (or failed to)."""
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"dagster dev exited with {server.returncode}")
        try:
            if requests.get(f"{url}/server_info", timeout=2).ok:
                entries = _graphql(url, LOCATIONS)["workspaceOrError"]["locationEntries"]
                if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                    loaded = [e["locationOrLoadError"] for e in entries]
                    errors = [e for e in loaded if e["__typename"] != "RepositoryLocation"]
                    assert not errors, f"the code location failed to load: {errors}"
                    return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    pytest.fail(f"dagster dev did not load the code location within {STARTUP_S} s")


@pytest.fixture
def dagster_dev(tmp_path, mirror):
    """``dagster dev`` in a new session with a temp DAGSTER_HOME and experiment config."""
    home, storage = tmp_path / "dagster_home", tmp_path / "storage"
    home.mkdir()
    config = tmp_path / "experiment.yaml"
    experiment = {"name": "ui-test", "data": {"cache_dir": str(tmp_path / "cache")}, "storage": {"root": str(storage)}}
    config.write_text(yaml.safe_dump(experiment))
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "RETENTION_CONFIG": str(config), "RETENTION_MIRROR": str(mirror)}
    log = open(tmp_path / "dagster_dev.log", "wb")
    dagster = Path(sys.executable).with_name("dagster")
    server = subprocess.Popen(
        [str(dagster), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_loaded(url, server, time.monotonic() + STARTUP_S)
        yield url, port, storage
    finally:
        # SIGINT to the whole group: the webserver, the code server and any run worker.
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def test_launch_data_job_over_graphql_and_read_the_lineage(dagster_dev, tmp_path):
    url, port, storage = dagster_dev
    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    run_id = client.submit_job_execution("data_job")  # the local profile runs steps in process
    deadline = time.monotonic() + RUN_S
    while (status := client.get_run_status(run_id)) not in (
        DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED,
    ):  # fmt: skip
        assert time.monotonic() < deadline, f"run {run_id} still {status} after {RUN_S} s"
        time.sleep(1)
    assert status == DagsterRunStatus.SUCCESS, (tmp_path / "dagster_dev.log").read_text()[-4000:]

    node = _graphql(url, LINEAGE, {"path": ["telco_customers"]})
    lineage = node["assetNodeOrError"]
    assert lineage["__typename"] == "AssetNode" and lineage["groupName"] == "data"
    assert [k["path"] for k in lineage["dependencyKeys"]] == [["telco_raw"]]
    assert ["customer_splits"] in [k["path"] for k in lineage["dependedByKeys"]]

    (latest,) = node["assetOrError"]["assetMaterializations"]
    rows = {e["label"]: e.get("intValue") for e in latest["metadataEntries"]}
    assert latest["runId"] == run_id and rows["dagster/row_count"] == 7032
    table = pd.read_parquet(io.BytesIO((storage / "tables" / "telco_customers.parquet").read_bytes()))
    assert len(table) == 7032
