"""Experiment-config section for the `decision` domain."""

from resources.config import StrictModel


class DecisionConfig(StrictModel):
    pass
