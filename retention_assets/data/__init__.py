"""The `data` domain: raw public (or your own) files, cleaned into typed tables and splits.

Its Dagster definitions are in ``assets.py``.
"""
