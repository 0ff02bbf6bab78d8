"""The two models' training specs: the dataset's columns plus the config's section."""

from __future__ import annotations

from retention_assets.data import bank, telco
from retention_assets.tabular.config import TabularConfig
from retention_assets.tabular.train import ModelSpec


def _common(config: TabularConfig) -> dict:
    return dict(cv_folds=config.cv_folds, ece_bins=config.ece_bins, top_features=config.top_features,
                seed=config.seed, threads=config.threads, drift_holdout=config.drift_holdout)  # fmt: skip


def risk_spec(config: TabularConfig) -> ModelSpec:
    """Churn risk from the Telco customers."""
    return ModelSpec(name="risk_model", id_column=telco.ID, label=telco.LABEL, categorical=telco.CATEGORICAL,
                     numeric=telco.NUMERIC, model=config.risk, **_common(config))  # fmt: skip


def accept_spec(config: TabularConfig) -> ModelSpec:
    """Offer acceptance (term-deposit subscription) from bank contacts, never using duration."""
    return ModelSpec(name="accept_model", id_column=bank.ID, label=bank.LABEL, categorical=bank.CATEGORICAL,
                     numeric=bank.NUMERIC, model=config.accept, time_ordered=True, forbidden=bank.LEAKY,
                     **_common(config))  # fmt: skip
