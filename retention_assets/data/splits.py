"""Deterministic, seeded split assignments: ``(id, split)`` tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

SPLITS = ("train", "validation", "calibration", "test")


def _cut(n: int, fractions: dict[str, float]) -> np.ndarray:
    """Split names for ``n`` shuffled items, in proportion to ``fractions``."""
    names = [name for name in SPLITS if fractions.get(name, 0) > 0]
    bounds = np.round(np.cumsum([fractions[name] for name in names]) * n).astype(int)
    return np.repeat(names, np.diff(np.concatenate([[0], bounds])))


def stratified_split(ids: pd.Series, labels: pd.Series, fractions: dict[str, float], seed: int) -> pd.DataFrame:
    """Each label's rows are shuffled and cut separately, so every split keeps the label rate."""
    rng = np.random.default_rng(seed)
    parts = []
    for label in sorted(labels.unique()):
        members = ids[labels == label].to_numpy()
        members = members[rng.permutation(len(members))]
        parts.append(pd.DataFrame({"id": members, "split": _cut(len(members), fractions)}))
    return _ordered(pd.concat(parts, ignore_index=True), ids)


def group_split(ids: pd.Series, groups: pd.Series, fractions: dict[str, float], seed: int) -> pd.DataFrame:
    """Whole groups (e.g. conversation trees) go to one split, so no group crosses splits."""
    rng = np.random.default_rng(seed)
    unique = np.sort(groups.unique())
    unique = unique[rng.permutation(len(unique))]
    by_group = dict(zip(unique, _cut(len(unique), fractions)))
    return _ordered(pd.DataFrame({"id": ids.to_numpy(), "split": groups.map(by_group).to_numpy()}), ids)


def _ordered(assignment: pd.DataFrame, ids: pd.Series) -> pd.DataFrame:
    order = pd.Series(range(len(ids)), index=ids.to_numpy())
    return assignment.sort_values("id", key=lambda s: s.map(order)).reset_index(drop=True)
