"""Training a calibrated XGBoost model: fit, early stopping, calibration, and every metric.

``train_model(frame, splits, spec)`` is the one entry point: the assets call it, and so can
tests and benchmarks of other domains that need a real scorer.

Protocol (all on the seeded splits from the data domain):
- the feature pipeline and the booster are fitted on ``train``; early stopping watches the log
  loss on ``validation`` and the saved booster keeps only the best iterations;
- Platt and isotonic calibrators are fitted on ``calibration``; the lower ``validation`` Brier
  score wins;
- ``auc, pr_auc, brier, log_loss, ece`` are measured on ``test`` with calibrated probabilities;
- ``cv_auc_mean/std``: stratified k-fold over every row with the tuned parameters and the number
  of trees early stopping chose, the protocol of the published anchors (booster AUC:
  calibration is monotone, so it does not change the ranking);
- ``baseline_auc``: logistic regression fitted on ``train`` and measured on ``test``;
- for time-ordered data, ``drift_*``: train on the earliest rows, calibrate on the next ones,
  measure on the latest ``drift_holdout`` fraction (the honest figure under drift).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from retention_assets.data.splits import SPLITS
from retention_assets.tabular import baselines
from retention_assets.tabular.calibration import FITTERS, choose_calibrator
from retention_assets.tabular.card import model_card
from retention_assets.tabular.config import ModelConfig
from retention_assets.tabular.features import FeaturePipeline
from retention_assets.tabular.metrics import (
    binary_metrics,
    ece_sampling_floor,
    expected_calibration_error,
    reliability_png,
    reliability_table,
)
from retention_assets.tabular.scorer import Scorer

RELIABILITY_FILE = "reliability.png"
CARD_FILE = "MODEL_CARD.md"


class TrainingDataError(ValueError):
    """A training frame or split table that cannot be used; the message names the column."""


@dataclass(frozen=True)
class ModelSpec:
    """What to train: the dataset's columns, the config section, and the evaluation settings."""

    name: str
    id_column: str
    label: str
    categorical: list[str]
    numeric: list[str]
    model: ModelConfig
    cv_folds: int = 5
    ece_bins: int = 15
    top_features: int = 10
    seed: int = 42
    threads: int = 0
    time_ordered: bool = False  # rows are in time order (id ascending): report drift figures
    drift_holdout: float = 0.2
    forbidden: tuple[str, ...] = ()  # substrings no feature name may contain (leaky columns)

    @property
    def features(self) -> list[str]:
        return self.categorical + self.numeric


@dataclass
class TrainedModel:
    spec: ModelSpec
    scorer: Scorer
    metrics: dict[str, float]
    reliability: dict[str, pd.DataFrame]
    top_features: pd.DataFrame
    data_hash: str
    rows: dict[str, int]
    calibration_briers: dict[str, float]
    check_frame: pd.DataFrame = field(repr=False)  # test rows: the publish hook re-scores them

    def save(self, directory: str | Path) -> Path:
        """Model, pipeline, calibrator, metrics, model card and reliability diagram."""
        directory = self.scorer.save(directory)
        (directory / RELIABILITY_FILE).write_bytes(self.reliability_png())
        (directory / CARD_FILE).write_text(model_card(self))
        return directory

    def reliability_png(self) -> bytes:
        return reliability_png(self.reliability, f"{self.spec.name}: test split")


