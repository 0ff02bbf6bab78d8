"""The `evaluation` assets: every policy's business metrics on the same seeded cohorts, with stress tests."""

from __future__ import annotations

import io

import dagster as dg
import numpy as np
import pandas as pd

from retention_assets.decision.assets import CAVEAT, simulation_pool
from retention_assets.decision.policies import PPOLagPolicy, baseline_policies
from retention_assets.decision.ppo_lag import load_agent
from retention_assets.evaluation.compare import compare_policies, scenarios
from retention_assets.evaluation.metrics import markdown_table, summarise
from retention_assets.settings import ExperimentResource
from retention_assets.tabular.metrics import png_markdown
from resources.storage.artifacts import ArtifactRef
from resources.storage.io_managers import ArtifactStoreResource

GROUP = "evaluation"
POLICY = "ppo_lag"  # the shielded policy as served


def comparison_plot(summary: pd.DataFrame) -> bytes:
    """NRR and ROI per policy (CI over seeds as error bars), one group of bars per scenario."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = list(dict.fromkeys(summary["scenario"]))
    policies = list(dict.fromkeys(summary["policy"]))
    fig, axes = plt.subplots(1, 2, figsize=(13, 3.6))
    width = 0.8 / len(policies)
    for ax, metric in zip(axes, ["nrr", "roi"]):
        for i, policy in enumerate(policies):
            rows = summary[summary["policy"] == policy].set_index("scenario").reindex(cases)
            x = np.arange(len(cases)) + i * width
            ax.bar(x, rows[metric].fillna(0), width, yerr=rows[f"{metric}_ci"].fillna(0), label=policy, capsize=2)
        ax.set_xticks(np.arange(len(cases)) + 0.4 - width / 2, cases, fontsize=7)
        ax.set_title(metric.upper())
    if "nrr" in summary:
        low = np.nanmin(summary["nrr"] - summary["nrr_ci"].fillna(0))
        axes[0].set_ylim(max(0.0, low - 0.02), None)
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return buffer.getvalue()


def policy_wins(summary: pd.DataFrame) -> pd.DataFrame:
    """Per scenario: does PPO-Lag beat every baseline on NRR and on ROI?"""
    out = []
    for scenario, group in summary.groupby("scenario", sort=False):
        ours = group[group["policy"] == POLICY].iloc[0]
        others = group[~group["policy"].str.startswith(POLICY)]
        out.append({
            "scenario": scenario,
            "nrr_above_all": bool((ours["nrr"] > others["nrr"]).all()),
            "roi_above_all": bool((ours["roi"] > others["roi"].dropna()).all()),
            "violating_episodes": float(ours["violating"]),
        })  # fmt: skip
    return pd.DataFrame(out)


@dg.asset(
    group_name=GROUP,
    check_specs=[
        dg.AssetCheckSpec("violation_rate_within_target", asset="policy_evaluation"),
        dg.AssetCheckSpec("policy_beats_baselines", asset="policy_evaluation"),
    ],
    kinds={"pandas", "parquet"},
)
def policy_evaluation(
    experiment: ExperimentResource, artifact_store: ArtifactStoreResource,
    telco_customers: pd.DataFrame, customer_splits: pd.DataFrame,
    risk_model: ArtifactRef, accept_model: ArtifactRef, decision_policy: ArtifactRef,
):  # fmt: skip
    """NRR, campaign ROI, contact / acceptance / churn rates and constraint violations of PPO-Lag and
    every baseline, on the same seeded cohorts, with CIs over seeds; nominal and stress scenarios
    (budget -50% / +50%, churn risk +30%, acceptance shift), the policy trained once."""
    config = experiment.config.decision
    store = artifact_store.get()
    pool = simulation_pool(config, store, telco_customers, customer_splits, risk_model, accept_model)
    agent, _ = load_agent(store.fetch(decision_policy))
    ours = [PPOLagPolicy(config, agent, config.evaluation.shield)]
    if config.evaluation.shield:
        ours.append(PPOLagPolicy(config, agent, shield=False))
    policies = [*ours, *baseline_policies(pool, config, config.env_seed)]
    rows = compare_policies(pool, config, policies, scenarios(config))
    summary = summarise(rows, config.evaluation.confidence)
    wins = policy_wins(summary)
    yield dg.Output(
        rows,
        metadata={
            "dagster/row_count": len(rows),
            "comparison": dg.MetadataValue.md(markdown_table(summary)),
            "plot": dg.MetadataValue.md(png_markdown(comparison_plot(summary), "NRR and ROI per policy")),
            "ppo_lag_vs_baselines": dg.MetadataValue.md(wins.to_markdown(index=False)),
            "seeds": dg.MetadataValue.json(config.evaluation.seeds),
            "cohort_size": config.evaluation.cohort_size,
            "policy_version": decision_policy.version,
            "caveat": CAVEAT,
        },
    )
    target = config.evaluation.max_violating_share
    worst = float(wins["violating_episodes"].max())
    yield dg.AssetCheckResult(
        check_name="violation_rate_within_target", passed=worst <= target,
        metadata={"worst_violating_share": worst, "target": target},
    )  # fmt: skip
    beaten = wins[~(wins["nrr_above_all"] & wins["roi_above_all"])]
    yield dg.AssetCheckResult(
        check_name="policy_beats_baselines", passed=beaten.empty,
        metadata={"scenarios_not_won": dg.MetadataValue.json(beaten["scenario"].tolist())},
    )  # fmt: skip


assets = [policy_evaluation]
