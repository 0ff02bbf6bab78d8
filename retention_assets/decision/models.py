"""The two tabular models the simulator reads, loaded from the artifact store.

The tabular domain publishes them (``risk_model``, ``accept_model``) and owns their format;
this module only loads them through ``retention_assets.tabular.scorer.load_scorer``. There is
no fallback: a model that is not published is an error, never synthetic scores.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd

from resources.storage.artifacts import ArtifactRef, ArtifactStore


class Scorer(Protocol):
    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated P(positive) per row."""


class MissingModelError(RuntimeError):
    """A model the decision layer needs is not in the artifact store."""


def load_model(store: ArtifactStore, ref: ArtifactRef | None, name: str) -> Scorer:
    """``ref`` (or, when None, the latest published version of ``name``) as a Scorer."""
    ref = ref or store.latest(name)
    if ref is None:
        raise MissingModelError(
            f"{name}: no published version in the artifact store at {store.store.uri('artifacts/' + name)}; "
            f"materialize the tabular asset {name!r} first"
        )
    try:
        from retention_assets.tabular.scorer import load_scorer
    except ImportError as exc:  # the tabular domain has not shipped its scorer
        raise MissingModelError(f"{name}: cannot load {ref.uri}: {exc}") from exc
    try:
        return load_scorer(store, ref)
    except FileNotFoundError as exc:
        raise MissingModelError(f"{name}: {ref.uri} is not in the artifact store: {exc}") from exc
