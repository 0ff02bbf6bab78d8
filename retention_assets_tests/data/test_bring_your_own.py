"""Bring your own data: the user's customer file at a local path or a gs:// URI, in the public schema."""

from __future__ import annotations

import io
import json
import zipfile

import pandas as pd
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from retention_assets.data import bank, preferences
from retention_assets_tests.data.workspace import check_results, failure_message, materialization_metadata

TELCO = "telco/WA_Fn-UseC_-Telco-Customer-Churn.csv"
# "Their customers": the first 900 rows of the IBM file, so the expectations must be configured.
OWN_ROWS = 900
OWN_EXPECTATIONS = {"telco_customers": {"min_rows": 500, "max_rows": 1000, "min_label_rate": 0.1, "max_label_rate": 0.5}}


def _own_customers(mirror) -> pd.DataFrame:
    return pd.read_csv(mirror / TELCO, dtype=str, keep_default_na=False).head(OWN_ROWS)


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def _upload(bucket: str, name: str, data: bytes) -> str:
    client = storage.Client(project="retention-test", credentials=AnonymousCredentials())
    client.bucket(bucket).blob(name).upload_from_string(data)
    return f"gs://{bucket}/{name}"


def _expected_rows(frame: pd.DataFrame) -> int:
    return int((frame["TotalCharges"].str.strip() != "").sum())


def test_own_customers_from_a_local_file(workspace, mirror):
    own = _own_customers(mirror)
    path = workspace.root / "our_customers.csv"
    path.write_bytes(_csv(own))
    result = workspace.materialize(
        ["telco_customers", "customer_splits"], {"telco_uri": str(path), "expectations": OWN_EXPECTATIONS}
    )
    assert result.success, failure_message(result)
    meta = materialization_metadata(result)["telco_customers"]
    assert meta["bring_your_own"] is True and meta["source"] == str(path)
    assert meta["dagster/row_count"] == _expected_rows(own)
    table = workspace.table("telco_customers")
    assert table["customerID"].tolist() == own.loc[own["TotalCharges"].str.strip() != "", "customerID"].tolist()
    assert workspace.table("customer_splits")["id"].is_unique
    assert all(check_results(result).values())


def test_a_failed_check_stores_nothing_and_keeps_the_last_good_tables(workspace, mirror):
    public = workspace.materialize(["telco_customers", "customer_splits"])
    assert public.success, failure_message(public)
    digests = {a: workspace.digest(a) for a in ("telco_customers", "customer_splits")}
    path = workspace.root / "our_customers.csv"
    path.write_bytes(_csv(_own_customers(mirror)))
    # The default expectations describe IBM's 7,032 customers, not 900 of ours.
    result = workspace.materialize(["telco_customers", "customer_splits"], {"telco_uri": str(path)})
    assert not result.success
    assert check_results(result) == {
        ("telco_customers", "schema"): True, ("telco_customers", "row_count"): False,
        ("telco_customers", "unique_ids"): True, ("telco_customers", "label_rate"): True,
    }  # fmt: skip
    message = failure_message(result)
    assert f"{path}: check(s) failed (row_count: rows={_expected_rows(_own_customers(mirror))}" in message
    assert "expected=[7000, 7100]" in message and "the last good materialization is kept" in message
    assert {a: workspace.digest(a) for a in digests} == digests, "a table failing its checks replaced the good one"


def test_own_customers_from_a_gcs_uri(workspace, mirror, gcs_bucket):
    own = _own_customers(mirror)
    uri = _upload(gcs_bucket, "exports/2026-11/customers.csv", _csv(own))
    result = workspace.materialize(["telco_customers"], {"telco_uri": uri, "expectations": OWN_EXPECTATIONS})
    assert result.success, failure_message(result)
    meta = materialization_metadata(result)["telco_customers"]
    assert meta["source"] == uri and meta["dagster/row_count"] == _expected_rows(own)


@pytest.mark.parametrize("where", ["local", "gcs"])
def test_a_schema_error_names_the_column_and_the_file(workspace, mirror, gcs_bucket, where):
    own = _own_customers(mirror).drop(columns=["Contract"])
    if where == "local":
        uri = str(workspace.root / "our_customers.csv")
        (workspace.root / "our_customers.csv").write_bytes(_csv(own))
    else:
        uri = _upload(gcs_bucket, "customers.csv", _csv(own))
    result = workspace.materialize(["telco_customers"], {"telco_uri": uri, "expectations": OWN_EXPECTATIONS})
    message = failure_message(result)
    assert uri in message and "missing column(s) ['Contract']" in message
    assert workspace.stored_files() == []


