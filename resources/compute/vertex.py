"""Heavy steps as Vertex AI custom jobs, talking to Dagster through Pipes over GCS.

``PipesVertexJobClient`` runs one ``CustomJob`` in one Pipes session, in the shape of
dagster-gcp's ``PipesDataprocJobClient``: open a session, submit, poll, cancel when the Dagster
run is terminated, and turn a failed job into a ``dg.Failure`` carrying the job's error and the
last lines the step printed. ``VertexCompute`` is the resource around it: it picks the step's
machine from the experiment config, guards the budget, retries transient failures with a fresh
session per attempt, and records each attempt's cost.
"""

from __future__ import annotations

import datetime
import json
import re
import time
from collections import deque
from typing import Any

import dagster as dg
from dagster import PipesClient
from dagster._core.definitions.resource_annotation import TreatAsResourceParam
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._core.pipes.client import PipesClientCompletedInvocation
from dagster._core.pipes.utils import open_pipes_session
from dagster_gcp.pipes import PipesGCSContextInjector, PipesGCSMessageReader
from google.cloud.aiplatform_v1 import JobServiceClient
from google.cloud.aiplatform_v1.types import (
    ContainerSpec,
    CustomJob,
    CustomJobSpec,
    EnvVar,
    GcsDestination,
    JobState,
    Scheduling,
    WorkerPoolSpec,
)
from google.cloud.aiplatform_v1.types import MachineSpec as VertexMachineSpec
from google.protobuf import duration_pb2

from resources.compute.base import ComputeResource
from resources.compute.budget import SpendLedger, guard
from resources.compute.config import ComputeConfig, MachineSpec, VertexConfig
from resources.compute.entry import CHANNEL_ENV
from resources.storage.object_store import open_store

DONE_STATES = {
    JobState.JOB_STATE_SUCCEEDED,
    JobState.JOB_STATE_FAILED,
    JobState.JOB_STATE_CANCELLED,
    JobState.JOB_STATE_EXPIRED,
    JobState.JOB_STATE_PARTIALLY_SUCCEEDED,
}


class VertexJobFailure(dg.Failure):
    """A custom job that ended without succeeding; ``code`` is its google.rpc error code."""

    def __init__(self, description: str, *, code: int, job_name: str):
        super().__init__(description, metadata={"vertex_job": job_name, "error_code": code})
        self.code = code


class _TailingGCSMessageReader(PipesGCSMessageReader):
    """The GCS message reader, keeping the last log lines and any exception for failure messages."""

    def __init__(self, *, tail_lines: int, **kwargs):
        super().__init__(include_stdio_in_messages=True, **kwargs)
        self.tail: deque[str] = deque(maxlen=tail_lines)

    def download_messages_chunk(self, index: int, params) -> str | None:
        chunk = super().download_messages_chunk(index, params)
        for line in (chunk or "").splitlines():
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue
            args = message.get("params") or {}
            if message.get("method") == "log_external_stream":
                self.tail.extend(args.get("text", "").splitlines())
            elif message.get("method") == "log":
                self.tail.append(args.get("message", ""))
            elif message.get("method") == "closed" and "exception" in args:
                exc = args["exception"]
                self.tail.append(f"{exc.get('name')}: {exc.get('message')}")
        return chunk


_LABEL_BAD = re.compile(r"[^a-z0-9_-]")


def vertex_labels(labels: dict[str, str]) -> dict[str, str]:
    """Vertex label rules: lowercase letters, digits, ``_`` and ``-``, at most 63 characters."""
    return {_LABEL_BAD.sub("-", k.lower())[:63]: _LABEL_BAD.sub("-", v.lower())[:63] for k, v in labels.items()}


def step_command(module: str, machine: MachineSpec, launcher: str) -> list[str]:
    """``python -m module``, or one process per GPU through torchrun / accelerate launch."""
    if machine.accelerator_count <= 1:
        return ["python", "-m", module]
    if launcher == "torchrun":
        return ["torchrun", "--standalone", f"--nproc_per_node={machine.accelerator_count}", "-m", module]
    return ["accelerate", "launch", f"--num_processes={machine.accelerator_count}", "-m", module]


