"""Both models trained on the mirrored data through Dagster: gates, metrics, artifacts."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from retention_assets.data import bank, telco
from retention_assets.settings import load_config
from retention_assets.tabular.scorer import load_scorer
from resources.storage.artifacts import ArtifactRef, ArtifactStore
from retention_assets_tests.data.workspace import check_results, materialization_metadata

METRIC_KEYS = {"auc", "pr_auc", "brier", "log_loss", "ece", "cv_auc_mean", "cv_auc_std", "baseline_auc"}


def _ref(ws, name: str) -> ArtifactRef:
    return ArtifactRef.from_dict(json.loads((ws.storage / "tables" / f"{name}.json").read_text()))


def test_models_clear_the_configured_floors(trained):
    ws, result = trained
    checks = check_results(result)
    for key in [("risk_model", "auc_floor"), ("risk_model", "ece_ceiling"), ("accept_model", "auc_floor"),
                ("accept_model", "ece_ceiling"), ("accept_model", "no_duration_features")]:  # fmt: skip
        assert checks[key] is True, key
    meta = materialization_metadata(result)
    tabular = load_config(ws.config_path()).tabular
    for name, section in (("risk_model", tabular.risk), ("accept_model", tabular.accept)):
        m = meta[name]
        assert METRIC_KEYS <= set(m), sorted(METRIC_KEYS - set(m))
        assert m["auc"] >= section.gate.min_auc and m["ece"] <= section.gate.max_ece, (name, m["auc"], m["ece"])
        assert 0 < m["cv_auc_std"] < 0.05 and m["calibration_method"] in ("platt", "isotonic")
    # Near the published anchors (issue 3), not just the floors: Telco CV AUC ~0.85, bank ~0.80.
    assert meta["risk_model"]["cv_auc_mean"] > 0.84
    assert meta["accept_model"]["cv_auc_mean"] > 0.79
    # Drift under time order is reported for the bank model (it is worse: that is the point).
    assert meta["accept_model"]["drift_auc"] < meta["accept_model"]["auc"]


def test_reliability_diagram_and_top_features_are_in_metadata(trained):
    _, result = trained
    meta = materialization_metadata(result)["risk_model"]
    match = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)\)", meta["reliability_diagram"])
    assert match and base64.b64decode(match.group(1)).startswith(b"\x89PNG\r\n\x1a\n")
    assert "Contract" in meta["top_features"]  # the strongest churn driver in Telco


def test_published_artifact_reproduces_the_recorded_test_metrics(trained):
    ws, result = trained
    store = ArtifactStore.at(str(ws.storage))
    meta = materialization_metadata(result)
    for name, table, splits, id_col, label in (
        ("risk_model", "telco_customers", "customer_splits", telco.ID, telco.LABEL),
        ("accept_model", "bank_contacts", "contact_splits", bank.ID, bank.LABEL),
    ):
        frame = pd.read_parquet(ws.storage / "tables" / f"{table}.parquet")
        split = pd.read_parquet(ws.storage / "tables" / f"{splits}.parquet").set_index("id")["split"]
        test = frame[frame[id_col].map(split) == "test"]
        scorer = load_scorer(store, _ref(ws, name))
        p = scorer.predict_proba(test)
        assert p.shape == (len(test),) and np.all((p >= 0) & (p <= 1))
        assert roc_auc_score(test[label], p) == meta[name]["auc"]
        assert np.mean((p - test[label]) ** 2) == meta[name]["brier"]


def test_artifact_holds_no_pickle_and_a_model_card(trained):
    ws, result = trained
    store = ArtifactStore.at(str(ws.storage))
    directory = store.fetch(_ref(ws, "accept_model"))
    files = sorted(p.name for p in directory.iterdir())
    assert {"model.ubj", "pipeline.json", "calibrator.json", "metrics.json", "MODEL_CARD.md", "reliability.png"} <= set(files)
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".joblib"))]
    card = (directory / "MODEL_CARD.md").read_text()
    data_hash = materialization_metadata(result)["accept_model"]["data_hash"]
    assert data_hash in card and "duration" in card and "Calibration" in card
    pipeline = json.loads((directory / "pipeline.json").read_text())
    assert not [c for c in [*pipeline["categorical"], *pipeline["numeric"]] if "duration" in c]
    calibrator = json.loads((directory / "calibrator.json").read_text())
    assert calibrator["method"] in ("platt", "isotonic")


def test_a_model_below_its_floor_is_not_published(trained):
    ws, _ = trained
    store = ArtifactStore.at(str(ws.storage))
    before = store.latest("risk_model")
    ref_before = _ref(ws, "risk_model")
    # An unreachable floor: the blocking check fails, nothing is published, the last good model stays.
    result = ws.materialize(["risk_model"], {"risk": {"gate": {"min_auc": 0.99, "max_ece": 0.05}}})
    assert not result.success
    assert check_results(result)[("risk_model", "auc_floor")] is False
    assert not result.get_asset_materialization_events()
    assert store.latest("risk_model") == before
    assert _ref(ws, "risk_model") == ref_before
    versions = [p.name for p in (ws.storage / "artifacts" / "risk_model").iterdir() if p.is_dir()]
    assert versions == [before.version]