def test_an_unknown_category_names_the_column(workspace, mirror):
    own = _own_customers(mirror)
    own.loc[3, "PaymentMethod"] = "Crypto"
    path = workspace.root / "our_customers.csv"
    path.write_bytes(_csv(own))
    message = failure_message(workspace.materialize(["telco_customers"], {"telco_uri": str(path)}))
    assert str(path) in message and "column 'PaymentMethod' has unexpected value(s) ['Crypto']" in message


def test_a_missing_gcs_object_is_named(workspace, gcs_bucket):
    uri = f"gs://{gcs_bucket}/nowhere/customers.csv"
    message = failure_message(workspace.materialize(["telco_customers"], {"telco_uri": uri}))
    assert f"{uri}: file not found" in message


def test_a_uri_without_a_bucket_is_named(workspace):
    message = failure_message(workspace.materialize(["telco_customers"], {"telco_uri": "gs:///customers.csv"}))
    assert "gs:///customers.csv: cannot be read: not a gs:// URI with a bucket" in message


def test_own_bank_contacts_as_a_plain_csv(workspace, mirror):
    with zipfile.ZipFile(mirror / "bank_marketing/bank+marketing.zip") as outer:
        with zipfile.ZipFile(io.BytesIO(outer.read(bank.INNER_ZIP))) as inner:
            lines = inner.read(bank.MEMBER).splitlines(keepends=True)
    path = workspace.root / "contacts.csv"
    path.write_bytes(b"".join(lines[:2001]))  # header + 2,000 contacts
    expectations = {"bank_contacts": {"min_rows": 1000, "max_rows": 3000, "min_label_rate": 0.0, "max_label_rate": 0.2}}
    result = workspace.materialize(["bank_contacts"], {"bank_uri": str(path), "expectations": expectations})
    assert result.success, failure_message(result)
    assert len(workspace.table("bank_contacts")) == 2000


def _shp2_row(post_id: str, labels: int, score_ratio: float) -> dict:
    # SHP-2's real schema (stanfordnlp/SHP-2 dataset card); values invented for the fixture.
    return {
        "post_id": post_id, "domain": "askscience_train", "upvote_ratio": 0.97,
        "history": f"Why is the sky blue? ({post_id})", "c_root_id_A": f"a{post_id}", "c_root_id_B": f"b{post_id}",
        "created_at_utc_A": 1_600_000_000, "created_at_utc_B": 1_600_000_100, "score_A": 40, "score_B": 10,
        "human_ref_A": f"Rayleigh scattering. ({post_id})", "human_ref_B": f"Because of the ocean. ({post_id})",
        "labels": labels, "seconds_difference": 100.0, "score_ratio": score_ratio,
    }  # fmt: skip


def test_shp2_pairs_join_hh_rlhf_with_the_score_ratio_filter(workspace, mirror):
    rows = [_shp2_row("p1", 1, 4.0), _shp2_row("p2", 0, 2.0), _shp2_row("p3", 1, 1.5)]
    path = workspace.root / "shp2.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    result = workspace.materialize(["preference_pairs"], {"shp2_uri": str(path)})
    assert result.success, failure_message(result)
    table = workspace.table("preference_pairs")
    shp2 = table[table["source"] == "shp2/askscience_train"].set_index("prompt")
    assert len(table) == 4666 + 2 and list(table.columns) == preferences.COLUMNS
    # labels == 1: A preferred; labels == 0: B preferred; the 1.5 ratio falls under the SHP paper's 2.
    assert shp2.loc["Why is the sky blue? (p1)", "chosen"] == "Rayleigh scattering. (p1)"
    assert shp2.loc["Why is the sky blue? (p2)", "chosen"] == "Because of the ocean. (p2)"
    assert "1 dropped" in materialization_metadata(result)["preference_pairs"]["shp2"]


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [("score_ratio", "high", "row 2: column 'score_ratio' must be a number, got 'high'"),
     ("labels", 2, "row 2: column 'labels' must be 0 or 1, got 2")],
)  # fmt: skip
def test_a_bad_shp2_row_is_named(workspace, mirror, field, value, problem):
    rows = [_shp2_row("p1", 1, 4.0), {**_shp2_row("p2", 0, 2.0), field: value}]
    path = workspace.root / "shp2.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    message = failure_message(workspace.materialize(["preference_pairs"], {"shp2_uri": str(path)}))
    assert f"{path}: {problem}" in message
    assert workspace.stored_files() == []
