"""The compute interface: run one heavy step (a Python module) somewhere and get its results back.

An asset calls ``compute.run_step(context, step, module, params)``. The module runs in its own
process (a local subprocess, or a Vertex AI custom job), reads ``params`` through Dagster Pipes,
publishes its checkpoint to the artifact store, and reports metadata and checks back. Which
implementation runs is the profile's choice; the asset code is the same for both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
from dagster._core.pipes.client import PipesClientCompletedInvocation

from resources.storage.artifacts import ArtifactRef

# Metadata keys the step side (entry.py) uses to hand back its published artifact.
ARTIFACT_KEYS = ("artifact_name", "artifact_version", "artifact_uri")


@dataclass(frozen=True)
class StepResult:
    """What a step reported: plain metadata values, its published artifact, its check results."""

    metadata: dict[str, Any]
    artifact: ArtifactRef | None = None
    check_results: list[dg.AssetCheckResult] = field(default_factory=list)

    @classmethod
    def from_invocation(cls, invocation: PipesClientCompletedInvocation, launch: dict[str, Any]) -> "StepResult":
        metadata: dict[str, Any] = {}
        checks: list[dg.AssetCheckResult] = []
        for result in invocation.get_results(implicit_materializations=False):
            if isinstance(result, dg.AssetCheckResult):
                checks.append(result)
            elif result.metadata:
                metadata.update({k: _plain(v) for k, v in result.metadata.items()})
        metadata.update(launch)
        artifact = None
        if all(key in metadata for key in ARTIFACT_KEYS):
            artifact = ArtifactRef(
                name=metadata["artifact_name"], version=metadata["artifact_version"], uri=metadata["artifact_uri"]
            )
        return cls(metadata=metadata, artifact=artifact, check_results=checks)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, dg.MetadataValue) else value


class ComputeResource(dg.ConfigurableResource):
    """Where heavy steps run. Subclasses: ``LocalCompute`` and ``VertexCompute``.

    ``artifact_root`` is the artifact store root the step publishes under (a directory or
    ``gs://bucket/prefix``); the profile sets it to the experiment's storage root.
    """

    artifact_root: str

    def run_step(
        self,
        context: dg.AssetExecutionContext,
        step: str,
        module: str,
        params: dict,
    ) -> StepResult:
        """Run ``python -m module`` with ``params`` (JSON-able) and return what it reported.

        Raises ``dg.Failure`` when the step fails, carrying its error and last log lines.
        """
        try:
            json.dumps(params)
        except TypeError as exc:
            raise ValueError(f"step {step!r}: params must be JSON-serializable ({exc})") from None
        extras = {"step": step, "params": params, "artifact_root": self.artifact_root}
        invocation, launch = self._launch(context, step, module, extras)
        return StepResult.from_invocation(invocation, launch)

    def _launch(
        self, context: dg.AssetExecutionContext, step: str, module: str, extras: dict
    ) -> tuple[PipesClientCompletedInvocation, dict[str, Any]]:
        """Run the module in a Pipes session; return the invocation and launch metadata."""
        raise NotImplementedError(f"{type(self).__name__} must implement _launch")
