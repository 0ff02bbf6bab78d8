"""The one entry point Dagster loads: every domain's assets, checks, jobs, schedules and sensors,
with the resources of the profile named by the experiment config."""

from __future__ import annotations

import dagster as dg

from retention_assets import automation, data, decision, evaluation, llm, tabular
from retention_assets.jobs import jobs
from retention_assets.profiles import build_resources
from retention_assets.settings import load_config

DOMAINS = [data, tabular, llm, decision, evaluation, automation]


def build_definitions(config_path: str | None = None) -> dg.Definitions:
    config = load_config(config_path)
    return dg.Definitions(
        assets=[a for domain in DOMAINS for a in getattr(domain, "assets", [])],
        asset_checks=[c for domain in DOMAINS for c in getattr(domain, "asset_checks", [])],
        schedules=[s for domain in DOMAINS for s in getattr(domain, "schedules", [])],
        sensors=[s for domain in DOMAINS for s in getattr(domain, "sensors", [])],
        jobs=jobs,
        resources=build_resources(config, config_path),
        # Locally the heavy steps are already subprocesses: running the asset steps in one
        # process saves a Python start and a code-location import per step.
        executor=dg.in_process_executor if config.profile == "local" else dg.multiprocess_executor,
    )


defs = build_definitions()
