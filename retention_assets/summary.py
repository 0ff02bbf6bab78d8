"""Print where the last materializations put their results (run by ``./dev.sh run``)."""

from __future__ import annotations

import dagster as dg

from retention_assets.definitions import defs


def main() -> None:
    instance = dg.DagsterInstance.get()
    graph = defs.get_repository_def().asset_graph
    print(f"\nDagster instance: {instance.root_directory}")
    for key in sorted(graph.materializable_asset_keys, key=lambda k: k.to_user_string()):
        event = instance.get_latest_materialization_event(key)
        if event is None:
            print(f"  {key.to_user_string():24s} not materialized")
            continue
        metadata = event.asset_materialization.metadata
        rows = metadata.get("dagster/row_count")
        # A model's artifact directory, else the stored table or JSON value.
        where = metadata.get("artifact_uri") or metadata.get("checkpoint") or metadata.get("uri")
        details = f"{rows.value} rows" if rows is not None else ""
        print(f"  {key.to_user_string():24s} {details:>12s}  {where.value if where else ''}")
    print("Browse the lineage with: ./dev.sh ui")


if __name__ == "__main__":
    main()
