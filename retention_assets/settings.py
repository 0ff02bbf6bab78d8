"""Typed, validated experiment configuration.

An experiment is one YAML file (``configs/*.yaml``). Every section is a pydantic model that
forbids unknown keys, so a typo fails loudly with the dotted key and the file's path instead
of being ignored. Each domain owns its own section model (``<domain>/config.py``).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

import dagster as dg
import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from retention_assets.decision.config import DecisionConfig
from retention_assets.llm.config import LLMConfig
from retention_assets.tabular.config import TabularConfig
from resources.compute.config import ComputeConfig
from resources.config import StrictModel

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "configs" / "local.yaml"


class SplitConfig(StrictModel):
    """Fractions of the seeded, deterministic splits shared by every dataset."""

    train: float = Field(0.6, gt=0, lt=1)
    validation: float = Field(0.1, gt=0, lt=1)
    calibration: float = Field(0.1, ge=0, lt=1)
    test: float = Field(0.2, gt=0, lt=1)
    seed: int = 42

    @model_validator(mode="after")
    def _sum_to_one(self) -> "SplitConfig":
        total = self.train + self.validation + self.calibration + self.test
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"split fractions must sum to 1, got {total:.4f}")
        return self

    def fractions(self) -> dict[str, float]:
        return {
            "train": self.train,
            "validation": self.validation,
            "calibration": self.calibration,
            "test": self.test,
        }


class TableExpectation(StrictModel):
    """What a data asset's checks accept: a row-count range and, for labelled tables, a label rate."""

    min_rows: int = Field(ge=1)
    max_rows: int = Field(ge=1)
    min_label_rate: float | None = Field(None, ge=0, le=1)
    max_label_rate: float | None = Field(None, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> "TableExpectation":
        if self.min_rows > self.max_rows:
            raise ValueError(f"min_rows ({self.min_rows}) exceeds max_rows ({self.max_rows})")
        if None not in (self.min_label_rate, self.max_label_rate) and self.min_label_rate > self.max_label_rate:
            raise ValueError(f"min_label_rate ({self.min_label_rate}) exceeds max_label_rate ({self.max_label_rate})")
        return self


# Ranges around the public files' counts (README of the mirror); bring-your-own data overrides them.
DEFAULT_EXPECTATIONS = {
    "telco_customers": TableExpectation(min_rows=7000, max_rows=7100, min_label_rate=0.20, max_label_rate=0.33),
    "bank_contacts": TableExpectation(min_rows=41000, max_rows=41300, min_label_rate=0.09, max_label_rate=0.14),
    "sft_pairs": TableExpectation(min_rows=1000, max_rows=100_000),
    "preference_pairs": TableExpectation(min_rows=4000, max_rows=6_000_000),
}


class DataConfig(StrictModel):
    """Where the raw data comes from.

    The ``*_uri`` keys bring your own data: a local path or a ``gs://`` URI in the same schema
    as the public file. Left empty, the pinned public source is used (mirror, then cache, then
    the canonical URL).
    """

    cache_dir: str = "~/.cache/retention-assets"
    telco_uri: str | None = None
    bank_uri: str | None = None
    oasst1_uri: str | None = None
    hh_rlhf_uris: list[str] | None = None
    # SHP-2 has no mirror; its loader runs only when a file in SHP-2's schema is named here.
    shp2_uri: str | None = None
    shp2_min_score_ratio: float = Field(2.0, ge=1.0)
    splits: SplitConfig = SplitConfig()
    expectations: dict[str, TableExpectation] = DEFAULT_EXPECTATIONS

    @field_validator("expectations")
    @classmethod
    def _known_assets(cls, value: dict[str, TableExpectation]) -> dict[str, TableExpectation]:
        unknown = sorted(set(value) - set(DEFAULT_EXPECTATIONS))
        if unknown:
            raise ValueError(f"no data asset named {unknown}; known: {sorted(DEFAULT_EXPECTATIONS)}")
        return value

    def expectation(self, asset: str) -> TableExpectation:
        return {**DEFAULT_EXPECTATIONS, **self.expectations}[asset]


class StorageConfig(StrictModel):
    """Where tables and artifacts live: a local directory or ``gs://bucket/prefix``."""

    root: str = ".retention/storage"

    @property
    def is_gcs(self) -> bool:
        return self.root.startswith("gs://")


class ExperimentConfig(StrictModel):
    name: str
    profile: Literal["local", "gcp"] = "local"
    data: DataConfig = DataConfig()
    storage: StorageConfig = StorageConfig()
    compute: ComputeConfig = ComputeConfig()
    tabular: TabularConfig = TabularConfig()
    llm: LLMConfig = LLMConfig()
    decision: DecisionConfig = DecisionConfig()


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the key."""


def _format_errors(path: Path, error: ValidationError) -> str:
    lines = [f"invalid experiment config {path}:"]
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "<root>"
        lines.append(f"  {key}: {item['msg']}")
    return "\n".join(lines)


def config_path(path: str | os.PathLike | None = None) -> Path:
    """The experiment config to use: ``path``, else ``$RETENTION_CONFIG``, else local.yaml."""
    return Path(path or os.environ.get("RETENTION_CONFIG") or DEFAULT_CONFIG).expanduser().resolve()


def load_config(path: str | os.PathLike | None = None) -> ExperimentConfig:
    """Read and validate an experiment config (default: ``$RETENTION_CONFIG`` or local.yaml)."""
    path = config_path(path)
    if not path.is_file():
        raise ConfigError(f"experiment config {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"experiment config {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"experiment config {path} must be a mapping at the top level")
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_errors(path, exc)) from None


@lru_cache(maxsize=8)
def cached_config(path: str) -> ExperimentConfig:
    return load_config(path)


class ExperimentResource(dg.ConfigurableResource):
    """Hands every asset the validated experiment config named by ``config_path``."""

    config_path: str = str(DEFAULT_CONFIG)

    @property
    def config(self) -> ExperimentConfig:
        return cached_config(self.config_path)
