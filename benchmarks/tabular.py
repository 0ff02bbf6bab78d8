"""Tabular benchmark (issue 3): our calibrated XGBoost vs logistic regression vs default XGBoost,
and the scoring throughput of 1,000,000 customers through both models.

    RETENTION_MIRROR=../shared/data .venv/bin/python benchmarks/tabular.py [--rows 1000000]

Every model sees the same seeded splits (the data domain's, from the experiment config) and the
same stratified 5-fold CV folds. Peers are measured in this run; ratios are ours / peer. The
last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from retention_assets.data import bank, telco
from retention_assets.data.sources import fetch
from retention_assets.data.splits import stratified_split
from retention_assets.settings import load_config
from retention_assets.tabular import baselines
from retention_assets.tabular.features import FeaturePipeline
from retention_assets.tabular.metrics import binary_metrics
from retention_assets.tabular.specs import accept_spec, risk_spec
from retention_assets.tabular.train import train_model

THROUGHPUT_TARGET_S = 5.0  # issue 3: 1M customers through both models on 2 cores


def _peer_metrics(frame, splits, spec, fit) -> dict:
    """Test metrics (fitted on train) and CV AUC (same folds as ours) of a peer model."""
    split = frame[spec.id_column].map(splits.set_index("id")["split"])
    pipeline = FeaturePipeline.fit(frame, spec.categorical, spec.numeric)  # levels only, no labels
    x, y = pipeline.transform(frame), frame[spec.label].to_numpy()
    train, test = (split == "train").to_numpy(), (split == "test").to_numpy()
    model = fit(x[train], y[train])
    metrics = binary_metrics(model.predict_proba(x[test])[:, 1], y[test], spec.ece_bins)
    folds = StratifiedKFold(spec.cv_folds, shuffle=True, random_state=spec.seed)
    aucs = [roc_auc_score(y[b], fit(x[a], y[a]).predict_proba(x[b])[:, 1]) for a, b in folds.split(x, y)]
    return {**metrics, "cv_auc_mean": float(np.mean(aucs)), "cv_auc_std": float(np.std(aucs))}


def _best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--config", default=None, help="experiment config (default: configs/local.yaml)")
    args = parser.parse_args()
    config = load_config(args.config)
    fractions, seed = config.data.splits.fractions(), config.data.splits.seed

    customers, _ = telco.parse_telco(fetch("telco", config.data.cache_dir).read_bytes(), "telco")
    contacts = bank.parse_bank(fetch("bank", config.data.cache_dir).read_bytes(), "bank")
    datasets = {
        "risk": (customers, risk_spec(config.tabular)),
        "accept": (contacts, accept_spec(config.tabular)),
    }
    report, scorers = {}, {}
    keys = ("auc", "pr_auc", "brier", "log_loss", "ece", "cv_auc_mean", "cv_auc_std")
    for name, (frame, spec) in datasets.items():
        splits = stratified_split(frame[spec.id_column], frame[spec.label], fractions, seed)
        start = time.perf_counter()
        ours = train_model(frame, splits, spec)
        train_s = time.perf_counter() - start
        scorers[name] = (ours.scorer, frame)
        peers = {
            "logistic_regression": _peer_metrics(frame, splits, spec, lambda x, y: baselines.logistic_regression(x, y, spec.seed)),
            "default_xgboost": _peer_metrics(frame, splits, spec, lambda x, y: baselines.default_xgboost(x, y, spec.seed, spec.threads)),
        }  # fmt: skip
        entry = {"ours": {k: ours.metrics[k] for k in keys}, **{p: {k: m[k] for k in keys} for p, m in peers.items()}}
        entry["ours"].update(trees=int(ours.metrics["trees"]), calibration=ours.scorer.calibrator.method, train_s=train_s)
        entry["ours"].update({k: v for k, v in ours.metrics.items() if k.startswith("drift_")},
                             ece_sampling_floor=ours.metrics["ece_sampling_floor"])  # fmt: skip
        entry["ratios"] = {
            f"auc_vs_{p}": ours.metrics["auc"] / peers[p]["auc"] for p in peers
        } | {f"cv_auc_vs_{p}": ours.metrics["cv_auc_mean"] / peers[p]["cv_auc_mean"] for p in peers} | {
            f"brier_vs_{p}": ours.metrics["brier"] / peers[p]["brier"] for p in peers
        }  # fmt: skip
        report[name] = entry
        print(f"\n== {name} ({spec.name}, {len(frame)} rows, test split {ours.rows['test']}) ==")
        print(f"{'model':<22}" + "".join(f"{k:>12}" for k in keys))
        for model in ("ours", *peers):
            print(f"{model:<22}" + "".join(f"{entry[model][k]:>12.4f}" for k in keys))
        print("ratios (ours / peer):", {k: round(v, 4) for k, v in entry["ratios"].items()})
        print(f"ECE of a perfectly calibrated model on this test set (sampling floor): {ours.metrics['ece_sampling_floor']:.4f}")
        if spec.time_ordered:
            print("time-ordered 80/20 (drift):", {k: round(v, 4) for k, v in entry["ours"].items() if k.startswith("drift_")})

    # Throughput: args.rows customers through each model, sampled with replacement from the real rows.
    rng = np.random.default_rng(0)
    batches = {name: frame.iloc[rng.integers(0, len(frame), args.rows)].reset_index(drop=True)
               for name, (_, frame) in scorers.items()}  # fmt: skip
    both_s = _best_of(lambda: [scorers[n][0].predict_proba(batches[n]) for n in scorers])
    matrices = {n: scorers[n][0].pipeline.transform(batches[n]) for n in scorers}
    booster_s = _best_of(lambda: [scorers[n][0].booster.inplace_predict(matrices[n]) for n in scorers])
    throughput = {
        "rows_per_model": args.rows,
        "both_models_s": both_s,
        "customers_per_s": args.rows / both_s,
        "booster_only_s": booster_s,
        "ratio_end_to_end_vs_booster_only": both_s / booster_s,
        "target_s": THROUGHPUT_TARGET_S,
        "meets_target": both_s <= THROUGHPUT_TARGET_S,
    }
    print(f"\n== scoring {args.rows:,} customers through both models ==")
    print(json.dumps(throughput, indent=2))
    machine = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
    print(json.dumps({"benchmark": "tabular", "machine": machine, **report, "throughput": throughput}))


if __name__ == "__main__":
    main()
