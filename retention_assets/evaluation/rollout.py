"""Run one policy on one seeded cohort and total what happened to the starting customers.

A cohort is ``cohort_size`` customers drawn by the env from its seed; every policy run from the
same seed and scenario meets the same customers and the same random draws (the env's common
random numbers), so differences between policies are the policies'.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retention_assets.decision.config import DecisionConfig
from retention_assets.decision.customers import CustomerPool
from retention_assets.decision.env import CONSTRAINTS, RetentionVectorEnv, Scenario
from retention_assets.decision.policies import Policy


@dataclass(frozen=True)
class CohortOutcome:
    """Totals over one episode of one cohort (dollars unless said otherwise)."""

    starting_revenue: float  # sum of MonthlyCharges of the cohort at the start
    ending_revenue: float  # recurring revenue of the starting customers still here after the horizon
    gross_margin: float  # margin earned before campaign costs
    campaign_cost: float  # contact costs + discounts given + fixed offer costs
    budget: float  # the cohort budget (sum of the customers' budgets)
    customers: int
    contacted: int  # customers contacted at least once
    contacts: int
    accepted: int
    churned: int
    fatigue_breaches: int
    cooldown_breaches: int

    @property
    def budget_overrun(self) -> bool:
        return self.campaign_cost > self.budget + 1e-9


def run_cohort(
    pool: CustomerPool,
    config: DecisionConfig,
    policy: Policy,
    seed: int,
    scenario: Scenario = Scenario(),
    cohort_size: int | None = None,
) -> CohortOutcome:
    n = cohort_size or config.evaluation.cohort_size
    env = RetentionVectorEnv(n, pool, config.simulator, config.constraints, scenario)
    d = env.dynamics
    obs, _ = env.reset(seed=seed)
    policy.start(env, np.random.default_rng(seed))
    starting = float(d.pool.monthly_charges[d.customer].sum())
    budget = float(d.budget.sum())
    active = np.ones(n, dtype=bool)
    ever = np.zeros(n, dtype=bool)
    totals = dict.fromkeys(["margin", "spend", "contacts", "accepted", "churned", "fatigue", "cooldown"], 0.0)
    last_revenue = np.zeros(n)
    for _ in range(config.simulator.horizon):
        actions = np.where(active, policy.act(env, obs, active), 0)
        obs, _, terminated, truncated, info = env.step(actions)
        policy.observe(env, actions, info)
        totals["margin"] += info["margin"][active].sum()
        totals["spend"] += info["spend"][active].sum()
        totals["contacts"] += info["contact"][active].sum()
        totals["accepted"] += info["accepted"][active].sum()
        totals["churned"] += info["churned"][active].sum()
        totals["fatigue"] += info["cost"][active, CONSTRAINTS.index("fatigue")].sum()
        totals["cooldown"] += info["cost"][active, CONSTRAINTS.index("cooldown")].sum()
        ever |= info["contact"] & active
        last_revenue = np.where(active, info["revenue"], last_revenue)
        active &= ~(terminated | truncated)
    return CohortOutcome(
        starting_revenue=starting,
        ending_revenue=float(last_revenue.sum()),  # churned customers' last revenue is 0
        gross_margin=float(totals["margin"]),
        campaign_cost=float(totals["spend"]),
        budget=budget,
        customers=n,
        contacted=int(ever.sum()),
        contacts=int(totals["contacts"]),
        accepted=int(totals["accepted"]),
        churned=int(totals["churned"]),
        fatigue_breaches=int(totals["fatigue"]),
        cooldown_breaches=int(totals["cooldown"]),
    )
