"""Experiment-config section for the `llm` domain."""

from resources.config import StrictModel


class LLMConfig(StrictModel):
    pass
