"""Jobs over the lineage graph."""

import dagster as dg

# The main job: every materializable asset, in lineage order.
retention_pipeline = dg.define_asset_job("retention_pipeline", selection=dg.AssetSelection.all())
data_job = dg.define_asset_job("data_job", selection=dg.AssetSelection.groups("data"))
# Retrain and re-evaluate the models on the current tables (the data assets are not re-read).
model_reevaluation = dg.define_asset_job(
    "model_reevaluation", selection=dg.AssetSelection.groups("tabular", "decision", "evaluation")
)

jobs = [retention_pipeline, data_job, model_reevaluation]
