"""VertexCompute against the fake Vertex REST API and the GCS emulator, both on loopback.

The real ``google-cloud-aiplatform`` JobServiceClient (REST transport) talks to the fake; the Pipes
context and messages go through the emulated bucket, as they would through GCS on Vertex.
"""

import os
import signal
import threading

import dagster as dg
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud.aiplatform_v1 import AcceleratorType, JobServiceClient

from resources.compute import LocalCompute
from resources.compute.budget import SpendLedger
from resources.storage.artifacts import ArtifactStore
from resources.storage.object_store import open_store
from retention_assets_tests.compute.conftest import (
    PROBE_MODULE,
    SLEEPY_MODULE,
    materialized_metadata,
    step_asset,
    vertex_compute,
)

TELCO = "telco/WA_Fn-UseC_-Telco-Customer-Churn.csv"
A100 = {"machine_type": "a2-highgpu-1g", "accelerator_type": "NVIDIA_TESLA_A100", "accelerator_count": 1}


def _only_job(fake):
    [job] = fake.jobs.values()
    return job.snapshot()


def test_step_through_vertex_reports_what_it_does_locally(mirror, fake_vertex, gcs_bucket, tmp_path):
    """The same real step module, once as a local subprocess and once as a (fake) Vertex job."""
    params = {"csv_path": str(mirror / TELCO)}
    asset = step_asset("churn_probe_model", "churn_probe", PROBE_MODULE, params, ("auc_above_floor",))
    compute = vertex_compute(tmp_path, gcs_bucket, fake_vertex.endpoint, machines={"churn_probe": {**A100, "timeout_s": 600}})

    local = dg.materialize([asset], resources={"compute": LocalCompute(artifact_root=str(tmp_path / "local"))})
    result = dg.materialize([asset], resources={"compute": compute})

    assert local.success and result.success
    local_store = ArtifactStore.at(str(tmp_path / "local"))
    assert (local_store.fetch(local_store.latest("churn_probe")) / "model.json").is_file()
    assert [c.passed for c in local.get_asset_check_evaluations()] == [True]
    local_meta = materialized_metadata(local, "churn_probe_model")
    meta = materialized_metadata(result, "churn_probe_model")
    step_keys = {"rows", "test_auc", "fit_s", "artifact_name", "artifact_version", "artifact_uri"}
    compute_keys = {"compute_backend", "compute_wall_s", "compute_cost_usd"}
    assert step_keys | compute_keys <= set(local_meta) & set(meta)
    # same data and seed: the same model, hence the same content-addressed artifact version
    assert meta["artifact_version"] == local_meta["artifact_version"] and meta["test_auc"] == local_meta["test_auc"]
    ref = ArtifactStore.at(f"gs://{gcs_bucket}/store").latest("churn_probe")
    assert meta["artifact_uri"] == ref.uri and ref.uri.startswith(f"gs://{gcs_bucket}/store/artifacts/churn_probe/")
    assert meta["rows"] == 7032 and 0.7 < meta["test_auc"] < 0.95
    assert meta["compute_backend"] == "vertex" and meta["compute_attempts"] == 1
    assert meta["compute_worst_case_usd"] == pytest.approx((0.8469 + 3.3741) * 600 / 3600, abs=1e-4)
    # cost = billed seconds x (machine + accelerator) hourly price from the config's table
    assert meta["compute_cost_usd"] == pytest.approx((0.8469 + 3.3741) * meta["compute_wall_s"] / 3600, rel=1e-3)
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == "auc_above_floor" and check.passed
    spent = SpendLedger(open_store(f"gs://{gcs_bucket}/store")).spent_usd()
    assert spent == pytest.approx(meta["compute_cost_usd"], abs=1e-6) and spent > 0

    job = _only_job(fake_vertex)
    assert meta["vertex_job"] == job["name"] and job["state"] == "JOB_STATE_SUCCEEDED"
    pool = job["jobSpec"]["workerPoolSpecs"][0]
    machine = pool["machineSpec"]
    assert machine["machineType"] == "a2-highgpu-1g" and machine["acceleratorCount"] == 1
    assert AcceleratorType(machine["acceleratorType"]).name == "NVIDIA_TESLA_A100"  # REST sends enums as ints
    assert pool["replicaCount"] == "1" and pool["containerSpec"]["imageUri"].endswith("/retention:test")
    assert pool["containerSpec"]["command"] == ["python", "-m", PROBE_MODULE]
    env = {e["name"] for e in pool["containerSpec"]["env"]}
    assert {"DAGSTER_PIPES_CONTEXT", "DAGSTER_PIPES_MESSAGES", "RETENTION_PIPES_CHANNEL"} <= env
    assert job["jobSpec"]["scheduling"]["timeout"] == "600s"
    assert job["jobSpec"]["serviceAccount"] == "trainer@retention-test.iam.gserviceaccount.com"
    assert job["jobSpec"]["baseOutputDirectory"]["outputUriPrefix"].startswith(f"gs://{gcs_bucket}/staging/jobs/{result.run_id}/")
    assert job["labels"] == {"dagster-run-id": result.run_id, "dagster-asset": "churn_probe_model", "retention-step": "churn_probe"}
    # the real client lists what the fake holds
    client = JobServiceClient(
        credentials=AnonymousCredentials(), transport="rest", client_options={"api_endpoint": fake_vertex.endpoint}
    )
    assert [j.name for j in client.list_custom_jobs(parent="projects/retention-test/locations/us-central1")] == [job["name"]]


