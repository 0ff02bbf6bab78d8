"""Schedules and sensors that keep the models honest as the data changes.

- ``model_reevaluation_schedule`` retrains and re-evaluates the models weekly, so drift shows up
  in the metrics history even when nobody touches the pipeline.
- ``customer_data_sensor`` watches the customer file (the configured ``data.telco_uri`` or the
  pinned public file) and launches the whole pipeline when its content changes: a new export of
  the customer base means new risk scores, a new policy and a new evaluation.
"""

from __future__ import annotations

import hashlib

import dagster as dg

from retention_assets.data.sources import fetch, sha256_file
from retention_assets.jobs import model_reevaluation, retention_pipeline
from retention_assets.settings import ExperimentResource
from resources.storage.object_store import read_uri

model_reevaluation_schedule = dg.ScheduleDefinition(
    name="model_reevaluation_schedule",
    job=model_reevaluation,
    cron_schedule="0 3 * * 1",  # Mondays 03:00, after the weekly customer export
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)


def customer_file_fingerprint(experiment: ExperimentResource) -> tuple[str, str]:
    """(where, sha256) of the customer file the pipeline would read now."""
    config = experiment.config.data
    if config.telco_uri:
        return config.telco_uri, hashlib.sha256(read_uri(config.telco_uri)).hexdigest()
    path = fetch("telco", config.cache_dir)
    return str(path), sha256_file(path)


@dg.sensor(job=retention_pipeline, minimum_interval_seconds=600, default_status=dg.DefaultSensorStatus.STOPPED)
def customer_data_sensor(context: dg.SensorEvaluationContext, experiment: ExperimentResource):
    where, digest = customer_file_fingerprint(experiment)
    if digest == context.cursor:
        return dg.SkipReason(f"{where} unchanged (sha256 {digest[:12]})")
    context.update_cursor(digest)
    return dg.RunRequest(run_key=digest, tags={"customer_file": where, "customer_file_sha256": digest})


schedules = [model_reevaluation_schedule]
sensors = [customer_data_sensor]
