"""A small real heavy step: fit a logistic regression on the Telco churn file and publish it.

It exists to prove the compute path end to end (the same module locally, under the fake Vertex
API, and on Vertex): it reads a mirrored file, trains, publishes a JSON model through the
artifact store with a reload-and-predict validation, reports metrics and one asset check.

    params: {"csv_path": ".../WA_Fn-UseC_-Telco-Customer-Churn.csv", "features": [...],
             "test_fraction": 0.25, "seed": 0, "min_auc": 0.6}
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from resources.compute.entry import StepReporter, run_entry

DEFAULT_FEATURES = ["tenure", "MonthlyCharges", "TotalCharges"]


def _load(csv_path: str, features: list[str]) -> tuple[np.ndarray, np.ndarray]:
    frame = pd.read_csv(csv_path)
    missing = [c for c in [*features, "Churn"] if c not in frame.columns]
    if missing:
        raise KeyError(f"{csv_path}: missing column(s) {missing}")
    # TotalCharges is blank for brand-new customers; those rows are not usable.
    values = frame[features].apply(pd.to_numeric, errors="coerce")
    usable = values.notna().all(axis=1)
    return values[usable].to_numpy(float), (frame.loc[usable, "Churn"] == "Yes").to_numpy(int)


def _predict(model: dict, x: np.ndarray) -> np.ndarray:
    z = (x - np.array(model["mean"])) / np.array(model["scale"]) @ np.array(model["coef"]) + model["intercept"]
    return 1 / (1 + np.exp(-z))


def main(params: dict, reporter: StepReporter) -> dict:
    features = params.get("features", DEFAULT_FEATURES)
    x, y = _load(params["csv_path"], features)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=params.get("test_fraction", 0.25), random_state=params.get("seed", 0), stratify=y
    )
    started = time.perf_counter()
    mean, scale = x_train.mean(axis=0), x_train.std(axis=0)
    fit = LogisticRegression(max_iter=1000).fit((x_train - mean) / scale, y_train)
    fit_s = time.perf_counter() - started
    model = {
        "features": features,
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "coef": fit.coef_[0].tolist(),
        "intercept": float(fit.intercept_[0]),
    }
    auc = float(roc_auc_score(y_test, _predict(model, x_test)))

    def validate(staged: Path) -> None:
        reloaded = json.loads((staged / "model.json").read_text())
        if not np.allclose(_predict(reloaded, x_test[:64]), _predict(model, x_test[:64])):
            raise ValueError("the reloaded model predicts differently from the trained one")

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "model.json").write_text(json.dumps(model, indent=2))
        reporter.publish(params.get("artifact_name", "churn_probe"), tmp, validate=validate)
    reporter.check("auc_above_floor", passed=auc >= params.get("min_auc", 0.6), metadata={"auc": auc})
    reporter.log.info(f"churn probe: auc={auc:.4f} on {len(y_test)} held-out rows")
    return {"rows": int(len(y)), "test_auc": auc, "fit_s": round(fit_s, 4)}


if __name__ == "__main__":
    run_entry(main)
