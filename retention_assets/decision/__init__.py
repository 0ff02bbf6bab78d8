"""The `decision` domain: RetentionEnv, the Lagrangian-PPO decision policy and the baselines.

Its Dagster definitions are in ``assets.py``.
"""
