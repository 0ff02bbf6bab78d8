"""Scenarios come from real customers, drawn by churn risk and told the risk only as a band."""

from __future__ import annotations

import numpy as np
import pytest

from retention_assets.llm import message_policy, prompts
from retention_assets.llm.config import LLMConfig, ScenarioSettings

CONFIG = LLMConfig()


def month_to_month_share(scenarios) -> float:
    return np.mean([s.customer["Contract"] == "Month-to-month" for s in scenarios])


def test_scenarios_favour_high_risk_customers(risk_customers):
    # Month-to-month customers are 55% of the table and carry the highest risk (0.43 vs 0.11, 0.03).
    weighted = prompts.scenarios(risk_customers, CONFIG.offers, CONFIG.scenarios, 200, seed=0)
    uniform = prompts.scenarios(risk_customers, CONFIG.offers, ScenarioSettings(risk_weight_power=0), 200, seed=0)
    assert month_to_month_share(weighted) > 0.8  # 0.89 expected
    assert 0.45 < month_to_month_share(uniform) < 0.65
    assert np.mean([s.customer[prompts.RISK] for s in weighted]) > risk_customers[prompts.RISK].mean() + 0.1
    # Seeded: the same seed draws the same customers.
    again = prompts.scenarios(risk_customers, CONFIG.offers, CONFIG.scenarios, 200, seed=0)
    assert [s.prompt for s in again] == [s.prompt for s in weighted]


@pytest.mark.parametrize(("risk", "band"), [(0.73, "high"), (0.5, "high"), (0.27, "moderate"), (0.05, "low")])
def test_prompt_states_the_risk_band_not_the_figure(risk_customers, risk, band):
    customer = {**risk_customers.iloc[0].to_dict(), prompts.RISK: risk}
    prompt = prompts.describe(customer, CONFIG.offers[0], CONFIG.scenarios)
    assert f"They are at {band} risk of leaving.\n" in prompt
    assert str(risk) not in prompt and f"{round(risk * 100)}%" not in prompt


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda c: c.drop(columns=[prompts.RISK]), r"missing column\(s\) \['churn_risk'\]"),
        (lambda c: c.assign(churn_risk=c[prompts.RISK] * 3), r"column 'churn_risk' must be a probability in \[0, 1\]"),
        (lambda c: c.assign(churn_risk=np.nan), r"column 'churn_risk' must be a probability in \[0, 1\]"),
        (lambda c: c.assign(churn_risk="high"), r"column 'churn_risk' must be numeric"),
    ],
)
def test_the_step_refuses_customers_without_a_valid_churn_risk(risk_customers, tmp_path, change, error):
    """Before any model is loaded (the checkpoint paths do not exist)."""
    with pytest.raises(ValueError, match=error):
        message_policy.run_ppo(CONFIG, tmp_path / "sft", tmp_path / "reward", change(risk_customers), None, tmp_path / "out")


def test_risk_bands_must_cover_every_risk():
    with pytest.raises(ValueError, match="one band must have min_risk 0"):
        ScenarioSettings.model_validate({"risk_bands": [{"label": "high risk of leaving", "min_risk": 0.5}]})
