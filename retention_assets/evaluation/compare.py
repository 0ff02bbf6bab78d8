"""Every policy on the same seeded cohorts, under each stress scenario; trained policies are not retrained."""

from __future__ import annotations

import pandas as pd

from retention_assets.decision.config import DecisionConfig
from retention_assets.decision.customers import CustomerPool
from retention_assets.decision.env import Scenario
from retention_assets.decision.policies import NoContact, Policy
from retention_assets.evaluation.metrics import episode_metrics
from retention_assets.evaluation.rollout import run_cohort


def scenarios(config: DecisionConfig) -> dict[str, Scenario]:
    return {name: Scenario(*shifts) for name, shifts in config.evaluation.stress.items()}


def compare_policies(
    pool: CustomerPool,
    config: DecisionConfig,
    policies: list[Policy],
    cases: dict[str, Scenario] | None = None,
    seeds: list[int] | None = None,
    cohort_size: int | None = None,
) -> pd.DataFrame:
    """One row per (scenario, policy, seed) with the metrics of ``episode_metrics``."""
    cases = cases if cases is not None else scenarios(config)
    seeds = seeds or config.evaluation.seeds
    rows = []
    for scenario_name, scenario in cases.items():
        for seed in seeds:
            reference = run_cohort(pool, config, NoContact(config), seed, scenario, cohort_size)
            for policy in policies:
                outcome = reference if policy.name == NoContact.name else run_cohort(
                    pool, config, policy, seed, scenario, cohort_size
                )
                rows.append({"scenario": scenario_name, "policy": policy.name, "seed": seed,
                             **episode_metrics(outcome, reference)})  # fmt: skip
    return pd.DataFrame(rows)
