"""The `decision` assets: the PPO-Lagrangian retention policy, trained in RetentionEnv."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd

from retention_assets.data import telco
from retention_assets.decision.config import DecisionConfig
from retention_assets.decision.customers import CustomerPool, build_pool
from retention_assets.decision.env import CONSTRAINTS, RetentionVectorEnv
from retention_assets.decision.models import load_model
from retention_assets.decision.ppo_lag import TrainingLog, load_agent, save_agent, train_ppo_lag
from retention_assets.settings import ExperimentResource
from retention_assets.tabular.metrics import png_markdown
from resources.storage.artifacts import ArtifactRef, ArtifactStore
from resources.storage.io_managers import ArtifactStoreResource

GROUP = "decision"
POLICY_ARTIFACT = "decision_policy"
CAVEAT = (
    "The real data gives churn risk (risk_model) and offer acceptance (accept_model); it does not give the "
    "causal effect of an offer. Treatment effects, elasticity and costs are assumptions from the config."
)


def simulation_pool(
    config: DecisionConfig, store: ArtifactStore, customers: pd.DataFrame, splits: pd.DataFrame,
    risk_ref: ArtifactRef | None, accept_ref: ArtifactRef | None,
) -> CustomerPool:  # fmt: skip
    """The held-out customers (``decision.customer_splits``) scored by the published models."""
    ids = set(splits.loc[splits["split"].isin(config.customer_splits), "id"])
    held_out = customers[customers[telco.ID].isin(ids)].reset_index(drop=True)
    if held_out.empty:
        raise ValueError(f"customer_splits: no customer in split(s) {config.customer_splits}")
    risk = load_model(store, risk_ref, "risk_model")
    accept = load_model(store, accept_ref, "accept_model")
    return build_pool(held_out, risk, accept, config.bank_mapping, config.baselines)


def assumptions_markdown(config: DecisionConfig) -> str:
    """Every simulator assumption, as a table for the asset's metadata."""
    sim, rules = config.simulator, config.constraints
    rows = [(k, v) for k, v in sim.model_dump(exclude={"offers"}).items()]
    rows += [(f"constraints.{k}", v) for k, v in rules.model_dump().items()]
    lines = [f"**{CAVEAT}**", "", "| assumption | value |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    offers = pd.DataFrame([o.model_dump() for o in sim.offers])
    return "\n".join(lines) + "\n\n" + offers.to_markdown(index=False)


def training_plot(log: TrainingLog) -> bytes:
    """Return, each constraint's cost against its limit, and each multiplier, per iteration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2 + len(CONSTRAINTS), figsize=(4 * (2 + len(CONSTRAINTS)), 3.2))
    axes[0].plot(log.episode_return)
    axes[0].set_title("episode return ($)")
    for ax, name in zip(axes[1:], CONSTRAINTS):
        ax.plot(log.costs[name], label="Jc")
        ax.axhline(log.limits[name], color="red", linestyle="--", label="limit d")
        ax.set_title(f"{name} cost")
        ax.legend(fontsize=7)
    for name in CONSTRAINTS:
        axes[-1].plot(log.lambdas[name], label=name)
    axes[-1].set_title("Lagrange multipliers")
    axes[-1].legend(fontsize=7)
    for ax in axes:
        ax.set_xlabel("iteration")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return buffer.getvalue()


def _reloads_identically(agent, pool: CustomerPool, config: DecisionConfig):
    """Publish hook: the staged weights must reload and pick the same actions."""
    env = RetentionVectorEnv(256, pool, config.simulator, config.constraints)
    obs, _ = env.reset(seed=0)
    expected = agent.act(obs)

    def validate(staged: Path) -> None:
        reloaded, _ = load_agent(staged)
        if not np.array_equal(reloaded.act(obs), expected):
            raise ValueError("decision_policy: staged weights act differently from the trained agent")

    return validate


def _final(values: list[float], window: int = 10) -> float:
    tail = [v for v in values[-window:] if not np.isnan(v)]
    return float(np.mean(tail)) if tail else float("nan")


@dg.asset(
    group_name=GROUP,
    check_specs=[dg.AssetCheckSpec("costs_within_limits", asset="decision_policy")],
    kinds={"pytorch", "safetensors"},
)
def decision_policy(
    experiment: ExperimentResource, artifact_store: ArtifactStoreResource,
    telco_customers: pd.DataFrame, customer_splits: pd.DataFrame,
    risk_model: ArtifactRef, accept_model: ArtifactRef,
):  # fmt: skip
    """Which customers to contact, with which offer: PPO-Lagrangian (one multiplier per constraint)
    trained in RetentionEnv on held-out telco customers scored by risk_model and accept_model."""
    config = experiment.config.decision
    store = artifact_store.get()
    pool = simulation_pool(config, store, telco_customers, customer_splits, risk_model, accept_model)
    agent, log = train_ppo_lag(pool, config)
    with tempfile.TemporaryDirectory(prefix="decision-policy-") as tmp:
        save_agent(agent, Path(tmp), {"config": config.model_dump(mode="json"), "training": log.to_dict()})
        ref = store.publish(POLICY_ARTIFACT, tmp, validate=_reloads_identically(agent, pool, config))
    final = {name: _final(log.costs[name]) for name in CONSTRAINTS}
    yield dg.Output(
        ref,
        metadata={
            "artifact_uri": dg.MetadataValue.path(ref.uri),
            "artifact_version": ref.version,
            "customers_in_pool": len(pool),
            "iterations": len(log.seconds),
            "training_seconds": float(log.seconds[-1]),
            "final_episode_return": _final(log.episode_return),
            "final_costs_vs_limits": dg.MetadataValue.json({n: [final[n], log.limits[n]] for n in CONSTRAINTS}),
            "final_lambdas": dg.MetadataValue.json({n: log.lambdas[n][-1] for n in CONSTRAINTS}),
            "multiplier": config.ppo.lagrange.kind,
            "training_curves": dg.MetadataValue.md(png_markdown(training_plot(log), "PPO-Lag training")),
            "assumptions": dg.MetadataValue.md(assumptions_markdown(config)),
            "caveat": CAVEAT,
        },
    )
    # Within 10% of each limit over the last iterations (the multipliers settle around it).
    over = {n: final[n] for n in CONSTRAINTS if not final[n] <= log.limits[n] * 1.1 + 1e-3}
    yield dg.AssetCheckResult(
        check_name="costs_within_limits", passed=not over,
        metadata={"over_limit": dg.MetadataValue.json(over), "limits": dg.MetadataValue.json(log.limits)},
    )  # fmt: skip


assets = [decision_policy]
