"""The table IO manager through Dagster, on local disk and on the GCS emulator: Parquet and JSON,
never pickle, and the artifact store resource handing an ArtifactRef from one asset to the next."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from resources.storage.artifacts import ArtifactRef
from resources.storage.io_managers import ArtifactStoreResource, TableIOManager

CUSTOMERS = pd.DataFrame(
    {
        "customerID": ["7590-VHVEG", "5575-GNVDE", "3668-QPYBK"],
        "tenure": np.array([1, 34, 2], dtype="int64"),
        "TotalCharges": [29.85, 1889.5, 108.15],
        "score": pd.array([1, None, 3], dtype="Int64"),
        "churn": [False, False, True],
        "seen_at": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"], utc=True),
    }
)


@dg.asset
def customers() -> pd.DataFrame:
    return CUSTOMERS


@dg.asset
def churn_summary(customers: pd.DataFrame) -> dict:
    return {"rows": len(customers), "churn_rate": float(customers["churn"].mean()), "ids": list(customers["customerID"])}


@dg.asset
def scorer(artifact_store: ArtifactStoreResource) -> ArtifactRef:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "weights.json").write_text(json.dumps({"tenure": -0.05, "bias": 0.3}))
        return artifact_store.get().publish("scorer", tmp, validate=lambda d: json.loads((d / "weights.json").read_text()))


@dg.asset
def scorer_report(scorer: ArtifactRef, artifact_store: ArtifactStoreResource) -> dict:
    weights = json.loads((artifact_store.get().fetch(scorer) / "weights.json").read_text())
    return {"version": scorer.version, "weights": weights}


class Fitted:
    """What an asset might return by mistake: an object only pickle could store."""


@dg.asset
def fitted_model():
    return Fitted()


@dg.asset
def feature_set():
    return {"features": {"tenure", "churn"}}  # a set: not JSON


ASSETS = [customers, churn_summary, scorer, scorer_report, fitted_model, feature_set]


def _materialize(root: str, tmp_path: Path, selection: list[str]) -> dg.ExecuteInProcessResult:
    resources = {
        "io_manager": TableIOManager(root=root),
        "artifact_store": ArtifactStoreResource(root=root, cache_dir=str(tmp_path / "cache")),
    }
    return dg.materialize(ASSETS, selection=selection, resources=resources, raise_on_error=False)


def _error(result: dg.ExecuteInProcessResult) -> str:
    parts, error = [], result.get_step_failure_events()[0].step_failure_data.error
    while error is not None:
        parts.append(error.message)
        error = error.cause
    return "\n".join(parts)


def test_dataframes_round_trip_as_parquet_and_dicts_as_json(root, raw, tmp_path):
    result = _materialize(root, tmp_path, ["customers", "churn_summary"])
    assert result.success, _error(result)
    stored = raw.read("tables/customers.parquet")
    assert stored[:4] == b"PAR1" and stored[-4:] == b"PAR1"
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(stored)), CUSTOMERS)
    # The downstream asset read the table back through the IO manager.
    assert json.loads(raw.read("tables/churn_summary.json")) == {
        "rows": 3, "churn_rate": pytest.approx(1 / 3), "ids": list(CUSTOMERS["customerID"]),
    }  # fmt: skip
    uri = result.get_asset_materialization_events()[0].materialization.metadata["uri"].value
    assert uri == f"{root.rstrip('/')}/tables/customers.parquet"


def test_an_artifact_ref_round_trips_as_json(root, raw, tmp_path):
    result = _materialize(root, tmp_path, ["scorer", "scorer_report"])
    assert result.success, _error(result)
    ref = json.loads(raw.read("tables/scorer.json"))
    assert set(ref) == {"name", "version", "uri"} and ref["name"] == "scorer"
    report = json.loads(raw.read("tables/scorer_report.json"))
    assert report == {"version": ref["version"], "weights": {"tenure": -0.05, "bias": 0.3}}
    assert f"artifacts/scorer/{ref['version']}/MANIFEST.json" in raw.keys()


@pytest.mark.parametrize(
    ("asset", "problem"),
    [("fitted_model", "cannot store a Fitted"), ("feature_set", "Object of type set is not JSON serializable")],
)
def test_values_json_cannot_hold_are_refused_not_pickled(root, raw, tmp_path, asset, problem):
    result = _materialize(root, tmp_path, [asset])
    assert not result.success
    message = _error(result)
    assert f"asset {asset}: " in message and problem in message and "never pickle" in message
    assert not [key for key in raw.keys() if asset in key], "a refused value was written"


def test_reading_an_unmaterialized_asset_names_it(root, tmp_path):
    result = _materialize(root, tmp_path, ["churn_summary"])
    assert "no stored value for asset customers" in _error(result) and "materialize it first" in _error(result)


def test_a_rewrite_replaces_the_table_whole(root, raw, tmp_path):
    assert _materialize(root, tmp_path, ["customers"]).success
    first = raw.read("tables/customers.parquet")
    assert _materialize(root, tmp_path, ["customers"]).success
    assert raw.read("tables/customers.parquet") == first
    assert raw.keys() == ["tables/customers.parquet"], "temp files of the atomic write were left behind"


@dg.asset(name="report")
def report_as_table() -> pd.DataFrame:
    return pd.DataFrame({"metric": ["auc"], "value": [0.84]})


@dg.asset(name="report")
def report_as_json() -> dict:
    return {"auc": 0.84}


@dg.asset
def report_reader(report) -> dict:
    return {"kind": type(report).__name__}


def test_an_asset_that_changes_kind_is_read_back_in_its_new_form(root, raw, tmp_path):
    resources = {"io_manager": TableIOManager(root=root)}
    assert dg.materialize([report_as_table], resources=resources).success
    result = dg.materialize([report_as_json, report_reader], resources=resources)
    assert result.success and raw.keys() == ["tables/report.json", "tables/report_reader.json"]
    assert json.loads(raw.read("tables/report_reader.json")) == {"kind": "dict"}