def build_custom_job(
    display_name: str, module: str, machine: MachineSpec, vertex: VertexConfig, output_dir: str, labels: dict[str, str]
) -> CustomJob:
    accelerator = (
        {"accelerator_type": machine.accelerator_type, "accelerator_count": machine.accelerator_count}
        if machine.accelerator_type
        else {}
    )
    pool = WorkerPoolSpec(
        machine_spec=VertexMachineSpec(machine_type=machine.machine_type, **accelerator),
        replica_count=machine.replica_count,
        container_spec=ContainerSpec(
            image_uri=vertex.image_uri,
            command=step_command(module, machine, vertex.multi_gpu_launcher),
            args=[],
            env=[EnvVar(name=CHANNEL_ENV, value="gcs")],
        ),
    )
    spec = CustomJobSpec(
        worker_pool_specs=[pool],
        base_output_directory=GcsDestination(output_uri_prefix=output_dir),
        scheduling=Scheduling(timeout=duration_pb2.Duration(seconds=machine.timeout_s)),
        **({"service_account": vertex.service_account} if vertex.service_account else {}),
    )
    return CustomJob(display_name=display_name, job_spec=spec, labels=vertex_labels(labels))


class PipesVertexJobClient(PipesClient, TreatAsResourceParam):
    """Runs one Vertex AI ``CustomJob`` inside a Pipes session (GCS context and messages)."""

    def __init__(
        self,
        client: JobServiceClient,
        parent: str,
        context_injector: PipesGCSContextInjector,
        message_reader: _TailingGCSMessageReader,
        poll_interval: float = 15.0,
        forward_termination: bool = True,
    ):
        self.client = client
        self.parent = parent
        self.context_injector = context_injector
        self.message_reader = message_reader
        self.poll_interval = poll_interval
        self.forward_termination = forward_termination
        self.job_name: str | None = None  # set once the job exists, so a caller can bill it

    def run(  # ty: ignore[invalid-method-override]
        self, *, context: dg.AssetExecutionContext, custom_job: CustomJob, extras: dict | None = None
    ) -> tuple[PipesClientCompletedInvocation, CustomJob]:
        with open_pipes_session(
            context=context,
            message_reader=self.message_reader,
            context_injector=self.context_injector,
            extras=extras,
        ) as session:
            pool = custom_job.job_spec.worker_pool_specs[0]
            pool.container_spec.env.extend(
                EnvVar(name=k, value=v) for k, v in session.get_bootstrap_env_vars().items()
            )
            job = self.client.create_custom_job(parent=self.parent, custom_job=custom_job)
            self.job_name = job.name
            context.log.info(f"[pipes] Vertex job {job.name} created ({pool.machine_spec.machine_type})")
            try:
                job = self._wait(context, job)
            except DagsterExecutionInterruptedError:
                if self.forward_termination:
                    context.log.warning(f"[pipes] Dagster run interrupted: cancelling Vertex job {job.name}")
                    self.client.cancel_custom_job(name=job.name)
                raise
        if job.state != JobState.JOB_STATE_SUCCEEDED:
            tail = "\n".join(self.message_reader.tail) or "(the step printed nothing)"
            raise VertexJobFailure(
                f"Vertex job {job.name} ended {job.state.name}: [code {job.error.code}] {job.error.message}\n"
                f"last log lines:\n{tail}",
                code=job.error.code,
                job_name=job.name,
            )
        return PipesClientCompletedInvocation(session, metadata={"vertex_job": job.name}), job

    def _wait(self, context: dg.AssetExecutionContext, job: CustomJob) -> CustomJob:
        state = job.state
        while job.state not in DONE_STATES:
            time.sleep(self.poll_interval)
            job = self.client.get_custom_job(name=job.name)
            if job.state != state:
                context.log.info(f"[pipes] Vertex job {job.name}: {job.state.name}")
                state = job.state
        return job


def _run_seconds(job: CustomJob) -> float:
    """Billed time: from the job's start to its end, or to now while it is still stopping."""
    if not job.start_time:
        return 0.0
    end = job.end_time or datetime.datetime.now(datetime.timezone.utc)
    return max(0.0, (end - job.start_time).total_seconds())


