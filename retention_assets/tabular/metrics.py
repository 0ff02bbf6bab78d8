"""Discrimination and calibration metrics, and the reliability diagram."""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score


def _bins(p: np.ndarray, bins: int) -> np.ndarray:
    # Equal-width bins on [0, 1]; p == 1 falls in the last bin.
    return np.minimum((np.asarray(p) * bins).astype(int), bins - 1)


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """ECE (Naeini et al. 2015; Guo et al. 2017): sum over bins of |B|/n * |mean(y) - mean(p)|."""
    p, index = np.asarray(p, dtype=np.float64), _bins(p, bins)
    gap = np.bincount(index, weights=np.asarray(y, dtype=np.float64) - p, minlength=bins)
    # sum_b |B|/n * |mean_y - mean_p| = sum_b |sum_y - sum_p| / n
    return float(np.abs(gap).sum() / len(p))


def ece_sampling_floor(p: np.ndarray, bins: int = 15, draws: int = 200, seed: int = 0) -> float:
    """The mean ECE of a *perfectly* calibrated model on a test set of this size and shape.

    Labels are drawn from ``p`` itself, so any ECE measured is pure sampling noise: an ECE near
    this floor cannot be told apart from perfect calibration on this many rows.
    """
    rng = np.random.default_rng(seed)
    return float(np.mean([expected_calibration_error(p, rng.random(len(p)) < p, bins) for _ in range(draws)]))


def reliability_table(p: np.ndarray, y: np.ndarray, bins: int = 15) -> pd.DataFrame:
    """Per non-empty bin: rows, mean predicted probability and observed positive rate."""
    frame = pd.DataFrame({"bin": _bins(p, bins), "p": p, "y": y})
    table = frame.groupby("bin").agg(count=("y", "size"), predicted=("p", "mean"), observed=("y", "mean"))
    return table.reset_index()


def binary_metrics(p: np.ndarray, y: np.ndarray, bins: int = 15) -> dict[str, float]:
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    return {
        "auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, np.clip(p, 1e-7, 1 - 1e-7), labels=[0, 1])),
        "ece": expected_calibration_error(p, y, bins),
    }


def reliability_png(curves: dict[str, pd.DataFrame], title: str) -> bytes:
    """A reliability diagram (one curve per entry, marker area ~ rows in the bin) as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.5, 4.5), dpi=90)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect")
    for label, table in curves.items():
        sizes = 10 + 200 * table["count"] / table["count"].max()
        ax.plot(table["predicted"], table["observed"], marker="", lw=1.5, label=label)
        ax.scatter(table["predicted"], table["observed"], s=sizes, alpha=0.6)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="mean predicted probability", ylabel="observed rate", title=title)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def png_markdown(png: bytes, alt: str) -> str:
    """Markdown that shows ``png`` inline (a base64 data URI), for Dagster's MetadataValue.md."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})"
