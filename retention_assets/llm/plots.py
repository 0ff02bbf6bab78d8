"""Training curves as a Markdown image (base64 PNG), for Dagster's materialization metadata."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")  # no display in a step's process
import matplotlib.pyplot as plt  # noqa: E402


def curves_markdown(history: list[dict], keys: list[str], title: str) -> str:
    """One small panel per key against the step number."""
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 2.6), squeeze=False)
    steps = [row["step"] for row in history]
    for ax, key in zip(axes[0], keys):
        ax.plot(steps, [row[key] for row in history], marker=".")
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return f"![{title}](data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()})"
