"""Jobs over the whole lineage graph."""

import dagster as dg

# The main job: every materializable asset, in lineage order.
retention_pipeline = dg.define_asset_job("retention_pipeline", selection=dg.AssetSelection.all())
data_job = dg.define_asset_job("data_job", selection=dg.AssetSelection.groups("data"))

jobs = [retention_pipeline, data_job]
