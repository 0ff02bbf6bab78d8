"""The three assets through the real compute resource: each step runs as ``python -m`` in a
subprocess over Dagster Pipes, on the tiny OPT, and reports its documented metadata. The PPO
prompts are scored by a real risk_model, trained and published in the same run."""

from __future__ import annotations

import io
import json

import dagster as dg
import pandas as pd
import yaml

from retention_assets.data.assets import assets as data_assets
from retention_assets.data import telco
from retention_assets.data.splits import stratified_split
from retention_assets.llm import message_policy, reward, sft
from retention_assets.llm.assets import assets as llm_assets
from retention_assets.profiles import build_resources
from retention_assets.settings import load_config
from retention_assets.tabular.assets import assets as tabular_assets
from retention_assets_tests.llm.conftest import FRACTIONS
from retention_assets_tests.llm.test_training import planted
from resources.storage.artifacts import ArtifactStore
from resources.storage.object_store import open_store


def write_table(root, name: str, frame: pd.DataFrame) -> None:
    """Where TableIOManager keeps an upstream asset's value."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    open_store(str(root)).put_bytes(f"tables/{name}.parquet", buffer.getvalue())


def test_llm_assets_materialize_through_pipes_with_documented_metadata(
    tiny_opt, sft_tables, preference_tables, mirror, tmp_path
):
    root = tmp_path / "storage"
    pairs, splits = sft_tables
    preferences, preference_splits = preference_tables
    path = mirror / "telco" / "WA_Fn-UseC_-Telco-Customer-Churn.csv"
    customers, _ = telco.parse_telco(path.read_bytes(), str(path))
    tables = {
        "sft_pairs": pairs, "sft_splits": splits, "preference_pairs": planted(preferences),
        "preference_splits": preference_splits, "telco_customers": customers,
        "customer_splits": stratified_split(customers[telco.ID], customers[telco.LABEL], FRACTIONS, 42),
    }  # fmt: skip
    for name, frame in tables.items():
        write_table(root, name, frame)
    lora = {"r": 4, "alpha": 8, "dropout": 0.0}
    config_file = tmp_path / "experiment.yaml"
    config_file.write_text(yaml.safe_dump({
        "name": "llm-steps-test",
        "storage": {"root": str(root)},
        "llm": {
            "torch_threads": 1,
            "model": {"source": str(tiny_opt), "max_length": 64},
            "sft": {"lora": lora, "batch_size": 8, "learning_rate": 3e-3, "max_train_pairs": 64, "max_eval_pairs": 16},
            "reward": {"lora": lora, "batch_size": 8, "learning_rate": 3e-3, "epochs": 2, "max_train_pairs": 256,
                       "max_eval_pairs": 32, "min_eval_accuracy": 0.6},
            "ppo": {"lora": lora, "steps": 2, "rollouts_per_step": 8, "minibatch_size": 4, "max_new_tokens": 8, "ppo_epochs": 2},
            "rules": {"probe_customers": 4},
        },
    }))  # fmt: skip
    resources = build_resources(load_config(config_file), str(config_file))

    result = dg.materialize(
        [*data_assets, *tabular_assets, *llm_assets], selection=[dg.AssetKey("risk_model"), *(a.key for a in llm_assets)],
        resources=resources,
    )  # fmt: skip

    assert result.success
    for asset, module in [("sft_model", sft), ("reward_model", reward), ("ppo_text_policy", message_policy)]:
        metadata = result.asset_materializations_for_node(asset)[0].metadata
        assert set(module.REPORTED) <= set(metadata), f"{asset}: missing {set(module.REPORTED) - set(metadata)}"
        assert metadata["compute_backend"].value == "local"
        ref = json.loads(open_store(str(root)).get_bytes(f"tables/{asset}.json"))
        assert ArtifactStore.at(str(root)).fetch(dg_ref(ref)).is_dir()
    sft_meta = result.asset_materializations_for_node("sft_model")[0].metadata
    assert sft_meta["eval_loss_after"].value < sft_meta["eval_loss_before"].value
    assert sft_meta["loss_curve"].value.startswith("![")
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["held_out_loss_lowered"] and checks["beats_length_baseline"]
    assert "messages_follow_rules" in checks
    ppo_meta = result.asset_materializations_for_node("ppo_text_policy")[0].metadata
    assert len(ppo_meta["history"].value) == 2
    assert 0 <= ppo_meta["violation_rate"].value <= 1
    # The step got risk_model's scores: every prompt names a risk band.
    assert all(" risk of leaving.\n" in m["prompt"] for m in ppo_meta["sample_messages"].value)
    # No step input is left behind in storage.
    assert not open_store(str(root)).list("step_inputs")


def dg_ref(data: dict):
    from resources.storage.artifacts import ArtifactRef

    return ArtifactRef.from_dict(data)
