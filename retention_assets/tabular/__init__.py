"""The `tabular` domain: calibrated XGBoost churn-risk and offer-acceptance models.

Other domains score customers with ``load_scorer(store, ref).predict_proba(df)``.

Exports are resolved lazily (PEP 562): ``settings`` imports ``tabular.config`` while it is
itself being imported, and the assets need ``settings``, so importing them here eagerly would
be a circular import.
"""

from importlib import import_module

_EXPORTS = {
    "assets": "model_assets",
    "Scorer": "scorer",
    "ScoringInputError": "scorer",
    "load_scorer": "scorer",
    "ModelSpec": "train",
    "TrainedModel": "train",
    "train_model": "train",
    "risk_spec": "specs",
    "accept_spec": "specs",
}

# The quality gates are blocking check_specs of the assets themselves.
asset_checks: list = []
schedules: list = []
sensors: list = []

__all__ = ["asset_checks", "schedules", "sensors", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
