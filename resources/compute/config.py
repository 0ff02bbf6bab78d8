"""Experiment-config section for where heavy steps run, on which machine, and at what cost."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from resources.config import StrictModel


class MachineSpec(StrictModel):
    """One Vertex worker pool: machine, accelerators, replicas and the job's hard timeout."""

    machine_type: str = "n1-standard-4"
    accelerator_type: str | None = None  # e.g. NVIDIA_TESLA_A100; None for a CPU machine
    accelerator_count: int = Field(0, ge=0)
    replica_count: int = Field(1, ge=1)
    # The seed's custom jobs run with a 4-hour timeout; it is also the budget guard's worst case.
    timeout_s: int = Field(4 * 3600, ge=1)

    @model_validator(mode="after")
    def _accelerator_pair(self) -> "MachineSpec":
        if (self.accelerator_type is None) != (self.accelerator_count == 0):
            raise ValueError("accelerator_type and accelerator_count > 0 go together")
        return self


class PriceTable(StrictModel):
    """USD per hour per replica. Vertex AI custom-training list prices, us-central1
    (cloud.google.com/vertex-ai/pricing, as remembered at writing; check them for your region)."""

    machine_hourly_usd: dict[str, float] = {
        "n1-standard-4": 0.2185,
        "n1-standard-8": 0.4370,
        "n1-highmem-8": 0.5442,
        "a2-highgpu-1g": 0.8469,
        "a2-highgpu-2g": 1.6938,
        "g2-standard-8": 0.9891,
    }
    accelerator_hourly_usd: dict[str, float] = {
        "NVIDIA_TESLA_T4": 0.4025,
        "NVIDIA_L4": 0.6443,
        "NVIDIA_TESLA_A100": 3.3741,
    }

    def hourly_usd(self, machine: MachineSpec) -> float:
        """Cost of one hour of ``machine``; raises naming the key when a price is missing."""
        if machine.machine_type not in self.machine_hourly_usd:
            raise KeyError(f"compute.prices.machine_hourly_usd has no price for {machine.machine_type!r}")
        hourly = self.machine_hourly_usd[machine.machine_type]
        if machine.accelerator_type is not None:
            if machine.accelerator_type not in self.accelerator_hourly_usd:
                raise KeyError(
                    f"compute.prices.accelerator_hourly_usd has no price for {machine.accelerator_type!r}"
                )
            hourly += machine.accelerator_count * self.accelerator_hourly_usd[machine.accelerator_type]
        return hourly * machine.replica_count

    def cost_usd(self, machine: MachineSpec, seconds: float) -> float:
        return self.hourly_usd(machine) * seconds / 3600


class RetryConfig(StrictModel):
    """Relaunch a job that failed for a transient reason (preemption, quota, 5xx)."""

    max_attempts: int = Field(3, ge=1)
    backoff_s: float = Field(30.0, ge=0)
    # google.rpc.Code values Vertex reports for capacity and infrastructure trouble:
    # 8 RESOURCE_EXHAUSTED (quota, stockout), 10 ABORTED (preempted), 13 INTERNAL, 14 UNAVAILABLE.
    transient_codes: list[int] = [8, 10, 13, 14]


class VertexConfig(StrictModel):
    project: str
    region: str = "us-central1"
    # The training image built from the project's Dockerfile (see README).
    image_uri: str
    service_account: str | None = None
    # gs://bucket/prefix for the Pipes channel and each job's base_output_dir.
    staging_uri: str = Field(pattern=r"^gs://[^/]+(/.*)?$")
    # None: the regional endpoint <region>-aiplatform.googleapis.com; tests point it at the fake.
    api_endpoint: str | None = None
    poll_interval_s: float = Field(15.0, gt=0)
    # How a job with accelerator_count > 1 starts one process per GPU.
    multi_gpu_launcher: Literal["torchrun", "accelerate"] = "torchrun"
    # Log lines kept from the job's stdout/stderr for a failure message.
    failure_log_lines: int = Field(30, ge=1)

    @property
    def endpoint(self) -> str:
        return self.api_endpoint or f"{self.region}-aiplatform.googleapis.com"


class ComputeConfig(StrictModel):
    # local: a subprocess on this machine (the embedded default); vertex: Vertex AI custom jobs.
    backend: Literal["local", "vertex"] = "local"
    # The experiment's total spend on compute; the seed's MVP run has $100.
    budget_usd: float = Field(100.0, ge=0)
    default_machine: MachineSpec = MachineSpec()
    # Per-step machines, keyed by the step name an asset passes to run_step (e.g. "sft").
    machines: dict[str, MachineSpec] = {}
    prices: PriceTable = PriceTable()
    retries: RetryConfig = RetryConfig()
    vertex: VertexConfig | None = None

    @model_validator(mode="after")
    def _vertex_needs_settings(self) -> "ComputeConfig":
        if self.backend == "vertex" and self.vertex is None:
            raise ValueError("backend 'vertex' needs a compute.vertex section (project, image_uri, staging_uri)")
        return self

    def machine(self, step: str) -> MachineSpec:
        return self.machines.get(step, self.default_machine)