class VertexCompute(ComputeResource):
    """Heavy steps as Vertex AI custom jobs; machine, prices and budget come from the experiment config."""

    config_path: str

    def _compute_config(self) -> ComputeConfig:
        from retention_assets.settings import cached_config  # the settings import this package

        return cached_config(self.config_path).compute

    def _job_client(self, vertex: VertexConfig) -> JobServiceClient:
        credentials = None
        if vertex.endpoint.startswith("http://"):
            # Google APIs are https only, so plain http is a local emulator: no credentials.
            from google.auth.credentials import AnonymousCredentials

            credentials = AnonymousCredentials()
        return JobServiceClient(
            credentials=credentials, transport="rest", client_options={"api_endpoint": vertex.endpoint}
        )

    def _launch(
        self, context: dg.AssetExecutionContext, step: str, module: str, extras: dict
    ) -> tuple[PipesClientCompletedInvocation, dict[str, Any]]:
        from google.cloud import storage

        config = self._compute_config()
        vertex = config.vertex
        if vertex is None:
            raise dg.Failure("VertexCompute needs a compute.vertex section in the experiment config")
        if not self.artifact_root.startswith("gs://"):
            raise dg.Failure(f"VertexCompute needs a gs:// storage root for artifacts, got {self.artifact_root!r}")
        machine = config.machine(step)
        ledger = SpendLedger(open_store(self.artifact_root))
        bucket, _, prefix = vertex.staging_uri[len("gs://") :].partition("/")
        prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        gcs = storage.Client(project=vertex.project)
        client = self._job_client(vertex)
        run_id = context.run.run_id
        asset = context.asset_key.to_user_string() if context.has_assets_def else step
        output_dir = f"gs://{bucket}/{prefix}jobs/{run_id}/{step}"
        worst_case = config.prices.cost_usd(machine, machine.timeout_s)

        total_cost, total_seconds = 0.0, 0.0
        for attempt in range(1, config.retries.max_attempts + 1):
            guard(ledger, config.budget_usd, worst_case, step)
            custom_job = build_custom_job(
                f"{step}-{run_id[:8]}-{attempt}",
                module,
                machine,
                vertex,
                f"{output_dir}/attempt-{attempt}",
                {"dagster-run-id": run_id, "dagster-asset": asset, "retention-step": step},
            )
            pipes_client = PipesVertexJobClient(
                client=client,
                parent=f"projects/{vertex.project}/locations/{vertex.region}",
                context_injector=PipesGCSContextInjector(bucket=bucket, client=gcs, key_prefix=f"{prefix}pipes/"),
                message_reader=_TailingGCSMessageReader(
                    bucket=bucket, client=gcs, interval=min(vertex.poll_interval_s, 10), tail_lines=vertex.failure_log_lines
                ),
                poll_interval=vertex.poll_interval_s,
            )
            job = None
            try:
                invocation, job = pipes_client.run(context=context, custom_job=custom_job, extras=extras)
            except VertexJobFailure as failure:
                job = client.get_custom_job(name=pipes_client.job_name)
                if failure.code not in config.retries.transient_codes or attempt == config.retries.max_attempts:
                    raise
                context.log.warning(
                    f"Vertex job {job.name} failed transiently (code {failure.code}); "
                    f"attempt {attempt + 1}/{config.retries.max_attempts} in {config.retries.backoff_s}s"
                )
                time.sleep(config.retries.backoff_s)
            finally:
                if job is None and pipes_client.job_name:  # interrupted: bill what ran until the cancel
                    job = client.get_custom_job(name=pipes_client.job_name)
                if job is not None:
                    seconds = _run_seconds(job)
                    cost = config.prices.cost_usd(machine, seconds)
                    ledger.record(job.name, step, seconds, cost)
                    total_cost, total_seconds = total_cost + cost, total_seconds + seconds
            if job is not None and job.state == JobState.JOB_STATE_SUCCEEDED:
                launch = {
                    "compute_backend": "vertex",
                    "compute_wall_s": round(total_seconds, 3),
                    "compute_cost_usd": round(total_cost, 6),
                    "compute_worst_case_usd": round(worst_case, 4),
                    "compute_attempts": attempt,
                    "compute_machine": machine.machine_type,
                    "compute_accelerator": f"{machine.accelerator_count}x{machine.accelerator_type}"
                    if machine.accelerator_type
                    else "none",
                    "vertex_job": job.name,
                    "vertex_output_dir": f"{output_dir}/attempt-{attempt}",
                }
                return invocation, launch
        raise AssertionError("unreachable: the last attempt either returns or raises")
