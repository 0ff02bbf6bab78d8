"""Corrupted checkpoints are refused; the message rules catch what they exist to catch."""

from __future__ import annotations

import pytest

from retention_assets.llm import reward, rules
from retention_assets.llm.checkpoints import CheckpointError
from retention_assets.llm.config import LLMConfig, Offer, RulesSettings
from retention_assets.llm.prompts import Scenario
from resources.storage.artifacts import ArtifactStore, CorruptArtifactError

ADAPTER = "adapter_model.safetensors"


@pytest.fixture
def reward_checkpoint(tiny_config, preference_tables, tmp_path):
    config = tiny_config.model_copy(update={"reward": tiny_config.reward.model_copy(update={"max_train_pairs": 32, "max_eval_pairs": 8})})
    out = tmp_path / "reward"
    reward.train_reward(config, *preference_tables, out)
    return config, out


def flip_byte(path, offset: int = -100) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_corrupted_checkpoint_is_refused_at_publish_and_at_fetch(reward_checkpoint, tmp_path):
    config, out = reward_checkpoint
    store = ArtifactStore.at(str(tmp_path / "store"))
    ref = store.publish("reward_model", out, validate=lambda staged: reward.validate_reward(staged, config))

    # A published file altered afterwards: the manifest hash refuses it.
    flip_byte(tmp_path / "store" / "artifacts" / "reward_model" / ref.version / ADAPTER)
    with pytest.raises(CorruptArtifactError, match=ADAPTER):
        store.fetch(ref)

    # A checkpoint whose weights were damaged before publishing: the reload probe refuses it and
    # LATEST keeps pointing at the last good version.
    flip_byte(out / ADAPTER, offset=-1)  # the sign and exponent of the last weight
    with pytest.raises(CheckpointError, match="reward_model"):
        store.publish("reward_model", out, validate=lambda staged: reward.validate_reward(staged, config))
    assert store.latest("reward_model") == ref


def test_truncated_weights_fail_to_load_with_the_file_named(reward_checkpoint):
    config, out = reward_checkpoint
    path = out / ADAPTER
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match=str(out)):
        reward.load_reward(out, config)


def test_a_checkpoint_of_another_kind_is_refused(reward_checkpoint):
    from retention_assets.llm import sft

    config, out = reward_checkpoint
    with pytest.raises(CheckpointError, match="holds a 'reward_model' checkpoint, expected 'sft_adapter'"):
        sft.load_sft(out, config)


CUSTOMER = {"customerID": "7590-VHVEG", "tenure": 5, "MonthlyCharges": 70.35, "PaymentMethod": "Electronic check", "churn_risk": 0.734}
OFFER = Offer(name="a 20% discount", discount_percent=20, keywords=["20%"])


@pytest.mark.parametrize(
    ("message", "broken"),
    [
        ("We would love to keep you: enjoy 20% off your next three bills.", []),
        ("Enjoy 20% off, or even 50% off if you call today.", ["other_discount"]),
        ("Take $15 off your next bill.", ["other_discount"]),
        ("Your bill of $70.35 could be lower with 20% off.", ["echoes_MonthlyCharges"]),
        ("Dear 7590-VHVEG, here is 20% off.", ["echoes_customerID"]),
        ("Paying by electronic check? Get 20% off.", ["echoes_PaymentMethod"]),
        ("Act now: 20% off is your last chance!", ["banned_phrase"]),
        ("Our model gives you a 0.73 chance of leaving, so here is 20% off.", ["echoes_churn_risk"]),
        ("You are 73% likely to leave: take 20% off.", ["other_discount", "echoes_churn_risk"]),
        ("Your 20% off starts on the 73rd day at 10.73 am.", []),
        ("word " * 121, ["too_long"]),
    ],
)
def test_rules_catch_each_violation(message, broken):
    scenario = Scenario(customer=CUSTOMER, offer=OFFER, prompt="")
    assert rules.violations(message, scenario, RulesSettings()) == broken


def test_the_offered_percentage_is_not_a_risk_echo():
    scenario = Scenario(customer={**CUSTOMER, "churn_risk": 0.2}, offer=OFFER, prompt="")
    assert rules.violations("Enjoy 20% off your next three bills.", scenario, RulesSettings()) == []


def test_violation_rate_counts_messages_not_rules():
    scenario = Scenario(customer=CUSTOMER, offer=OFFER, prompt="")
    report = rules.check_messages(["Act now, 50% off!", "20% off for you."], [scenario] * 2, RulesSettings())
    assert report["violation_rate"] == 0.5
    assert report["violations_by_rule"] == {"other_discount": 1, "banned_phrase": 1}


def test_ppo_minibatches_must_divide_the_batch():
    with pytest.raises(ValueError, match="must be a multiple of minibatch_size"):
        LLMConfig.model_validate({"ppo": {"rollouts_per_step": 10, "minibatch_size": 4}})


@pytest.mark.parametrize(("gate", "severity"), [("block", "ERROR"), ("warn", "WARN")])
def test_length_baseline_gate_fails_at_the_configured_severity(gate, severity):
    """Only an ERROR stops PPO downstream; a profile may choose to be warned instead."""
    from retention_assets.llm.assets import length_baseline_check
    from retention_assets.llm.config import RewardSettings

    settings = RewardSettings(gate=gate, min_eval_accuracy=0.5)
    losing = length_baseline_check({"eval_accuracy": 0.52, "length_baseline_accuracy": 0.53}, settings)
    assert not losing.passed and losing.severity.value == severity
    assert losing.metadata["gate"].value == gate
    assert length_baseline_check({"eval_accuracy": 0.58, "length_baseline_accuracy": 0.53}, settings).passed
    assert not length_baseline_check({"eval_accuracy": 0.45, "length_baseline_accuracy": 0.40}, settings).passed  # under the floor
