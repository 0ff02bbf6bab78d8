"""What the three Pipes steps share: reading their params, input tables and checkpoints."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from retention_assets.llm.config import LLMConfig
from retention_assets.llm.models import set_threads
from resources.storage.artifacts import ArtifactRef, ArtifactStore
from resources.storage.object_store import read_uri


def step_config(params: dict) -> LLMConfig:
    config = LLMConfig.model_validate(params["llm"])
    set_threads(config.torch_threads)
    return config


def read_table(params: dict, name: str) -> pd.DataFrame:
    """Input table ``name`` from the Parquet file the asset wrote for the step."""
    uri = params["inputs"].get(name)
    if uri is None:
        raise KeyError(f"step params: inputs.{name} is missing")
    try:
        return pd.read_parquet(io.BytesIO(read_uri(uri)))
    except FileNotFoundError:
        raise FileNotFoundError(f"step input {name}: {uri} does not exist") from None


def fetch_checkpoint(store: ArtifactStore, params: dict, name: str) -> Path:
    """A verified local copy of the upstream checkpoint ``name`` (its ref is in ``params['inputs']``)."""
    return store.fetch(ArtifactRef.from_dict(params["inputs"][name]))


def md(value: str) -> dict:
    """A Pipes metadata value rendered as Markdown in the UI."""
    return {"raw_value": value, "type": "md"}


def history_metadata(history: list[dict]) -> dict:
    return {"raw_value": [{k: v for k, v in row.items() if not isinstance(v, str)} for row in history], "type": "json"}
