"""The whole code location loads, so broken wiring fails fast."""

import dagster as dg

from retention_assets.definitions import defs


def test_definitions_load_and_resolve_every_asset():
    repo = defs.get_repository_def()
    keys = {key.to_user_string() for key in repo.asset_graph.get_all_asset_keys()}
    assert {"telco_customers", "bank_contacts", "sft_pairs", "preference_pairs"} <= keys
    assert defs.resolve_job_def("retention_pipeline") is not None


def test_data_assets_are_grouped_by_domain():
    graph = defs.get_repository_def().asset_graph
    assert graph.get(dg.AssetKey("telco_customers")).group_name == "data"
