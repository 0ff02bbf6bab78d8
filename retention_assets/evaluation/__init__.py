"""The `evaluation` domain: business metrics of every policy, nominal and under stress.

Its Dagster definitions are in ``assets.py``.
"""
