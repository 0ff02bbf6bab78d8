"""Experiment-config section for the `tabular` domain."""

from resources.config import StrictModel


class TabularConfig(StrictModel):
    pass
