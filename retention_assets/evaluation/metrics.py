"""Business metrics per cohort episode, and their means with confidence intervals over seeds.

- NRR: ending recurring revenue of the starting cohort / its starting recurring revenue.
- campaign ROI: (gross margin - no-contact gross margin on the same cohort - campaign cost) /
  campaign cost; undefined (NaN) for a policy that spends nothing.
- contact rate: share of the cohort contacted at least once; acceptance rate: accepted offers /
  contacts; churn rate: share of the cohort that left.
- violations per episode: budget overrun (0/1), fatigue breaches and cooldown breaches (counts);
  an episode with any of them is a violating episode.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from retention_assets.evaluation.rollout import CohortOutcome

METRICS = ["nrr", "roi", "net_margin", "contact_rate", "acceptance_rate", "churn_rate",
           "budget_overrun", "fatigue_breaches", "cooldown_breaches", "violating"]  # fmt: skip


def episode_metrics(outcome: CohortOutcome, no_contact: CohortOutcome) -> dict[str, float]:
    cost = outcome.campaign_cost
    incremental = outcome.gross_margin - no_contact.gross_margin
    overrun = outcome.budget_overrun
    return {
        "nrr": outcome.ending_revenue / outcome.starting_revenue,
        "roi": (incremental - cost) / cost if cost > 0 else math.nan,
        "net_margin": (outcome.gross_margin - cost) / outcome.customers,  # $ per customer
        "contact_rate": outcome.contacted / outcome.customers,
        "acceptance_rate": outcome.accepted / outcome.contacts if outcome.contacts else math.nan,
        "churn_rate": outcome.churned / outcome.customers,
        "budget_overrun": float(overrun),
        "fatigue_breaches": float(outcome.fatigue_breaches),
        "cooldown_breaches": float(outcome.cooldown_breaches),
        "violating": float(overrun or outcome.fatigue_breaches > 0 or outcome.cooldown_breaches > 0),
    }


def mean_ci(values: list[float], confidence: float) -> tuple[float, float]:
    """Mean and the half-width of its Student-t confidence interval (NaN-free values only)."""
    x = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    if len(x) == 0:
        return math.nan, math.nan
    if len(x) == 1:
        return float(x[0]), math.nan
    half = stats.t.ppf(0.5 + confidence / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    return float(x.mean()), float(half)


def summarise(rows: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """One row per (scenario, policy): each metric's mean and CI half-width over seeds."""
    out = []
    for (scenario, policy), group in rows.groupby(["scenario", "policy"], sort=False):
        record = {"scenario": scenario, "policy": policy, "seeds": len(group)}
        for metric in METRICS:
            mean, half = mean_ci(group[metric].tolist(), confidence)
            record[metric], record[f"{metric}_ci"] = mean, half
        out.append(record)
    return pd.DataFrame(out)


def markdown_table(summary: pd.DataFrame) -> str:
    def cell(row, metric, fmt):
        mean, half = row[metric], row[f"{metric}_ci"]
        if math.isnan(mean):
            return "n/a"
        return fmt.format(mean) + ("" if math.isnan(half) else " ± " + fmt.format(half))

    lines = ["| scenario | policy | NRR | ROI | net margin $/cust | contact rate | acceptance | churn rate | "
             "violating episodes | budget overrun | fatigue / ep | cooldown / ep |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for _, row in summary.iterrows():
        lines.append(
            f"| {row['scenario']} | {row['policy']} | {cell(row, 'nrr', '{:.4f}')} | {cell(row, 'roi', '{:.2f}')} | "
            f"{cell(row, 'net_margin', '{:.2f}')} | {cell(row, 'contact_rate', '{:.3f}')} | "
            f"{cell(row, 'acceptance_rate', '{:.3f}')} | {cell(row, 'churn_rate', '{:.4f}')} | "
            f"{row['violating']:.0%} | {row['budget_overrun']:.0%} | {row['fatigue_breaches']:.1f} | "
            f"{row['cooldown_breaches']:.1f} |"
        )
    return "\n".join(lines)
