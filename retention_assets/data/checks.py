"""Quality checks shared by the data assets, emitted by the assets themselves.

Each table asset declares the same blocking checks (schema, row count, label rate, unique ids)
through ``table_check_specs`` and yields their results from ``table_check_results``, so the
table is checked where it is built instead of being reloaded once per check.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd

from retention_assets.settings import TableExpectation


def table_check_specs(asset: str, labelled: bool) -> list[dg.AssetCheckSpec]:
    names = ["schema", "row_count", "unique_ids"] + (["label_rate"] if labelled else [])
    return [dg.AssetCheckSpec(name, asset=asset, blocking=True) for name in names]


def table_check_results(
    frame: pd.DataFrame,
    columns: list[str],
    id_column: str,
    expectation: TableExpectation,
    label: str | None = None,
) -> list[dg.AssetCheckResult]:
    missing = [c for c in columns if c not in frame.columns]
    n = len(frame)
    duplicates = int(frame[id_column].duplicated().sum())
    results = [
        dg.AssetCheckResult(check_name="schema", passed=not missing, metadata={"missing_columns": str(missing)}),
        dg.AssetCheckResult(
            check_name="row_count",
            passed=expectation.min_rows <= n <= expectation.max_rows,
            metadata={"rows": n, "expected": f"[{expectation.min_rows}, {expectation.max_rows}]"},
        ),
        dg.AssetCheckResult(check_name="unique_ids", passed=duplicates == 0, metadata={"duplicate_ids": duplicates}),
    ]
    if label is not None:
        rate = float(frame[label].mean())
        low, high = expectation.min_label_rate or 0.0, expectation.max_label_rate or 1.0
        results.append(
            dg.AssetCheckResult(
                check_name="label_rate",
                passed=low <= rate <= high,
                metadata={"label_rate": rate, "expected": f"[{low}, {high}]"},
            )
        )
    return results


def split_check_specs(asset: str) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec("no_id_overlap", asset=asset, blocking=True),
        dg.AssetCheckSpec("covers_every_row", asset=asset, blocking=True),
    ]


def split_check_results(assignment: pd.DataFrame, ids: pd.Series) -> list[dg.AssetCheckResult]:
    overlap = int(assignment.groupby("id")["split"].nunique().gt(1).sum())
    uncovered = int((~ids.isin(assignment["id"])).sum())
    return [
        dg.AssetCheckResult(check_name="no_id_overlap", passed=overlap == 0, metadata={"ids_in_several_splits": overlap}),
        dg.AssetCheckResult(check_name="covers_every_row", passed=uncovered == 0, metadata={"unassigned_ids": uncovered}),
    ]
