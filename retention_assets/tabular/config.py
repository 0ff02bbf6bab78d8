"""Experiment-config section for the `tabular` domain: hyperparameters, calibration and gates.

The defaults are the tuned values (see benchmarks/tabular.py for how they compare with
default-parameter XGBoost and logistic regression); the YAML may override any of them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from resources.config import StrictModel


class XGBoostParams(StrictModel):
    """XGBoost booster parameters; ``n_estimators`` is the cap that early stopping cuts short."""

    n_estimators: int = Field(2000, ge=1)
    early_stopping_rounds: int = Field(100, ge=1)
    learning_rate: float = Field(0.02, gt=0, le=1)
    max_depth: int = Field(3, ge=1, le=16)
    min_child_weight: float = Field(5.0, ge=0)
    subsample: float = Field(0.8, gt=0, le=1)
    colsample_bytree: float = Field(0.8, gt=0, le=1)
    reg_lambda: float = Field(1.0, ge=0)
    reg_alpha: float = Field(0.0, ge=0)
    gamma: float = Field(0.0, ge=0)
    max_bin: int = Field(256, ge=2)

    def booster_params(self, seed: int, threads: int) -> dict:
        params = self.model_dump(exclude={"n_estimators", "early_stopping_rounds"})
        params.update(objective="binary:logistic", eval_metric="logloss", tree_method="hist", seed=seed)
        if threads:
            params["nthread"] = threads
        return params


class QualityGate(StrictModel):
    """Floors a model must clear on the test split to be published (blocking asset checks)."""

    min_auc: float = Field(ge=0, le=1)
    max_ece: float = Field(ge=0, le=1)


class ModelConfig(StrictModel):
    xgboost: XGBoostParams = XGBoostParams()
    gate: QualityGate
    # Fitted on the calibration split; the lower validation Brier score wins.
    calibration_methods: list[Literal["platt", "isotonic"]] = Field(["platt", "isotonic"], min_length=1)
    # See features.py: "zero" scores an unseen category as "none of the known levels".
    unseen_categories: Literal["zero", "error"] = "zero"


class TabularConfig(StrictModel):
    # Seed floors from issue 3: risk AUC >= 0.78, accept AUC >= 0.70, both ECE <= 0.05.
    risk: ModelConfig = ModelConfig(
        xgboost=XGBoostParams(
            learning_rate=0.02, max_depth=3, min_child_weight=10.0, colsample_bytree=0.5, reg_lambda=5.0
        ),
        gate=QualityGate(min_auc=0.78, max_ece=0.05),
    )
    accept: ModelConfig = ModelConfig(
        xgboost=XGBoostParams(learning_rate=0.03, max_depth=4, min_child_weight=10.0),
        gate=QualityGate(min_auc=0.70, max_ece=0.05),
    )
    cv_folds: int = Field(5, ge=2)
    ece_bins: int = Field(15, ge=2)  # equal-width bins, as the issue specifies
    top_features: int = Field(10, ge=1)
    # Bank contacts are in date order: train on the first part, report the last fraction.
    drift_holdout: float = Field(0.2, gt=0, lt=1)
    seed: int = 42
    threads: int = Field(0, ge=0)  # 0: every core
