"""Fixtures for the decision tests: the real customers and real-data models behind the Scorer interface.

Until the tabular domain's ``load_scorer`` is used (see test_models.py), the simulator tests fit
small logistic regressions on the mirrored telco and bank data: real scores, never synthetic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from retention_assets.data import bank, telco
from retention_assets.data.sources import fetch
from retention_assets.decision.config import DecisionConfig
from retention_assets.decision.customers import build_pool


class LogisticScorer:
    """P(positive) from a one-hot + standardised logistic regression on the given columns."""

    def __init__(self, frame: pd.DataFrame, categorical: list[str], numeric: list[str], label: str):
        self.columns = categorical + numeric
        encode = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
                                    ("num", StandardScaler(), numeric)])  # fmt: skip
        self.model = make_pipeline(encode, LogisticRegression(max_iter=500)).fit(frame[self.columns], frame[label])

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return self.model.predict_proba(frame[self.columns])[:, 1]


@pytest.fixture(scope="session")
def customers(mirror) -> pd.DataFrame:
    path = fetch("telco", "/nonexistent-cache")
    frame, _ = telco.parse_telco(path.read_bytes(), str(path))
    return frame


@pytest.fixture(scope="session")
def contacts(mirror) -> pd.DataFrame:
    path = fetch("bank", "/nonexistent-cache")
    return bank.parse_bank(path.read_bytes(), str(path))


@pytest.fixture(scope="session")
def risk_scorer(customers) -> LogisticScorer:
    return LogisticScorer(customers, telco.CATEGORICAL, telco.NUMERIC, telco.LABEL)


@pytest.fixture(scope="session")
def accept_scorer(contacts) -> LogisticScorer:
    return LogisticScorer(contacts, bank.CATEGORICAL, bank.NUMERIC, bank.LABEL)


@pytest.fixture(scope="session")
def config() -> DecisionConfig:
    return DecisionConfig()


@pytest.fixture(scope="session")
def pool(customers, risk_scorer, accept_scorer, config):
    return build_pool(customers, risk_scorer, accept_scorer, config.bank_mapping, config.baselines)
