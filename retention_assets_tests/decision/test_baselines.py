"""Every baseline runs in the same env and spends within the same cohort budget."""

from __future__ import annotations

import pytest

from retention_assets.decision.env import Scenario
from retention_assets.decision.policies import baseline_policies
from retention_assets.evaluation.rollout import run_cohort


@pytest.fixture(scope="module")
def baselines(pool, config):
    small = config.model_copy(update={
        "evaluation": config.evaluation.model_copy(update={"cohort_size": 512}),
        "baselines": config.baselines.model_copy(update={"logged_episodes": 1}),
    })  # fmt: skip
    return small, baseline_policies(pool, small, seed=0)


@pytest.mark.parametrize("scenario", [Scenario(), Scenario(budget_multiplier=0.5)], ids=["nominal", "budget-50%"])
def test_each_baseline_spends_within_budget(pool, baselines, scenario):
    config, policies = baselines
    assert [p.name for p in policies] == ["no_contact", "random", "propensity", "thompson", "uplift"]
    for policy in policies:
        outcome = run_cohort(pool, config, policy, seed=3, scenario=scenario)
        assert outcome.campaign_cost <= outcome.budget, policy.name
        assert outcome.fatigue_breaches == 0 and outcome.cooldown_breaches == 0, policy.name
        if policy.name == "no_contact":
            assert outcome.contacts == 0 and outcome.campaign_cost == 0
        else:
            assert outcome.contacts > 0, f"{policy.name} never contacted anyone"