def test_failing_job_error_and_log_tail_reach_the_failure(fake_vertex, gcs_bucket, tmp_path):
    compute = vertex_compute(tmp_path, gcs_bucket, fake_vertex.endpoint)
    asset = step_asset("sleepy", "sleepy", SLEEPY_MODULE, {"sleep_s": 0, "fail": "column 'tenure' is empty"})
    with pytest.raises(dg.Failure) as raised:
        dg.materialize([asset], resources={"compute": compute})
    message = str(raised.value.description)
    assert "JOB_STATE_FAILED" in message and "exited with a non-zero status of 1" in message
    assert "sleepy step starting" in message  # the step's own stdout, forwarded through Pipes
    assert "ValueError: sleepy step refused its input: column 'tenure' is empty" in message
    assert len(fake_vertex.jobs) == 1  # a step's own error is not retried


def test_timeout_fails_the_run(fake_vertex, gcs_bucket, tmp_path):
    compute = vertex_compute(tmp_path, gcs_bucket, fake_vertex.endpoint, machines={"sleepy": {"timeout_s": 3}})
    asset = step_asset("sleepy", "sleepy", SLEEPY_MODULE, {"sleep_s": 60})
    with pytest.raises(dg.Failure, match=r"JOB_STATE_FAILED: \[code 4\] Job exceeded its timeout of 3s"):
        dg.materialize([asset], resources={"compute": compute})
    assert len(fake_vertex.jobs) == 1  # DEADLINE_EXCEEDED is not transient


def test_transient_failure_is_retried(fake_vertex, gcs_bucket, tmp_path):
    fake_vertex.fail_next(8, "The zone us-central1-a does not have enough resources available.")
    compute = vertex_compute(tmp_path, gcs_bucket, fake_vertex.endpoint)
    result = dg.materialize([step_asset("sleepy", "sleepy", SLEEPY_MODULE, {"sleep_s": 0})], resources={"compute": compute})
    meta = materialized_metadata(result, "sleepy")
    states = sorted(job.snapshot()["state"] for job in fake_vertex.jobs.values())
    assert states == ["JOB_STATE_FAILED", "JOB_STATE_SUCCEEDED"]
    assert meta["compute_attempts"] == 2 and meta["slept_s"] == 0


def test_transient_failures_exhaust_the_retries(fake_vertex, gcs_bucket, tmp_path):
    fake_vertex.fail_next(14, "The service is currently unavailable.", times=2)
    compute = vertex_compute(tmp_path, gcs_bucket, fake_vertex.endpoint)
    with pytest.raises(dg.Failure, match=r"\[code 14\] The service is currently unavailable"):
        dg.materialize([step_asset("sleepy", "sleepy", SLEEPY_MODULE, {"sleep_s": 0})], resources={"compute": compute})
    assert len(fake_vertex.jobs) == 2  # max_attempts: 2


def test_budget_guard_refuses_a_launch_it_cannot_afford(fake_vertex, gcs_bucket, tmp_path):
    # earlier jobs spent $95 of $100; a 4-hour A100 job could cost 4 x $4.22 = $16.88
    SpendLedger(open_store(f"gs://{gcs_bucket}/store")).record("projects/p/locations/l/customJobs/1", "sft", 3600, 95.0)
    compute = vertex_compute(tmp_path, gcs_bucket, fake_vertex.endpoint, machines={"sleepy": A100})
    with pytest.raises(dg.Failure, match=r"budget guard: step 'sleepy' could cost up to \$16.88 .* only \$5.00"):
        dg.materialize([step_asset("sleepy", "sleepy", SLEEPY_MODULE, {"sleep_s": 0})], resources={"compute": compute})
    assert fake_vertex.jobs == {}


def test_run_termination_cancels_the_job(fake_vertex, gcs_bucket, tmp_path):
    compute = vertex_compute(tmp_path, gcs_bucket, fake_vertex.endpoint)

    def interrupt_once_running():
        fake_vertex.wait_for_state("JOB_STATE_RUNNING")
        # what Dagster's run termination does to the process executing the step
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_once_running, daemon=True).start()
    result = dg.materialize(
        [step_asset("sleepy", "sleepy", SLEEPY_MODULE, {"sleep_s": 60})],
        resources={"compute": compute},
        raise_on_error=False,
    )
    assert not result.success
    job = fake_vertex.wait_for_state("JOB_STATE_CANCELLED", timeout_s=10)
    assert job.process.returncode is not None
    # the cancelled attempt's time is still billed against the budget
    assert SpendLedger(open_store(f"gs://{gcs_bucket}/store")).spent_usd() > 0


def test_multi_gpu_step_runs_under_torchrun_and_reports_once(fake_vertex, gcs_bucket, tmp_path):
    two_gpus = {"machine_type": "g2-standard-8", "accelerator_type": "NVIDIA_L4", "accelerator_count": 2}
    compute = vertex_compute(tmp_path, gcs_bucket, fake_vertex.endpoint, machines={"sleepy": two_gpus})
    result = dg.materialize([step_asset("sleepy", "sleepy", SLEEPY_MODULE, {"sleep_s": 0})], resources={"compute": compute})
    pool = _only_job(fake_vertex)["jobSpec"]["workerPoolSpecs"][0]
    assert pool["containerSpec"]["command"] == ["torchrun", "--standalone", "--nproc_per_node=2", "-m", SLEEPY_MODULE]
    # both ranks ran the step (on CPU here); only rank 0 reported, so there is one materialization
    assert materialized_metadata(result, "sleepy")["slept_s"] == 0
