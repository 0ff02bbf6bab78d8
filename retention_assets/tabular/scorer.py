"""Loading a published tabular model and scoring customers with it.

An artifact directory holds:
- ``model.ubj``: the XGBoost booster in XGBoost's own UBJSON format (no pickle);
- ``pipeline.json``: the feature pipeline (see :mod:`retention_assets.tabular.features`);
- ``calibrator.json``: Platt coefficients or isotonic thresholds;
- ``metrics.json`` and ``MODEL_CARD.md``: what was measured, for people and for audits.

``Scorer.predict_proba`` returns *calibrated* probabilities: the decision policy multiplies
them, so they must mean what they say.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

from retention_assets.tabular.calibration import Calibrator
from retention_assets.tabular.features import FeaturePipeline, ScoringInputError
from resources.storage.artifacts import ArtifactRef, ArtifactStore

MODEL_FILE = "model.ubj"
METRICS_FILE = "metrics.json"

__all__ = ["Scorer", "ScoringInputError", "load_scorer", "MODEL_FILE", "METRICS_FILE"]


class Scorer:
    def __init__(
        self, pipeline: FeaturePipeline, booster: xgb.Booster, calibrator: Calibrator, metrics: dict | None = None
    ):
        self.pipeline = pipeline
        self.booster = booster
        self.calibrator = calibrator
        self.metrics = metrics or {}

    @property
    def features(self) -> list[str]:
        """The raw input columns a scoring frame must hold (extra columns are ignored)."""
        return self.pipeline.inputs

    def raw_proba(self, df: pd.DataFrame) -> np.ndarray:
        """Uncalibrated XGBoost probabilities."""
        return self.booster.inplace_predict(self.pipeline.transform(df)).astype(np.float64)

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        """Calibrated P(positive) for each row of ``df``, shape ``(len(df),)``."""
        if len(df) == 0:
            _ = self.pipeline.transform(df)  # still name missing columns
            return np.zeros(0)
        return self.calibrator(self.raw_proba(df))

    def contributions(self, df: pd.DataFrame) -> pd.DataFrame:
        """Per-feature contributions (XGBoost ``pred_contribs``, in log-odds before calibration).

        One-hot columns are summed back into their raw feature, so there is one column per
        input feature plus ``bias``; each row sums to the model's raw margin.
        """
        matrix = self.pipeline.transform(df)
        contribs = self.booster.predict(xgb.DMatrix(matrix, feature_names=self.pipeline.columns), pred_contribs=True)
        sources = self.pipeline.source_of()
        per_column = pd.DataFrame(contribs[:, :-1], columns=sources, index=df.index)
        grouped = per_column.T.groupby(level=0, sort=False).sum().T
        grouped = grouped[self.pipeline.inputs]
        grouped["bias"] = contribs[:, -1]
        return grouped

    # -- storage ---------------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(directory / MODEL_FILE)
        self.pipeline.save(directory)
        self.calibrator.save(directory)
        (directory / METRICS_FILE).write_text(json.dumps(self.metrics, indent=2, sort_keys=True))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "Scorer":
        directory = Path(directory)
        missing = [f for f in (MODEL_FILE, "pipeline.json", "calibrator.json") if not (directory / f).is_file()]
        if missing:
            raise FileNotFoundError(f"model directory {directory} is missing {missing}")
        booster = xgb.Booster()
        booster.load_model(directory / MODEL_FILE)
        metrics_path = directory / METRICS_FILE
        metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
        return cls(FeaturePipeline.load(directory), booster, Calibrator.load(directory), metrics)


def load_scorer(store: ArtifactStore, ref: ArtifactRef) -> Scorer:
    """The scorer of a published artifact, read from its verified (manifest-checked) files."""
    return Scorer.load(store.fetch(ref))
