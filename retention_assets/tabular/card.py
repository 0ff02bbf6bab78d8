"""The model card shipped inside each artifact (markdown)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from retention_assets.tabular.train import TrainedModel

_METRIC_NOTES = {
    "auc": "ROC AUC, test split, calibrated",
    "pr_auc": "average precision, test split",
    "brier": "Brier score, test split",
    "log_loss": "log loss, test split",
    "ece": "expected calibration error, equal-width bins, test split",
    "ece_uncalibrated": "ECE of the raw booster, test split",
    "ece_sampling_floor": "mean ECE of a perfectly calibrated model on this test set (noise)",
    "cv_auc_mean": "stratified k-fold CV AUC over all rows",
    "cv_auc_std": "std of the fold AUCs",
    "baseline_auc": "logistic regression, same split, test AUC",
    "drift_auc": "time-ordered holdout AUC (train earliest, test latest)",
    "drift_ece": "time-ordered holdout ECE",
}


def model_card(model: "TrainedModel") -> str:
    spec, m = model.spec, model.metrics
    metric_rows = "\n".join(
        f"| `{k}` | {v:.4f} | {_METRIC_NOTES.get(k, '')} |" for k, v in sorted(m.items()) if k != "trees"
    )
    top = "\n".join(f"| `{r.feature}` | {r.mean_abs_contribution:.4f} |" for r in model.top_features.itertuples())
    briers = ", ".join(f"{k} {v:.5f}" for k, v in model.calibration_briers.items())
    xgb_params = spec.model.xgboost.model_dump()
    return f"""# Model card: {spec.name}

- **Task**: P({spec.label} = 1), calibrated.
- **Training data hash** (sha256 of id, label and feature columns): `{model.data_hash}`
- **Rows per split**: {model.rows}
- **Model**: XGBoost (`model.ubj`, UBJSON), {int(m['trees'])} trees chosen by early stopping on the validation log loss.
- **Hyperparameters**: `{xgb_params}`
- **Calibration**: `{model.scorer.calibrator.method}` (`calibrator.json`), fitted on the calibration split,
  chosen by validation Brier score ({briers}).
- **Features** ({len(spec.features)} inputs, `pipeline.json`):
  categorical {spec.categorical}; numeric {spec.numeric}.
- **Unseen category values**: `{spec.model.unseen_categories}` ("zero": scored as none of the known levels;
  "error": refused).
- **Excluded columns**: {list(spec.forbidden) or 'none'}.
- **Gate**: AUC >= {spec.model.gate.min_auc}, ECE <= {spec.model.gate.max_ece}.

## Metrics

| metric | value | meaning |
| --- | --- | --- |
{metric_rows}

## Top features (mean |contribution| in log-odds, test split)

| feature | mean abs contribution |
| --- | --- |
{top}

Reliability diagram: `reliability.png`.
"""
