"""The data assets on the offline mirror: row counts, typed tables, checks and seeded splits."""

from __future__ import annotations

import pandas as pd
import pytest

from retention_assets.data import bank, telco
from retention_assets.data.assets import assets as data_assets
from retention_assets.data.splits import SPLITS as SPLIT_NAMES
from retention_assets.settings import SplitConfig
from retention_assets_tests.data.workspace import (
    TABLES,
    DataWorkspace,
    check_results,
    failure_message,
    materialization_metadata,
)

# The public files' figures, from the mirror's README.md (and the issue for sft_pairs after filters).
PUBLIC_ROWS = {
    "telco_customers": 7032,
    "bank_contacts": 41188,
    "sft_pairs": 1185,
    "preference_pairs": 4666,
    "customer_splits": 7032,
    "contact_splits": 41188,
    "sft_splits": 1185,
    "preference_splits": 4666,
}


def test_public_row_counts_and_metadata(public_run):
    _, result = public_run
    meta = materialization_metadata(result)
    assert {asset: meta[asset]["dagster/row_count"] for asset in PUBLIC_ROWS} == PUBLIC_ROWS
    telco_meta = meta["telco_customers"]
    assert (telco_meta["raw_rows"], telco_meta["dropped_blank_total_charges"]) == (7043, 11)
    assert telco_meta["churn_rate"] == pytest.approx(0.2658, abs=5e-4)
    assert meta["sft_pairs"]["unfiltered_pairs"] == 1241
    assert meta["preference_pairs"]["pairs_per_source"] == {"hh-rlhf/helpful-base": 2354, "hh-rlhf/harmless-base": 2312}
    assert meta["bank_contacts"]["subscription_rate"] == pytest.approx(0.1127, abs=5e-4)
    for asset in TABLES:
        assert "| " in meta[asset]["preview"], f"{asset} has no preview table"
    assert meta["telco_customers"]["sha256"] == "88be4b93fbe0cc83421af1c503794c97c342eca914c1576db7c276e61d61358a"


def test_every_declared_check_ran_and_passed(public_run):
    _, result = public_run
    declared = {
        (spec.asset_key.to_user_string(), spec.name)
        for asset in data_assets
        if hasattr(asset, "check_specs")
        for spec in asset.check_specs
    }
    evaluated = check_results(result)
    assert set(evaluated) == declared
    assert [key for key, passed in evaluated.items() if not passed] == []
    assert ("bank_contacts", "no_duration_in_features") in evaluated
    assert ("sft_splits", "no_tree_crosses_splits") in evaluated


def test_tables_are_typed(public_run):
    ws, _ = public_run
    customers = ws.table("telco_customers")
    assert customers["Churn"].dtype == "int64" and set(customers["Churn"]) == {0, 1}
    assert customers["TotalCharges"].dtype == "float64" and customers["TotalCharges"].notna().all()
    assert customers["tenure"].dtype == "int64" and customers["tenure"].min() >= 1  # tenure 0 rows were the blanks
    assert customers[telco.ID].is_unique

    contacts = ws.table("bank_contacts")
    assert list(contacts.columns) == [bank.ID] + [c.name for c in bank.COLUMNS]
    assert set(contacts["y"]) == {0, 1} and contacts["age"].dtype == "int64"
    # `duration` leaks the label (UCI): kept in the raw table, never a model feature.
    assert "duration" in contacts.columns and "duration" not in bank.FEATURES

    sft = ws.table("sft_pairs")
    assert sft["pair_id"].is_unique and (sft["prompt"].str.len() > 0).all() and (sft["response"].str.len() > 0).all()
    ranked = sft.dropna(subset=["rank"])
    first = ranked.groupby("prompt_id", sort=False)["rank"].first()
    assert (first == ranked.groupby("prompt_id")["rank"].min().loc[first.index]).all(), "best-ranked reply not first"

    prefs = ws.table("preference_pairs")
    assert prefs["prompt"].str.endswith("Assistant:").all()
    assert (prefs["chosen"] != prefs["rejected"]).mean() > 0.99


def _joined(ws: DataWorkspace, table: str, splits: str, id_column: str) -> pd.DataFrame:
    assignment = ws.table(splits)
    frame = ws.table(table).merge(assignment, left_on=id_column, right_on="id", how="left", validate="one_to_one")
    assert frame["split"].notna().all(), f"{splits} leaves rows of {table} unassigned"
    return frame


def test_tabular_splits_are_stratified_with_the_configured_fractions(public_run):
    ws, _ = public_run
    fractions = SplitConfig().fractions()
    for table, splits, id_column, label in [
        ("telco_customers", "customer_splits", telco.ID, telco.LABEL),
        ("bank_contacts", "contact_splits", bank.ID, bank.LABEL),
    ]:
        frame = _joined(ws, table, splits, id_column)
        sizes = frame["split"].value_counts()
        for name in SPLIT_NAMES:
            # Each label class is cut separately, so each split is off by at most one row per class.
            assert abs(sizes[name] - fractions[name] * len(frame)) <= 2, (splits, name)
        rates = frame.groupby("split")[label].mean()
        assert (rates - frame[label].mean()).abs().max() < 0.002, f"{splits} is not stratified: {rates.to_dict()}"


def test_no_oasst1_tree_crosses_splits(public_run):
    ws, _ = public_run
    frame = _joined(ws, "sft_pairs", "sft_splits", "pair_id")
    assert frame.groupby("message_tree_id")["split"].nunique().max() == 1
    assert set(frame["split"]) == set(SPLIT_NAMES)
    prefs = _joined(ws, "preference_pairs", "preference_splits", "pair_id")
    assert prefs.groupby("split")["source"].nunique().min() == 2, "a preference split lacks a source"


def test_splits_are_deterministic_under_the_seed(public_run, tmp_path):
    ws, _ = public_run
    selection = ["telco_customers", "customer_splits", "sft_pairs", "sft_splits"]
    again = DataWorkspace(tmp_path / "same-seed")
    result = again.materialize(selection)
    assert result.success, failure_message(result)
    other = DataWorkspace(tmp_path / "other-seed")
    result = other.materialize(selection, {"splits": {"seed": 7}})
    assert result.success, failure_message(result)
    for splits in ["customer_splits", "sft_splits"]:
        pd.testing.assert_frame_equal(again.table(splits), ws.table(splits))
        moved = (other.table(splits)["split"] != ws.table(splits)["split"]).mean()
        assert moved > 0.3, f"seed 7 moved only {moved:.0%} of {splits}"


def test_splits_follow_configured_fractions(tmp_path, mirror):
    ws = DataWorkspace(tmp_path)
    fractions = {"train": 0.5, "validation": 0.2, "calibration": 0.0, "test": 0.3}
    result = ws.materialize(["telco_customers", "customer_splits"], {"splits": fractions})
    assert result.success, failure_message(result)
    sizes = ws.table("customer_splits")["split"].value_counts(normalize=True).to_dict()
    assert set(sizes) == {"train", "validation", "test"}
    assert sizes == pytest.approx({k: v for k, v in fractions.items() if v}, abs=1e-3)

