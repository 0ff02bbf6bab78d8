"""Probability calibrators stored as JSON: Platt scaling and isotonic regression.

Both are fitted on the held-out calibration split; the one with the lower Brier score on the
validation split is kept (Niculescu-Mizil & Caruana 2005: Platt suits small calibration sets,
isotonic needs more data but fixes any monotone distortion).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

CALIBRATOR_FILE = "calibrator.json"
_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


@dataclass(frozen=True)
class Calibrator:
    """``platt``: sigmoid(a * logit(p) + b); ``isotonic``: piecewise-linear through (x, y)."""

    method: str
    params: dict

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        if self.method == "platt":
            z = self.params["a"] * _logit(raw) + self.params["b"]
            return 1.0 / (1.0 + np.exp(-z))
        if self.method == "isotonic":
            return np.interp(raw, self.params["x"], self.params["y"])
        raise ValueError(f"unknown calibration method {self.method!r}")

    def to_json(self) -> dict:
        return {"method": self.method, **self.params}

    @classmethod
    def from_json(cls, data: dict) -> "Calibrator":
        data = dict(data)
        method = data.pop("method")
        if method not in ("platt", "isotonic"):
            raise ValueError(f"{CALIBRATOR_FILE}: unknown calibration method {method!r}")
        return cls(method, data)

    def save(self, directory: Path) -> None:
        (directory / CALIBRATOR_FILE).write_text(json.dumps(self.to_json(), indent=2))

    @classmethod
    def load(cls, directory: Path) -> "Calibrator":
        return cls.from_json(json.loads((directory / CALIBRATOR_FILE).read_text()))


def fit_platt(raw: np.ndarray, y: np.ndarray) -> Calibrator:
    # A very weak L2 penalty: effectively unregularised Platt scaling on the model's logit.
    lr = LogisticRegression(C=1e6).fit(_logit(raw).reshape(-1, 1), y)
    return Calibrator("platt", {"a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])})


def fit_isotonic(raw: np.ndarray, y: np.ndarray) -> Calibrator:
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
    return Calibrator("isotonic", {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()})


FITTERS = {"platt": fit_platt, "isotonic": fit_isotonic}


def choose_calibrator(
    methods: list[str], raw_cal: np.ndarray, y_cal: np.ndarray, raw_val: np.ndarray, y_val: np.ndarray
) -> tuple[Calibrator, dict[str, float]]:
    """Fit each method on the calibration split; keep the lowest validation Brier score."""
    briers = {}
    fitted = {}
    for method in methods:
        fitted[method] = FITTERS[method](raw_cal, y_cal)
        briers[method] = float(np.mean((fitted[method](raw_val) - y_val) ** 2))
    best = min(briers, key=briers.get)
    return fitted[best], briers