def data_hash(frame: pd.DataFrame) -> str:
    """sha256 of the rows' content (column order fixed), independent of the storage format."""
    digest = hashlib.sha256("|".join(frame.columns).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _labelled(frame: pd.DataFrame, splits: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    for table, name, columns in ((frame, "training frame", [spec.id_column, spec.label, *spec.features]),
                                 (splits, "split table", ["id", "split"])):  # fmt: skip
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise TrainingDataError(f"{spec.name}: {name} is missing column(s) {missing}")
    leaked = [f for f in spec.features if any(bad in f for bad in spec.forbidden)]
    if leaked:
        raise TrainingDataError(
            f"{spec.name}: feature(s) {leaked} are derived from a forbidden column {spec.forbidden}"
        )
    split = frame[spec.id_column].map(splits.set_index("id")["split"])
    if split.isna().any():
        raise TrainingDataError(f"{spec.name}: {int(split.isna().sum())} row(s) have no split in the split table")
    unknown = sorted(set(split) - set(SPLITS))
    if unknown:
        raise TrainingDataError(f"{spec.name}: split table column 'split' has unknown value(s) {unknown}")
    labels = set(frame[spec.label].unique())
    if not labels <= {0, 1}:
        raise TrainingDataError(f"{spec.name}: label column {spec.label!r} must be 0/1, found {sorted(labels)[:5]}")
    return frame.assign(_split=split.to_numpy())


def _fit_booster(spec: ModelSpec, pipeline: FeaturePipeline, train: pd.DataFrame, valid: pd.DataFrame | None,
                 rounds: int | None = None) -> xgb.Booster:  # fmt: skip
    """Early-stopped on ``valid`` when given; otherwise exactly ``rounds`` trees."""
    params = spec.model.xgboost
    names = pipeline.columns
    dtrain = xgb.DMatrix(pipeline.transform(train), label=train[spec.label].to_numpy(), feature_names=names)
    if valid is None:
        return xgb.train(params.booster_params(spec.seed, spec.threads), dtrain, num_boost_round=rounds)
    dvalid = xgb.DMatrix(pipeline.transform(valid), label=valid[spec.label].to_numpy(), feature_names=names)
    booster = xgb.train(
        params.booster_params(spec.seed, spec.threads), dtrain, num_boost_round=params.n_estimators,
        evals=[(dvalid, "validation")], early_stopping_rounds=params.early_stopping_rounds, verbose_eval=False,
    )  # fmt: skip
    return booster[: booster.best_iteration + 1]  # keep only the trees early stopping chose


def cross_validated_auc(frame: pd.DataFrame, spec: ModelSpec, rounds: int) -> np.ndarray:
    folds = StratifiedKFold(spec.cv_folds, shuffle=True, random_state=spec.seed)
    aucs = []
    for train_idx, test_idx in folds.split(frame, frame[spec.label]):
        train, test = frame.iloc[train_idx], frame.iloc[test_idx]
        pipeline = FeaturePipeline.fit(train, spec.categorical, spec.numeric)
        booster = _fit_booster(spec, pipeline, train, None, rounds)
        aucs.append(roc_auc_score(test[spec.label], booster.inplace_predict(pipeline.transform(test))))
    return np.asarray(aucs)


def drift_metrics(frame: pd.DataFrame, spec: ModelSpec, rounds: int, method: str) -> dict[str, float]:
    """Train on the earliest rows, calibrate on the next, score the latest ``drift_holdout``."""
    ordered = frame.sort_values(spec.id_column)
    n = len(ordered)
    cut = int(round(n * (1 - spec.drift_holdout)))
    cal_start = int(round(cut * (1 - spec.drift_holdout / 2)))  # the last part of the past calibrates
    fit, cal, late = ordered.iloc[:cal_start], ordered.iloc[cal_start:cut], ordered.iloc[cut:]
    pipeline = FeaturePipeline.fit(fit, spec.categorical, spec.numeric)
    booster = _fit_booster(spec, pipeline, fit, None, rounds)
    calibrator = FITTERS[method](booster.inplace_predict(pipeline.transform(cal)), cal[spec.label].to_numpy())
    p = calibrator(booster.inplace_predict(pipeline.transform(late)))
    y = late[spec.label].to_numpy()
    return {
        "drift_auc": float(roc_auc_score(y, p)),
        "drift_ece": expected_calibration_error(p, y, spec.ece_bins),
        "drift_brier": float(np.mean((p - y) ** 2)),
        "drift_label_rate_past": float(ordered.iloc[:cut][spec.label].mean()),
        "drift_label_rate_late": float(y.mean()),
    }


def train_model(frame: pd.DataFrame, splits: pd.DataFrame, spec: ModelSpec) -> TrainedModel:
    frame = _labelled(frame, splits, spec)
    part = {name: frame[frame["_split"] == name] for name in SPLITS}
    empty = [name for name, rows in part.items() if rows.empty]
    if empty:
        raise TrainingDataError(f"{spec.name}: split(s) {empty} have no rows")
    y = {name: rows[spec.label].to_numpy() for name, rows in part.items()}

    pipeline = FeaturePipeline.fit(part["train"], spec.categorical, spec.numeric, spec.model.unseen_categories)
    booster = _fit_booster(spec, pipeline, part["train"], part["validation"])
    rounds = booster.num_boosted_rounds()
    raw = {name: booster.inplace_predict(pipeline.transform(rows)).astype(np.float64) for name, rows in part.items()}
    calibrator, briers = choose_calibrator(spec.model.calibration_methods, raw["calibration"], y["calibration"],
                                           raw["validation"], y["validation"])  # fmt: skip
    scorer = Scorer(pipeline, booster, calibrator)
    p_test = calibrator(raw["test"])

    metrics = binary_metrics(p_test, y["test"], spec.ece_bins)
    metrics["ece_uncalibrated"] = expected_calibration_error(raw["test"], y["test"], spec.ece_bins)
    metrics["ece_sampling_floor"] = ece_sampling_floor(p_test, spec.ece_bins, seed=spec.seed)
    cv = cross_validated_auc(frame, spec, rounds)
    metrics.update(cv_auc_mean=float(cv.mean()), cv_auc_std=float(cv.std()), trees=float(rounds))
    lr = baselines.logistic_regression(pipeline.transform(part["train"]), y["train"], spec.seed)
    metrics["baseline_auc"] = float(roc_auc_score(y["test"], lr.predict_proba(pipeline.transform(part["test"]))[:, 1]))
    if spec.time_ordered:
        metrics.update(drift_metrics(frame, spec, rounds, calibrator.method))
    scorer.metrics = {**metrics, "calibration_method": calibrator.method}

    contributions = scorer.contributions(part["test"]).drop(columns="bias").abs().mean()
    top = contributions.sort_values(ascending=False).head(spec.top_features)
    return TrainedModel(
        spec=spec,
        scorer=scorer,
        metrics=metrics,
        reliability={
            "calibrated": reliability_table(p_test, y["test"], spec.ece_bins),
            "uncalibrated": reliability_table(raw["test"], y["test"], spec.ece_bins),
        },
        top_features=top.rename("mean_abs_contribution").rename_axis("feature").reset_index(),
        data_hash=data_hash(frame[[spec.id_column, spec.label, *spec.features]]),
        rows={name: len(rows) for name, rows in part.items()},
        calibration_briers=briers,
        check_frame=part["test"][spec.features].reset_index(drop=True),
    )
