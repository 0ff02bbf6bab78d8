"""Fixtures for the decision tests: the real data and the real tabular models, published once.

The tabular assets are materialized into a temp storage root exactly as the code location does
it, so the simulator reads models from the artifact store through ``load_scorer``: real scores,
never synthetic ones.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
import yaml

from retention_assets.data.assets import assets as data_assets
from retention_assets.decision.assets import assets as decision_assets
from retention_assets.decision.assets import simulation_pool
from retention_assets.evaluation.assets import assets as evaluation_assets
from retention_assets.decision.config import DecisionConfig
from retention_assets.decision.customers import CustomerPool
from retention_assets.profiles import build_resources
from retention_assets.settings import load_config
from retention_assets.tabular.assets import assets as tabular_assets
from resources.storage.artifacts import ArtifactStore

INPUTS = ["telco_customers", "bank_contacts", "customer_splits", "contact_splits", "risk_model", "accept_model"]
# Small enough for CI: a few PPO iterations, small cohorts, two seeds, two scenarios.
TINY_DECISION = {
    "ppo": {"num_customers": 128, "iterations": 4},
    "baselines": {"logged_episodes": 1},
    "evaluation": {"cohort_size": 256, "seeds": [1, 2],
                   "stress": {"nominal": [1.0, 1.0, 0.0], "budget_-50%": [0.5, 1.0, 0.0]}},
}  # fmt: skip


# Faster tabular training than the tuned defaults (same quality gates), to keep CI short.
FAST_TABULAR = {
    "cv_folds": 2,
    "risk": {"xgboost": {"n_estimators": 300, "learning_rate": 0.1, "max_depth": 3, "early_stopping_rounds": 20},
             "gate": {"min_auc": 0.78, "max_ece": 0.05}},
    "accept": {"xgboost": {"n_estimators": 300, "learning_rate": 0.1, "max_depth": 4, "early_stopping_rounds": 20},
               "gate": {"min_auc": 0.70, "max_ece": 0.05}},
}  # fmt: skip


class DecisionWorkspace:
    def __init__(self, root: Path):
        self.root = root
        self.storage = root / "storage"
        self._configs = itertools.count()

    def config_path(self, decision_section: dict | None = None) -> Path:
        path = self.root / f"experiment-{next(self._configs)}.yaml"  # ExperimentResource caches by path
        body = {"name": "test", "data": {"cache_dir": str(self.root / "cache")}, "storage": {"root": str(self.storage)},
                "tabular": FAST_TABULAR}  # fmt: skip
        if decision_section:
            body["decision"] = decision_section
        path.write_text(yaml.safe_dump(body))
        return path

    def materialize(self, selection: list[str], decision_section: dict | None = None) -> dg.ExecuteInProcessResult:
        path = self.config_path(decision_section)
        everything = [*data_assets, *tabular_assets, *decision_assets, *evaluation_assets]
        return dg.materialize(everything, selection=selection, resources=build_resources(load_config(path), str(path)),
                              raise_on_error=False)  # fmt: skip

    def store(self) -> ArtifactStore:
        return ArtifactStore.at(str(self.storage), self.root / "cache")

    def table(self, name: str):
        import pandas as pd

        return pd.read_parquet(self.storage / "tables" / f"{name}.parquet")


@pytest.fixture(scope="session")
def workspace(tmp_path_factory, mirror) -> DecisionWorkspace:
    """Data and both tabular models materialized and published once."""
    ws = DecisionWorkspace(tmp_path_factory.mktemp("decision"))
    result = ws.materialize(INPUTS)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return ws


@pytest.fixture(scope="session")
def config() -> DecisionConfig:
    return DecisionConfig()


@pytest.fixture(scope="session")
def pool(workspace, config) -> CustomerPool:
    """Held-out telco customers scored by the published risk and accept models."""
    return simulation_pool(config, workspace.store(), workspace.table("telco_customers"),
                           workspace.table("customer_splits"), None, None)  # fmt: skip


def hand_pool(charges=(50.0,), risk=(0.0,), acceptance=(1.0,)) -> CustomerPool:
    """A hand-built pool for exact dynamics tests: risk 0 never churns, acceptance 1 always accepts."""
    n = len(charges)
    return CustomerPool(customer_ids=np.array([f"c{i}" for i in range(n)]), monthly_charges=np.array(charges, float),
                        risk=np.array(risk, float), acceptance=np.array(acceptance, float),
                        segment=np.zeros(n, dtype=np.int64), segment_names=("all",))  # fmt: skip
