"""The data assets: the public (or your own) raw files, cleaned into typed tables and splits."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from retention_assets.data import bank, oasst1, preferences, telco
from retention_assets.data.checks import (
    split_check_results,
    split_check_specs,
    table_check_results,
    table_check_specs,
)
from retention_assets.data.sources import SOURCES, fetch, sha256_file
from retention_assets.data.splits import group_split, stratified_split
from retention_assets.data.errors import DataError
from retention_assets.settings import ExperimentResource
from resources.storage.object_store import read_uri

GROUP = "data"

RAW = {
    "telco_raw": ["telco"],
    "bank_raw": ["bank"],
    "oasst1_raw": ["oasst1"],
    "hh_rlhf_raw": ["hh_rlhf_helpful", "hh_rlhf_harmless"],
}

raw_specs = [
    dg.AssetSpec(
        key,
        group_name=GROUP,
        description="Pinned public source file(s): " + "; ".join(SOURCES[n].citation for n in names),
        metadata={n: dg.MetadataValue.url(SOURCES[n].url) for n in names},
        kinds={"file"},
    )
    for key, names in RAW.items()
] + [
    dg.AssetSpec(
        "shp2_raw",
        group_name=GROUP,
        description="Stanford SHP-2 preference pairs; read only when data.shp2_uri names a file.",
        kinds={"file"},
    )
]


def _read(experiment: ExperimentResource, source: str, uri: str | None) -> tuple[bytes, str, dict]:
    """The bytes of a pinned source, or of the user's own file when ``uri`` is set."""
    if uri:
        try:
            data = read_uri(uri)
        except FileNotFoundError as exc:
            raise DataError(uri, "file not found") from exc
        except Exception as exc:  # a bad URI, no access, the network: still name the file
            raise DataError(uri, f"cannot be read: {exc}") from exc
        return data, uri, {"source": dg.MetadataValue.path(uri), "bring_your_own": True}
    path = fetch(source, experiment.config.data.cache_dir)
    return path.read_bytes(), str(path), {
        "source": dg.MetadataValue.path(str(path)),
        "sha256": sha256_file(path),
        "canonical_url": dg.MetadataValue.url(SOURCES[source].url),
    }


def _stored_if_checks_pass(frame: pd.DataFrame, metadata: dict, checks: list[dg.AssetCheckResult], source: str):
    """The output and its check results; when a (blocking) check fails, only the results.

    Every check here is blocking. Checking before the output is stored means a failed check
    leaves the last good table in place, consistent with its downstream splits, instead of
    overwriting it with a table nothing downstream may use.
    """
    failed = {
        c.check_name: ", ".join(f"{key}={value.value}" for key, value in c.metadata.items())
        for c in checks
        if not c.passed
    }
    if failed:
        yield from checks
        raise dg.Failure(
            description=f"{source}: check(s) failed ({'; '.join(f'{k}: {v}' for k, v in failed.items())}), "
            "so the table was not stored; the last good materialization is kept"
        )
    yield dg.Output(frame, metadata=metadata)
    yield from checks


def _table_metadata(frame: pd.DataFrame, **extra) -> dict:
    return {
        "dagster/row_count": len(frame),
        "preview": dg.MetadataValue.md(frame.head(10).to_markdown(index=False)),
        **extra,
    }


@dg.asset(
    group_name=GROUP,
    deps=["telco_raw"],
    check_specs=table_check_specs("telco_customers", labelled=True),
    kinds={"pandas", "parquet"},
)
def telco_customers(experiment: ExperimentResource):
    """IBM Telco customers, typed, with ``Churn`` as 0/1; rows with a blank ``TotalCharges`` dropped."""
    config = experiment.config.data
    data, path, provenance = _read(experiment, "telco", config.telco_uri)
    frame, dropped = telco.parse_telco(data, path)
    metadata = _table_metadata(
        frame, raw_rows=len(frame) + dropped, dropped_blank_total_charges=dropped,
        churn_rate=float(frame[telco.LABEL].mean()), **provenance,
    )  # fmt: skip
    checks = table_check_results(
        frame, [c.name for c in telco.COLUMNS], telco.ID, config.expectation("telco_customers"), telco.LABEL
    )
    yield from _stored_if_checks_pass(frame, metadata, checks, path)


