"""The simulator reads the published tabular models; a missing model is a clear error, never a fallback."""

from __future__ import annotations

import numpy as np
import pytest

from retention_assets.data import bank
from retention_assets.decision.config import BankMappingConfig
from retention_assets.decision.customers import bank_features
from retention_assets.decision.models import MissingModelError, load_model
from resources.storage.artifacts import ArtifactRef, ArtifactStore, CorruptArtifactError


def test_models_load_from_the_artifact_store(workspace):
    store = workspace.store()
    customers = workspace.table("telco_customers").head(200)
    risk = load_model(store, store.latest("risk_model"), "risk_model")
    accept = load_model(store, None, "accept_model")  # None: the latest published version
    p_risk = risk.predict_proba(customers)
    p_accept = accept.predict_proba(bank_features(customers, BankMappingConfig()))
    assert p_risk.shape == p_accept.shape == (200,)
    assert ((0 <= p_risk) & (p_risk <= 1)).all() and p_risk.std() > 0.05  # real, varied scores
    # Churners score higher than stayers: these are the trained model's scores.
    churn = customers["Churn"].to_numpy() == 1
    assert p_risk[churn].mean() > p_risk[~churn].mean()


def test_missing_model_is_a_clear_error(tmp_path):
    empty = ArtifactStore.at(str(tmp_path / "empty"))
    with pytest.raises(MissingModelError, match="risk_model: no published version.*materialize"):
        load_model(empty, None, "risk_model")


def test_unpublished_version_is_refused(workspace):
    store = workspace.store()
    bogus = ArtifactRef(name="accept_model", version="0" * 16, uri="nowhere")
    with pytest.raises(CorruptArtifactError, match="never published"):
        load_model(store, bogus, "accept_model")


def test_bank_mapping_is_explicit(workspace):
    customers = workspace.table("telco_customers").head(500)
    mapping = BankMappingConfig()
    frame = bank_features(customers, mapping)
    assert list(frame.columns) == bank.FEATURES
    senior = customers["SeniorCitizen"].to_numpy() == 1
    assert (frame["age"][senior] == mapping.senior_age).all() and (frame["job"][senior] == "retired").all()
    assert (frame["age"][~senior] == mapping.adult_age).all()
    married = customers["Partner"].to_numpy() == "Yes"
    assert np.array_equal(frame["marital"].to_numpy() == "married", married)
    assert (frame["pdays"] == 999).all() and (frame["poutcome"] == "nonexistent").all()
