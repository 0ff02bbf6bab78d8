"""The compute section of the experiment config: bad values fail with the key named."""

import pytest
import yaml

from resources.compute.config import ComputeConfig, MachineSpec
from resources.compute.vertex import step_command, vertex_labels
from retention_assets.settings import ConfigError, load_config


def _load(tmp_path, compute: dict):
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "compute": compute}))
    return load_config(path)


def test_unknown_key_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"compute\.machines\.sft\.gpu_count: Extra inputs are not permitted"):
        _load(tmp_path, {"machines": {"sft": {"machine_type": "a2-highgpu-1g", "gpu_count": 1}}})


def test_accelerator_type_needs_a_count(tmp_path):
    with pytest.raises(ConfigError, match=r"compute\.machines\.sft: .*accelerator_type and accelerator_count"):
        _load(tmp_path, {"machines": {"sft": {"machine_type": "a2-highgpu-1g", "accelerator_type": "NVIDIA_TESLA_A100"}}})


def test_vertex_backend_needs_its_settings(tmp_path):
    with pytest.raises(ConfigError, match="backend 'vertex' needs a compute.vertex section"):
        _load(tmp_path, {"backend": "vertex"})
    with pytest.raises(ConfigError, match=r"compute\.vertex\.staging_uri: String should match pattern"):
        _load(tmp_path, {"backend": "vertex", "vertex": {"project": "p", "image_uri": "i", "staging_uri": "/tmp/x"}})


def test_price_table_names_the_missing_price():
    prices = ComputeConfig().prices
    with pytest.raises(KeyError, match="machine_hourly_usd has no price for 'z9-mega'"):
        prices.cost_usd(MachineSpec(machine_type="z9-mega"), 3600)
    two_t4 = MachineSpec(machine_type="n1-standard-8", accelerator_type="NVIDIA_TESLA_T4", accelerator_count=2, replica_count=2)
    # two replicas, each one machine and two GPUs, for half an hour
    assert prices.cost_usd(two_t4, 1800) == pytest.approx(2 * (0.4370 + 2 * 0.4025) / 2)


def test_mvp_config_fits_three_gpu_jobs_in_its_budget():
    compute = load_config("configs/exp_001_mvp.yaml").compute
    worst = sum(compute.prices.cost_usd(compute.machine(s), compute.machine(s).timeout_s) for s in compute.machines)
    assert compute.backend == "vertex" and compute.budget_usd == 100.0 and worst < compute.budget_usd


def test_launch_command_and_labels():
    one = MachineSpec(machine_type="a2-highgpu-1g", accelerator_type="NVIDIA_TESLA_A100", accelerator_count=1)
    four = MachineSpec(machine_type="a2-highgpu-4g", accelerator_type="NVIDIA_TESLA_A100", accelerator_count=4)
    assert step_command("m.sft", one, "torchrun") == ["python", "-m", "m.sft"]
    assert step_command("m.sft", four, "accelerate") == ["accelerate", "launch", "--num_processes=4", "-m", "m.sft"]
    assert vertex_labels({"dagster-asset": "LLM/SFT Model"}) == {"dagster-asset": "llm-sft-model"}
