"""The `tabular` domain: calibrated XGBoost churn-risk and offer-acceptance models.

Its Dagster definitions are in ``assets.py``. Other domains score customers with
``scorer.load_scorer(store, ref).predict_proba(df)``.
"""