@dg.asset(
    group_name=GROUP,
    deps=["bank_raw"],
    check_specs=table_check_specs("bank_contacts", labelled=True)
    + [dg.AssetCheckSpec("no_duration_in_features", asset="bank_contacts", blocking=True)],
    kinds={"pandas", "parquet"},
)
def bank_contacts(experiment: ExperimentResource):
    """UCI bank marketing contacts in date order; ``duration`` kept here, never a model feature."""
    config = experiment.config.data
    data, path, provenance = _read(experiment, "bank", config.bank_uri)
    frame = bank.parse_bank(data, path)
    metadata = _table_metadata(
        frame, subscription_rate=float(frame[bank.LABEL].mean()),
        model_features=dg.MetadataValue.json(bank.FEATURES), **provenance,
    )  # fmt: skip
    leaked = [f for f in bank.FEATURES if any(leak in f for leak in bank.LEAKY)]
    checks = table_check_results(
        frame, [c.name for c in bank.COLUMNS], bank.ID, config.expectation("bank_contacts"), bank.LABEL
    ) + [
        dg.AssetCheckResult(
            check_name="no_duration_in_features", passed=not leaked, metadata={"leaky_features": str(leaked)}
        )
    ]
    yield from _stored_if_checks_pass(frame, metadata, checks, path)


@dg.asset(
    group_name=GROUP,
    deps=["oasst1_raw"],
    check_specs=table_check_specs("sft_pairs", labelled=False),
    kinds={"pandas", "parquet"},
)
def sft_pairs(experiment: ExperimentResource):
    """OASST1 prompt→response pairs: English, not deleted, review passed, best-ranked reply first."""
    config = experiment.config.data
    data, path, provenance = _read(experiment, "oasst1", config.oasst1_uri)
    frame = oasst1.parse_oasst1(data, path)
    metadata = _table_metadata(
        frame, unfiltered_pairs=oasst1.count_all_pairs(data, path),
        trees=int(frame["message_tree_id"].nunique()), **provenance,
    )  # fmt: skip
    checks = table_check_results(frame, list(frame.columns), "pair_id", config.expectation("sft_pairs"))
    yield from _stored_if_checks_pass(frame, metadata, checks, path)


@dg.asset(
    group_name=GROUP,
    deps=["hh_rlhf_raw", "shp2_raw"],
    check_specs=table_check_specs("preference_pairs", labelled=False),
    kinds={"pandas", "parquet"},
)
def preference_pairs(experiment: ExperimentResource):
    """HH-RLHF and (when configured) SHP-2 pairs in one table with a ``source`` column."""
    config = experiment.config.data
    if config.hh_rlhf_uris:
        inputs = [(None, uri) for uri in config.hh_rlhf_uris]
    else:
        inputs = [(name, None) for name in RAW["hh_rlhf_raw"]]
    frames, paths = [], []
    for name, uri in inputs:
        data, path, _ = _read(experiment, name, uri)
        paths.append(path)
        subset = path.rstrip("/").split("/")[-2]  # helpful-base, harmless-base, ...
        frames.append(preferences.parse_hh_rlhf(data, path, f"hh-rlhf/{subset}"))
    shp2_note = "not configured: SHP-2 is read only when data.shp2_uri names a file"
    if config.shp2_uri:
        data, path, _ = _read(experiment, "shp2", config.shp2_uri)
        paths.append(path)
        shp2, dropped = preferences.parse_shp2(data, path, config.shp2_min_score_ratio)
        frames.append(shp2)
        shp2_note = f"{len(shp2)} kept, {dropped} dropped by score_ratio < {config.shp2_min_score_ratio}"
    frame = pd.concat(frames, ignore_index=True)
    metadata = _table_metadata(
        frame, pairs_per_source=dg.MetadataValue.json(frame["source"].value_counts().to_dict()), shp2=shp2_note
    )
    checks = table_check_results(frame, preferences.COLUMNS, "pair_id", config.expectation("preference_pairs"))
    yield from _stored_if_checks_pass(frame, metadata, checks, ", ".join(paths))


