"""The tabular assets: calibrated churn-risk and offer-acceptance models behind quality gates.

Each asset trains, measures, and only when every gate passes publishes the artifact through
the artifact store (staged, reloaded and re-scored by the validate hook, then manifested). A
model that misses a floor is never published: the blocking check fails, the step fails, and
downstream assets do not run; the check's metadata says by how much it missed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import dagster as dg
import numpy as np
import pandas as pd

from retention_assets.data import bank
from retention_assets.settings import ExperimentResource
from retention_assets.tabular.metrics import png_markdown
from retention_assets.tabular.scorer import Scorer
from retention_assets.tabular.specs import accept_spec, risk_spec
from retention_assets.tabular.train import ModelSpec, TrainedModel, train_model
from resources.storage.artifacts import ArtifactRef
from resources.storage.io_managers import ArtifactStoreResource

GROUP = "tabular"
GATES = ("auc_floor", "ece_ceiling")


def _gate_specs(asset: str, extra: tuple[str, ...] = ()) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(name, asset=asset, blocking=True) for name in GATES + extra]


def _gate_results(model: TrainedModel) -> list[dg.AssetCheckResult]:
    gate, m = model.spec.model.gate, model.metrics
    return [
        dg.AssetCheckResult(check_name="auc_floor", passed=bool(m["auc"] >= gate.min_auc),
                            metadata={"auc": m["auc"], "floor": gate.min_auc}),
        dg.AssetCheckResult(check_name="ece_ceiling", passed=bool(m["ece"] <= gate.max_ece),
                            metadata={"ece": m["ece"], "ceiling": gate.max_ece}),
    ]  # fmt: skip


def _reloads_identically(model: TrainedModel):
    """The publish hook: the staged files must reload and reproduce the in-memory predictions."""
    expected = model.scorer.predict_proba(model.check_frame)

    def validate(staged) -> None:
        reloaded = Scorer.load(staged).predict_proba(model.check_frame)
        if not np.array_equal(reloaded, expected):
            worst = float(np.max(np.abs(reloaded - expected)))
            raise ValueError(f"{model.spec.name}: staged artifact predicts differently (max |diff| {worst:.3g})")

    return validate


def _metadata(model: TrainedModel, ref: ArtifactRef) -> dict:
    top = model.top_features.to_markdown(index=False, floatfmt=".4f")
    return {
        **{key: dg.MetadataValue.float(value) for key, value in model.metrics.items()},
        "calibration_method": model.scorer.calibrator.method,
        "calibration_validation_brier": dg.MetadataValue.json(model.calibration_briers),
        "reliability_diagram": dg.MetadataValue.md(png_markdown(model.reliability_png(), "reliability diagram")),
        "top_features": dg.MetadataValue.md(top),
        "features": dg.MetadataValue.json(model.spec.features),
        "rows_per_split": dg.MetadataValue.json(model.rows),
        "data_hash": model.data_hash,
        "artifact_uri": dg.MetadataValue.path(ref.uri),
        "artifact_version": ref.version,
    }


def _train_gate_publish(
    spec: ModelSpec, frame: pd.DataFrame, splits: pd.DataFrame, store: ArtifactStoreResource,
    extra_checks=lambda model: [],
) -> Iterator:  # fmt: skip
    model = train_model(frame, splits, spec)
    results = _gate_results(model) + extra_checks(model)
    if all(r.passed for r in results):
        with tempfile.TemporaryDirectory(prefix=f"{spec.name}-") as tmp:
            ref = store.get().publish(spec.name, model.save(tmp), validate=_reloads_identically(model))
        yield dg.Output(ref, metadata=_metadata(model, ref))
    yield from results


@dg.asset(group_name=GROUP, output_required=False, check_specs=_gate_specs("risk_model"), kinds={"xgboost"})
def risk_model(
    experiment: ExperimentResource, artifact_store: ArtifactStoreResource,
    telco_customers: pd.DataFrame, customer_splits: pd.DataFrame,
) -> Iterator:  # fmt: skip
    """Calibrated P(churn) for a Telco customer: XGBoost + Platt/isotonic, published as an artifact."""
    spec = risk_spec(experiment.config.tabular)
    yield from _train_gate_publish(spec, telco_customers, customer_splits, artifact_store)


def _no_duration(frame: pd.DataFrame):
    def check(model: TrainedModel) -> list[dg.AssetCheckResult]:
        pipeline = model.scorer.pipeline
        named = [c for c in pipeline.inputs + pipeline.columns if any(leak in c for leak in bank.LEAKY)]
        # Behaviour, not just names: scrambling duration must not move a single prediction.
        sample = frame.sample(min(len(frame), 2000), random_state=0)
        scrambled = sample.assign(**{c: np.random.default_rng(0).permutation(sample[c].to_numpy()) for c in bank.LEAKY})
        moved = int((model.scorer.predict_proba(sample) != model.scorer.predict_proba(scrambled)).sum())
        return [dg.AssetCheckResult(
            check_name="no_duration_features", passed=not named and moved == 0,
            metadata={"duration_derived_features": str(named), "predictions_moved_by_duration": moved},
        )]  # fmt: skip

    return check


@dg.asset(
    group_name=GROUP, output_required=False,
    check_specs=_gate_specs("accept_model", ("no_duration_features",)), kinds={"xgboost"},
)  # fmt: skip
def accept_model(
    experiment: ExperimentResource, artifact_store: ArtifactStoreResource,
    bank_contacts: pd.DataFrame, contact_splits: pd.DataFrame,
) -> Iterator:  # fmt: skip
    """Calibrated P(term-deposit subscription) for a bank contact, never using ``duration``."""
    spec = accept_spec(experiment.config.tabular)
    yield from _train_gate_publish(spec, bank_contacts, contact_splits, artifact_store, _no_duration(bank_contacts))


assets = [risk_model, accept_model]
