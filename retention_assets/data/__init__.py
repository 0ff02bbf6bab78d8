"""Raw public data, cleaned tables and their splits."""

from retention_assets.data.assets import assets

__all__ = ["assets"]
