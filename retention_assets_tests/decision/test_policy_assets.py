"""decision_policy and policy_evaluation materialize through Dagster with the code location's resources."""

from __future__ import annotations

import pandas as pd

from retention_assets.decision.ppo_lag import load_agent
from resources.storage.artifacts import ArtifactRef
from retention_assets_tests.decision.conftest import TINY_DECISION


def test_policy_and_evaluation_materialize(workspace):
    result = workspace.materialize(["decision_policy", "policy_evaluation"], TINY_DECISION)
    assert result.success, [e.message for e in result.all_events if e.is_failure]

    ref = result.output_for_node("decision_policy")
    assert isinstance(ref, ArtifactRef)
    agent, meta = load_agent(workspace.store().fetch(ref))  # manifest-verified safetensors + JSON
    assert meta["config"]["ppo"]["iterations"] == 4 and len(meta["training"]["lambdas"]["budget"]) == 4
    policy_meta = result.asset_materializations_for_node("decision_policy")[0].metadata
    assert "data:image/png;base64," in policy_meta["training_curves"].value
    assert "does not give the causal effect" in policy_meta["assumptions"].value
    assert "treatment_effect" in policy_meta["assumptions"].value

    rows = result.output_for_node("policy_evaluation")
    assert isinstance(rows, pd.DataFrame)
    policies = {"ppo_lag", "ppo_lag_unshielded", "no_contact", "random", "propensity", "thompson", "uplift"}
    assert set(rows["policy"]) == policies and set(rows["scenario"]) == {"nominal", "budget_-50%"}
    assert len(rows) == len(policies) * 2 * 2  # policies x scenarios x seeds
    # Same cohorts: no_contact's NRR per seed is the reference every ROI is measured against.
    assert rows[rows["policy"] == "no_contact"]["roi"].isna().all()
    eval_meta = result.asset_materializations_for_node("policy_evaluation")[0].metadata
    table = eval_meta["comparison"].value
    assert "| NRR | ROI |" in table and "budget_-50%" in table and "propensity" in table
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert {"violation_rate_within_target", "policy_beats_baselines", "costs_within_limits"} <= set(checks)
