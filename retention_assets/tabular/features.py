"""The feature pipeline: raw columns -> a float32 matrix, stored as JSON next to the model.

Categoricals are one-hot encoded against the levels seen in training; numerics are cast to
float (NaN stays NaN, which XGBoost treats as missing). The same matrix feeds XGBoost and the
logistic-regression baseline (which standardises it on top).

Unseen category values (and missing categoricals) are handled by ``unseen``:
- ``"zero"`` (the default): the row gets no active one-hot column for that feature, i.e. it is
  scored as "none of the known levels". XGBoost then follows the branch a row takes when every
  known level is absent, which is a defined, deterministic path; the count is reported by
  :meth:`FeaturePipeline.unseen_counts` so callers can log or alert on it.
- ``"error"``: raise ``ScoringInputError`` naming the column and the unseen values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

PIPELINE_FILE = "pipeline.json"
SEPARATOR = "="  # one-hot column names are "<feature>=<level>"


class ScoringInputError(ValueError):
    """A scoring frame the model cannot use; the message names the columns or values."""


@dataclass(frozen=True)
class FeaturePipeline:
    categorical: dict[str, list[str]]  # feature -> known levels, in one-hot order
    numeric: list[str]
    unseen: Literal["zero", "error"] = "zero"

    # -- building --------------------------------------------------------------------------

    @classmethod
    def fit(
        cls, frame: pd.DataFrame, categorical: list[str], numeric: list[str], unseen: str = "zero"
    ) -> "FeaturePipeline":
        _require_columns(frame, categorical + numeric)
        levels = {c: sorted(frame[c].dropna().astype(str).unique().tolist()) for c in categorical}
        return cls(categorical=levels, numeric=list(numeric), unseen=unseen)

    @property
    def inputs(self) -> list[str]:
        """The raw columns a scoring frame must have."""
        return list(self.categorical) + self.numeric

    @property
    def columns(self) -> list[str]:
        """The matrix columns, in order: one-hot columns, then numerics."""
        return [f"{c}{SEPARATOR}{level}" for c, levels in self.categorical.items() for level in levels] + self.numeric

    def source_of(self) -> list[str]:
        """For each matrix column, the raw input column it comes from."""
        return [c for c, levels in self.categorical.items() for _ in levels] + self.numeric

    # -- transforming ----------------------------------------------------------------------

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        _require_columns(frame, self.inputs)
        n = len(frame)
        out = np.zeros((n, len(self.columns)), dtype=np.float32)
        rows = np.arange(n)
        offset = 0
        for name, levels in self.categorical.items():
            codes = self._codes(frame[name], name, levels)
            known = codes >= 0
            out[rows[known], offset + codes[known]] = 1.0
            offset += len(levels)
        for name in self.numeric:
            try:
                out[:, offset] = pd.to_numeric(frame[name], errors="raise").to_numpy(dtype=np.float32, na_value=np.nan)
            except (ValueError, TypeError) as exc:
                raise ScoringInputError(f"column {name!r} must be numeric: {exc}") from None
            offset += 1
        return out

    def _codes(self, column: pd.Series, name: str, levels: list[str]) -> np.ndarray:
        if isinstance(column.dtype, pd.CategoricalDtype) and list(column.cat.categories) == levels:
            codes = column.cat.codes.to_numpy()
        else:
            index = pd.Index(levels)
            codes = index.get_indexer(column)  # a hash lookup; missing and unknown values give -1
            unmatched = np.flatnonzero(codes < 0)
            if unmatched.size:  # non-string values (e.g. 1 for "1") are compared as strings
                values = column.iloc[unmatched]
                present = values.notna().to_numpy()
                codes[unmatched[present]] = index.get_indexer(values[present].astype(str))
        if self.unseen == "error" and (codes < 0).any():
            bad = sorted(set(column[codes < 0].astype(str).unique()))[:10]
            raise ScoringInputError(f"column {name!r} has values unseen in training: {bad}")
        return np.asarray(codes)

    def unseen_counts(self, frame: pd.DataFrame) -> dict[str, int]:
        """How many rows of each categorical column hold a value the model never saw."""
        _require_columns(frame, self.inputs)
        return {
            name: int((~frame[name].astype(str).isin(levels) | frame[name].isna()).sum())
            for name, levels in self.categorical.items()
        }

    # -- storage ---------------------------------------------------------------------------

    def to_json(self) -> dict:
        return {"categorical": self.categorical, "numeric": self.numeric, "unseen": self.unseen}

    @classmethod
    def from_json(cls, data: dict) -> "FeaturePipeline":
        return cls(categorical={k: list(v) for k, v in data["categorical"].items()}, numeric=list(data["numeric"]),
                   unseen=data.get("unseen", "zero"))  # fmt: skip

    def save(self, directory: Path) -> None:
        (directory / PIPELINE_FILE).write_text(json.dumps(self.to_json(), indent=2))

    @classmethod
    def load(cls, directory: Path) -> "FeaturePipeline":
        return cls.from_json(json.loads((directory / PIPELINE_FILE).read_text()))


def _require_columns(frame: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ScoringInputError(f"scoring frame is missing column(s) {missing}")
