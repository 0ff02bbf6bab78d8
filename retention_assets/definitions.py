"""The one entry point Dagster loads: every domain's assets, checks, schedules and sensors,
with the resources of the profile named by the experiment config."""

from __future__ import annotations

from importlib import import_module

import dagster as dg

from retention_assets.jobs import jobs
from retention_assets.profiles import build_resources
from retention_assets.settings import load_config

# One module per domain defines its Dagster objects; each may export `assets`, `asset_checks`,
# `schedules` and `sensors` lists.
DOMAIN_MODULES = [
    "retention_assets.data.assets",
    "retention_assets.tabular.assets",
    "retention_assets.llm.assets",
    "retention_assets.decision.assets",
    "retention_assets.evaluation.assets",
    "retention_assets.automation",
]


def _collect(kind: str) -> list:
    return [item for name in DOMAIN_MODULES for item in getattr(import_module(name), kind, [])]


def build_definitions(config_path: str | None = None) -> dg.Definitions:
    config = load_config(config_path)
    return dg.Definitions(
        assets=_collect("assets"),
        asset_checks=_collect("asset_checks"),
        schedules=_collect("schedules"),
        sensors=_collect("sensors"),
        jobs=jobs,
        resources=build_resources(config, config_path),
        # Locally the heavy steps are already subprocesses: running the asset steps in one
        # process saves a Python start and a code-location import per step.
        executor=dg.in_process_executor if config.profile == "local" else dg.multiprocess_executor,
    )


defs = build_definitions()
