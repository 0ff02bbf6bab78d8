"""Business metrics on hand-built cohort outcomes, and CIs over seeds."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from retention_assets.evaluation.metrics import episode_metrics, mean_ci, summarise
from retention_assets.evaluation.rollout import CohortOutcome


def outcome(**changes) -> CohortOutcome:
    base = dict(starting_revenue=1000.0, ending_revenue=800.0, gross_margin=5000.0, campaign_cost=0.0, budget=100.0,
                customers=10, contacted=0, contacts=0, accepted=0, churned=3, fatigue_breaches=0, cooldown_breaches=0)
    return CohortOutcome(**{**base, **changes})


def test_episode_metrics_follow_their_definitions():
    reference = outcome()
    policy = outcome(ending_revenue=900.0, gross_margin=5150.0, campaign_cost=100.0, contacted=4, contacts=5,
                     accepted=2, churned=2)  # fmt: skip
    m = episode_metrics(policy, reference)
    assert m["nrr"] == pytest.approx(0.9)
    assert m["roi"] == pytest.approx((150.0 - 100.0) / 100.0)
    assert m["contact_rate"] == 0.4 and m["acceptance_rate"] == 0.4 and m["churn_rate"] == 0.2
    assert m["net_margin"] == pytest.approx(505.0) and m["violating"] == 0.0
    assert math.isnan(episode_metrics(reference, reference)["roi"])  # no spend: ROI undefined


def test_each_violation_is_counted_per_episode():
    over = episode_metrics(outcome(campaign_cost=100.5), outcome())
    assert over["budget_overrun"] == 1.0 and over["violating"] == 1.0
    tired = episode_metrics(outcome(fatigue_breaches=2, cooldown_breaches=1), outcome())
    assert (tired["fatigue_breaches"], tired["cooldown_breaches"], tired["violating"]) == (2.0, 1.0, 1.0)
    assert episode_metrics(outcome(campaign_cost=100.0), outcome())["budget_overrun"] == 0.0  # at the limit: fine


def test_confidence_interval_over_seeds():
    mean, half = mean_ci([1.0, 2.0, 3.0], 0.95)
    assert mean == 2.0 and half == pytest.approx(4.303 * 1.0 / math.sqrt(3), rel=1e-3)  # t(0.975, 2) = 4.303
    rows = pd.DataFrame([{"scenario": "s", "policy": "p", "nrr": v, "roi": math.nan} for v in (0.9, 1.0)])
    for metric in ["net_margin", "contact_rate", "acceptance_rate", "churn_rate", "budget_overrun",
                   "fatigue_breaches", "cooldown_breaches", "violating"]:  # fmt: skip
        rows[metric] = 0.0
    summary = summarise(rows, 0.95)
    assert summary.loc[0, "nrr"] == pytest.approx(0.95) and math.isnan(summary.loc[0, "roi"])
