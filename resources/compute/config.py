"""Experiment-config section for where heavy steps run."""

from typing import Literal

from resources.config import StrictModel


class ComputeConfig(StrictModel):
    # local: a subprocess on this machine (the embedded default); vertex: Vertex AI custom jobs.
    backend: Literal["local", "vertex"] = "local"
