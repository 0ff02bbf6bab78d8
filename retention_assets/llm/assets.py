"""The `llm` assets: each runs its training step through the compute resource and returns the
published, validated checkpoint's ``ArtifactRef``.

A step reads its input tables from Parquet files the asset writes next to the artifact store
(``step_inputs/<asset>/<run id>/``), so the same params work for a subprocess and a Vertex job.
"""

import io

import dagster as dg
import pandas as pd

from resources.compute import ComputeResource
from resources.storage.artifacts import ArtifactRef, ArtifactStore
from resources.storage.io_managers import ArtifactStoreResource
from retention_assets.llm.config import RewardSettings
from retention_assets.llm.prompts import RISK
from retention_assets.settings import ExperimentResource
from retention_assets.tabular.scorer import load_scorer

GROUP = "llm"
PLOTS = {"loss_curve", "curves"}  # Markdown images
ARTIFACT_KEYS = {"artifact_name", "artifact_version", "artifact_uri"}


def _run(context, step: str, module: str, experiment, artifact_store, compute, tables: dict, refs: dict):
    """Write ``tables`` as Parquet, run the step with them and ``refs``, return its result."""
    store = artifact_store.get().store
    prefix = f"step_inputs/{step}/{context.run_id}"
    inputs = {name: ref.to_dict() for name, ref in refs.items()}
    try:
        for name, frame in tables.items():
            buffer = io.BytesIO()
            frame.to_parquet(buffer, index=False)
            store.put_bytes(f"{prefix}/{name}.parquet", buffer.getvalue())
            inputs[name] = store.uri(f"{prefix}/{name}.parquet")
        params = {"llm": experiment.config.llm.model_dump(mode="json"), "inputs": inputs}
        result = compute.run_step(context, step, module, params)
    finally:
        store.delete_prefix(prefix)
    if result.artifact is None:
        raise dg.Failure(f"step {step!r} finished without publishing a checkpoint")
    return result


def _metadata(result) -> dict:
    metadata = {}
    for key, value in result.metadata.items():
        if key in ARTIFACT_KEYS:
            continue
        if key in PLOTS:
            metadata[key] = dg.MetadataValue.md(value)
        elif isinstance(value, (dict, list)):
            metadata[key] = dg.MetadataValue.json(value)
        else:
            metadata[key] = value
    metadata["checkpoint"] = dg.MetadataValue.path(result.artifact.uri)
    return metadata


@dg.asset(
    group_name=GROUP,
    kinds={"pytorch", "peft"},
    check_specs=[dg.AssetCheckSpec("held_out_loss_lowered", asset="sft_model", blocking=True)],
)
def sft_model(context: dg.AssetExecutionContext, experiment: ExperimentResource, artifact_store: ArtifactStoreResource,
              compute: ComputeResource, sft_pairs: pd.DataFrame, sft_splits: pd.DataFrame):
    """LoRA SFT adapter on the best-ranked OASST1 replies; loss on response tokens only."""
    result = _run(context, "sft_model", "retention_assets.llm.sft", experiment, artifact_store, compute,
                  {"sft_pairs": sft_pairs, "sft_splits": sft_splits}, {})  # fmt: skip
    yield dg.Output(result.artifact, metadata=_metadata(result))
    before, after = result.metadata["eval_loss_before"], result.metadata["eval_loss_after"]
    yield dg.AssetCheckResult(check_name="held_out_loss_lowered", passed=after < before,
                              metadata={"eval_loss_before": before, "eval_loss_after": after})  # fmt: skip


@dg.asset(
    group_name=GROUP,
    kinds={"pytorch", "peft"},
    check_specs=[dg.AssetCheckSpec("beats_length_baseline", asset="reward_model", blocking=True)],
)
def reward_model(context: dg.AssetExecutionContext, experiment: ExperimentResource, artifact_store: ArtifactStoreResource,
                 compute: ComputeResource, preference_pairs: pd.DataFrame, preference_splits: pd.DataFrame):
    """Bradley-Terry reward model (LoRA + scalar head) on HH-RLHF (and SHP-2 when configured)."""
    result = _run(context, "reward_model", "retention_assets.llm.reward", experiment, artifact_store, compute,
                  {"preference_pairs": preference_pairs, "preference_splits": preference_splits}, {})  # fmt: skip
    yield dg.Output(result.artifact, metadata=_metadata(result))
    yield length_baseline_check(result.metadata, experiment.config.llm.reward)


def length_baseline_check(metrics: dict, settings: RewardSettings) -> dg.AssetCheckResult:
    """The reward model must beat the longer-answer-wins baseline and reach the accuracy floor."""
    accuracy, baseline = metrics["eval_accuracy"], metrics["length_baseline_accuracy"]
    # A blocking check stops downstream assets only when it fails with ERROR severity.
    severity = dg.AssetCheckSeverity.ERROR if settings.gate == "block" else dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(
        check_name="beats_length_baseline", passed=accuracy > baseline and accuracy >= settings.min_eval_accuracy,
        severity=severity, metadata={"eval_accuracy": accuracy, "length_baseline_accuracy": baseline,
                                     "min_eval_accuracy": settings.min_eval_accuracy, "gate": settings.gate},
    )  # fmt: skip


def scored_customers(store: ArtifactStore, customers: pd.DataFrame, risk_ref: ArtifactRef) -> pd.DataFrame:
    """``customers`` with risk_model's calibrated P(churn) as ``churn_risk``, which the prompts
    state as a band and sample by. Scored here: XGBoost on a few thousand rows takes well under a
    second, and the step then needs no tabular model."""
    return customers.assign(**{RISK: load_scorer(store, risk_ref).predict_proba(customers)})


@dg.asset(
    group_name=GROUP,
    kinds={"pytorch", "peft"},
    check_specs=[dg.AssetCheckSpec("messages_follow_rules", asset="ppo_text_policy", blocking=True)],
)
def ppo_text_policy(context: dg.AssetExecutionContext, experiment: ExperimentResource, artifact_store: ArtifactStoreResource,
                    compute: ComputeResource, sft_model: ArtifactRef, reward_model: ArtifactRef,
                    telco_customers: pd.DataFrame, customer_splits: pd.DataFrame, risk_model: ArtifactRef):
    """Retention-message policy: PPO from the SFT model against the reward model, KL-controlled,
    gated by the message rules. Prompts are real customers, drawn and described by risk_model's
    churn risk."""
    customers = scored_customers(artifact_store.get(), telco_customers, risk_model)
    result = _run(context, "ppo_text_policy", "retention_assets.llm.message_policy", experiment, artifact_store, compute,
                  {"telco_customers": customers, "customer_splits": customer_splits},
                  {"sft_model": sft_model, "reward_model": reward_model})  # fmt: skip
    yield dg.Output(result.artifact, metadata=_metadata(result))
    yield from result.check_results  # messages_follow_rules, decided by the step on held-out customers


assets = [sft_model, reward_model, ppo_text_policy]
