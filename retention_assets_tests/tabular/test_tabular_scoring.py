"""The scorer other domains code against: round trip, explanations and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retention_assets.data import bank, telco
from retention_assets.data.sources import fetch
from retention_assets.data.splits import stratified_split
from retention_assets.tabular.scorer import ScoringInputError, load_scorer
from retention_assets.tabular.train import train_model
from retention_assets.tabular.config import TabularConfig
from retention_assets.tabular.features import FeaturePipeline
from retention_assets.tabular.metrics import expected_calibration_error
from retention_assets.tabular.scorer import Scorer
from retention_assets.tabular.specs import accept_spec, risk_spec
from retention_assets.tabular.train import TrainingDataError
from resources.storage.artifacts import ArtifactStore

FRACTIONS = {"train": 0.6, "validation": 0.1, "calibration": 0.1, "test": 0.2}


@pytest.fixture(scope="module")
def customers(mirror, tmp_path_factory) -> pd.DataFrame:
    frame, _ = telco.parse_telco(fetch("telco", tmp_path_factory.mktemp("cache")).read_bytes(), "telco")
    return frame


@pytest.fixture(scope="module")
def risk(customers):
    splits = stratified_split(customers[telco.ID], customers[telco.LABEL], FRACTIONS, seed=42)
    return train_model(customers, splits, risk_spec(TabularConfig())), splits


def test_published_scorer_predicts_identically(risk, customers, tmp_path):
    model, _ = risk
    store = ArtifactStore.at(str(tmp_path / "store"))
    ref = store.publish("risk_model", model.save(tmp_path / "model"))
    reloaded = load_scorer(store, ref)
    assert reloaded.features == telco.FEATURES
    np.testing.assert_array_equal(reloaded.predict_proba(customers), model.scorer.predict_proba(customers))
    pd.testing.assert_frame_equal(reloaded.contributions(customers.head(50)), model.scorer.contributions(customers.head(50)))


def test_scorer_loads_from_a_bucket(risk, customers, gcs_bucket, tmp_path):
    # The gcp profile's path: publish to gs:// (the emulator on loopback), fetch into a cache, score.
    model, _ = risk
    store = ArtifactStore.at(f"gs://{gcs_bucket}/exp", cache_dir=tmp_path / "cache")
    ref = store.publish("risk_model", model.save(tmp_path / "model"))
    assert ref.uri.startswith(f"gs://{gcs_bucket}/exp/artifacts/risk_model/")
    np.testing.assert_array_equal(load_scorer(store, ref).predict_proba(customers), model.scorer.predict_proba(customers))


def test_contributions_add_up_to_the_margin(risk, customers):
    scorer = risk[0].scorer
    batch = customers.head(200)
    contributions = scorer.contributions(batch)
    assert list(contributions.columns) == telco.FEATURES + ["bias"]
    raw = scorer.raw_proba(batch)
    np.testing.assert_allclose(contributions.sum(axis=1), np.log(raw / (1 - raw)), atol=1e-4)


def test_missing_columns_are_named(risk, customers):
    scorer = risk[0].scorer
    with pytest.raises(ScoringInputError, match=r"missing column\(s\) \['Contract', 'tenure'\]"):
        scorer.predict_proba(customers.drop(columns=["Contract", "tenure"]))
    with pytest.raises(ScoringInputError, match="missing column"):
        scorer.predict_proba(customers.drop(columns=["Contract"]).head(0))


def test_non_numeric_values_are_named(risk, customers):
    bad = customers.head(5).astype({"MonthlyCharges": object})
    bad.loc[bad.index[2], "MonthlyCharges"] = "twenty"
    with pytest.raises(ScoringInputError, match="'MonthlyCharges' must be numeric"):
        risk[0].scorer.predict_proba(bad)


def test_unseen_categories_score_as_no_known_level(risk, customers):
    scorer = risk[0].scorer
    row = customers.head(1)
    unseen = row.assign(Contract="Three year")
    missing = row.assign(Contract=None)
    # Documented behaviour ("zero"): no Contract level is active; a missing value is the same.
    matrix = scorer.pipeline.transform(row)
    columns = [i for i, c in enumerate(scorer.pipeline.columns) if c.startswith("Contract=")]
    matrix[:, columns] = 0
    expected = scorer.calibrator(scorer.booster.inplace_predict(matrix))
    np.testing.assert_array_equal(scorer.predict_proba(unseen), expected)
    np.testing.assert_array_equal(scorer.predict_proba(missing), expected)
    assert scorer.pipeline.unseen_counts(pd.concat([row, unseen]))["Contract"] == 1
    strict = Scorer(FeaturePipeline.from_json({**scorer.pipeline.to_json(), "unseen": "error"}),
                    scorer.booster, scorer.calibrator)  # fmt: skip
    with pytest.raises(ScoringInputError, match=r"'Contract' has values unseen in training: \['Three year'\]"):
        strict.predict_proba(unseen)


def test_category_dtype_input_scores_like_strings(risk, customers):
    scorer = risk[0].scorer
    as_category = customers.head(300).astype({c: "category" for c in telco.CATEGORICAL})
    np.testing.assert_array_equal(scorer.predict_proba(as_category), scorer.predict_proba(customers.head(300)))


def test_training_refuses_duration_and_unsplit_rows(risk, customers):
    _, splits = risk
    leaky = accept_spec(TabularConfig())
    leaky = type(leaky)(**{**leaky.__dict__, "numeric": [*leaky.numeric, "duration"]})
    with pytest.raises(TrainingDataError, match=r"\['duration'\] are derived from a forbidden column"):
        train_model(pd.DataFrame(columns=[bank.ID, bank.LABEL, *leaky.features]), splits, leaky)
    with pytest.raises(TrainingDataError, match="3 row"):
        train_model(customers, splits.iloc[3:], risk_spec(TabularConfig()))
    with pytest.raises(TrainingDataError, match=r"missing column\(s\) \['Churn'\]"):
        train_model(customers.drop(columns=[telco.LABEL]), splits, risk_spec(TabularConfig()))


def test_expected_calibration_error_by_hand():
    p = np.array([0.05, 0.05, 0.95, 0.95, 0.5, 0.5])
    y = np.array([0, 0, 1, 0, 1, 1])
    # bins (15 wide): {0.05,0.05}->obs 0, gap .05; {.95,.95}->obs .5, gap .45; {.5,.5}->obs 1, gap .5
    assert expected_calibration_error(p, y, 15) == pytest.approx((2 * 0.05 + 2 * 0.45 + 2 * 0.5) / 6)
