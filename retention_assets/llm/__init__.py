"""The `llm` domain: SFT, reward model and the PPO message policy, as validated checkpoints.

Its Dagster definitions are in ``assets.py``; each heavy step is a Pipes entry module
(``python -m retention_assets.llm.sft``, ``.reward``, ``.message_policy``).
"""
