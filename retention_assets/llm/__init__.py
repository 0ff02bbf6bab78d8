"""The `llm` domain: SFT, reward model and the PPO message policy, as validated checkpoints.

``assets`` is resolved lazily (PEP 562): ``settings`` imports ``llm.config`` while it is itself
being imported, and the assets need ``settings``. The quality gates are the assets' own
blocking check specs.
"""

from importlib import import_module

asset_checks: list = []
schedules: list = []
sensors: list = []

__all__ = ["assets", "asset_checks", "schedules", "sensors"]


def __getattr__(name: str):
    if name == "assets":
        return import_module(f"{__name__}.assets").assets
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