def _split_output(assignment: pd.DataFrame, ids: pd.Series, source: str, extra_checks=()):
    counts = assignment["split"].value_counts().to_dict()
    metadata = {"dagster/row_count": len(assignment), "rows_per_split": dg.MetadataValue.json(counts)}
    checks = split_check_results(assignment, ids) + list(extra_checks)
    yield from _stored_if_checks_pass(assignment, metadata, checks, f"splits of {source}")


@dg.asset(group_name=GROUP, check_specs=split_check_specs("customer_splits"), kinds={"pandas", "parquet"})
def customer_splits(experiment: ExperimentResource, telco_customers: pd.DataFrame):
    """Seeded train/validation/calibration/test assignment of customers, stratified by churn."""
    splits = experiment.config.data.splits
    ids = telco_customers[telco.ID]
    assignment = stratified_split(ids, telco_customers[telco.LABEL], splits.fractions(), splits.seed)
    yield from _split_output(assignment, ids, "telco_customers")


@dg.asset(group_name=GROUP, check_specs=split_check_specs("contact_splits"), kinds={"pandas", "parquet"})
def contact_splits(experiment: ExperimentResource, bank_contacts: pd.DataFrame):
    """Seeded assignment of bank contacts, stratified by subscription."""
    splits = experiment.config.data.splits
    ids = bank_contacts[bank.ID]
    assignment = stratified_split(ids, bank_contacts[bank.LABEL], splits.fractions(), splits.seed)
    yield from _split_output(assignment, ids, "bank_contacts")


@dg.asset(
    group_name=GROUP,
    check_specs=split_check_specs("sft_splits") + [dg.AssetCheckSpec("no_tree_crosses_splits", asset="sft_splits", blocking=True)],
    kinds={"pandas", "parquet"},
)
def sft_splits(experiment: ExperimentResource, sft_pairs: pd.DataFrame):
    """Seeded assignment of SFT pairs by conversation tree: no tree crosses splits."""
    splits = experiment.config.data.splits
    ids = sft_pairs["pair_id"]
    assignment = group_split(ids, sft_pairs["message_tree_id"], splits.fractions(), splits.seed)
    trees = assignment.assign(tree=sft_pairs["message_tree_id"].to_numpy()).groupby("tree")["split"].nunique()
    crossing = int((trees > 1).sum())
    tree_check = dg.AssetCheckResult(
        check_name="no_tree_crosses_splits", passed=crossing == 0, metadata={"crossing_trees": crossing}
    )
    yield from _split_output(assignment, ids, "sft_pairs", [tree_check])


@dg.asset(group_name=GROUP, check_specs=split_check_specs("preference_splits"), kinds={"pandas", "parquet"})
def preference_splits(experiment: ExperimentResource, preference_pairs: pd.DataFrame):
    """Seeded assignment of preference pairs, stratified by source so each split has every source."""
    splits = experiment.config.data.splits
    ids = preference_pairs["pair_id"]
    assignment = stratified_split(ids, preference_pairs["source"], splits.fractions(), splits.seed)
    yield from _split_output(assignment, ids, "preference_pairs")


assets = [*raw_specs, telco_customers, bank_contacts, sft_pairs, preference_pairs,
          customer_splits, contact_splits, sft_splits, preference_splits]  # fmt: skip
