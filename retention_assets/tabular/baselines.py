"""Peers measured in the same run: logistic regression, and XGBoost with default parameters."""

from __future__ import annotations

import numpy as np
import xgboost as xgb
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def logistic_regression(x_train: np.ndarray, y_train: np.ndarray, seed: int = 0):
    """Standardised one-hot + numeric features, L2 logistic regression (sklearn defaults, C=1).

    NaN numerics (XGBoost's "missing") are not expected in these datasets; the scaler would
    refuse them, which is the honest outcome for a baseline.
    """
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000, random_state=seed))
    return model.fit(x_train, y_train)


def default_xgboost(x_train: np.ndarray, y_train: np.ndarray, seed: int = 0, threads: int = 0) -> xgb.XGBClassifier:
    """XGBoost as it comes (100 trees, depth 6, eta 0.3), no early stopping."""
    return xgb.XGBClassifier(random_state=seed, n_jobs=threads or None).fit(x_train, y_train)
