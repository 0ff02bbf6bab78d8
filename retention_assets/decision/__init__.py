"""The `decision` domain: its assets, checks, schedules and sensors are exported here.

``assets`` is resolved lazily (PEP 562): ``settings`` imports ``decision.config`` while it is
itself being imported, and the assets need ``settings``.
"""

from importlib import import_module

asset_checks: list = []  # the checks are check_specs of the assets themselves
schedules: list = []
sensors: list = []

__all__ = ["assets", "asset_checks", "schedules", "sensors"]


def __getattr__(name: str):
    if name == "assets":
        return import_module(f"{__name__}.asset_defs").assets
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
