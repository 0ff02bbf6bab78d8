"""The customer-data sensor fires once per new customer file, and the schedule targets the models."""

from pathlib import Path

import dagster as dg

from retention_assets.automation import customer_data_sensor, model_reevaluation_schedule
from retention_assets.definitions import defs
from retention_assets.settings import ExperimentResource


def _experiment(tmp_path: Path, customer_file: Path) -> ExperimentResource:
    config = tmp_path / "exp.yaml"
    config.write_text(f"name: sensor-test\ndata:\n  telco_uri: {customer_file}\nstorage:\n  root: {tmp_path / 'store'}\n")
    return ExperimentResource(config_path=str(config))


def _evaluate(experiment: ExperimentResource, instance, cursor):
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"experiment": experiment})
    return customer_data_sensor(context), context.cursor


def test_sensor_requests_a_run_only_when_the_customer_file_changes(tmp_path, mirror):
    customers = tmp_path / "customers.csv"
    original = (mirror / "telco/WA_Fn-UseC_-Telco-Customer-Churn.csv").read_bytes()
    customers.write_bytes(original)
    experiment = _experiment(tmp_path, customers)
    with dg.instance_for_test() as instance:
        first, cursor = _evaluate(experiment, instance, None)
        assert isinstance(first, dg.RunRequest)
        assert first.tags["customer_file"] == str(customers)

        unchanged, same_cursor = _evaluate(experiment, instance, cursor)
        assert isinstance(unchanged, dg.SkipReason)
        assert same_cursor == cursor

        customers.write_bytes(original + original.splitlines(keepends=True)[1])
        changed, new_cursor = _evaluate(experiment, instance, cursor)
        assert isinstance(changed, dg.RunRequest)
        assert new_cursor != cursor and changed.run_key == new_cursor


def test_weekly_schedule_reevaluates_the_model_groups():
    job = defs.resolve_job_def(model_reevaluation_schedule.job_name)
    selected = job.asset_layer.selected_asset_keys
    groups = {defs.get_repository_def().asset_graph.get(key).group_name for key in selected}
    assert groups == {"tabular", "decision", "evaluation"}
    assert {dg.AssetKey("risk_model"), dg.AssetKey("policy_evaluation")} <= selected
