"""The `tabular` domain: its assets, checks, schedules and sensors are exported here."""

assets: list = []
asset_checks: list = []
schedules: list = []
sensors: list = []
