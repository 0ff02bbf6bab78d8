"""Where heavy steps run: ``LocalCompute`` (a subprocess) or ``VertexCompute`` (Vertex AI custom jobs)."""

from resources.compute.base import ComputeResource, StepResult
from resources.compute.config import ComputeConfig
from resources.compute.local import LocalCompute
from resources.compute.vertex import VertexCompute


def build_compute(config: ComputeConfig, artifact_root: str, config_path: str) -> ComputeResource:
    """The compute resource the experiment's ``compute.backend`` names."""
    if config.backend == "vertex":
        return VertexCompute(artifact_root=artifact_root, config_path=config_path)
    return LocalCompute(artifact_root=artifact_root)


__all__ = ["ComputeResource", "LocalCompute", "StepResult", "VertexCompute", "build_compute"]
