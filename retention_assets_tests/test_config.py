"""Experiment configs: every bad key fails naming the key and the file; the shipped configs load."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from retention_assets.definitions import build_definitions
from retention_assets.settings import PROJECT_ROOT, ConfigError, ExperimentConfig, load_config


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "experiment.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("path", sorted((PROJECT_ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_loads(path):
    config = load_config(path)
    assert config.name == yaml.safe_load(path.read_text())["name"]


def test_the_local_and_mvp_configs_choose_their_profiles():
    assert load_config(PROJECT_ROOT / "configs" / "local.yaml").storage.is_gcs is False
    mvp = load_config(PROJECT_ROOT / "configs" / "exp_001_mvp.yaml")
    assert (mvp.profile, mvp.storage.is_gcs, mvp.compute.backend) == ("gcp", True, "vertex")


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("name: t\ndata:\n  telco_urii: x.csv\n", "data.telco_urii", "Extra inputs are not permitted"),
        ("name: t\nstorage:\n  root: /tmp/x\n  bucket: b\n", "storage.bucket", "Extra inputs are not permitted"),
        ("name: t\nlearning_rate: 0.1\n", "learning_rate", "Extra inputs are not permitted"),
        ("name: t\ndata:\n  expectations:\n    telco_customers:\n      min_rows: 1\n      max_rowz: 9\n",
         "data.expectations.telco_customers.max_rowz", "Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_an_unknown_key_fails_naming_the_key_and_the_file(tmp_path, text, key, problem):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert message.startswith(f"invalid experiment config {path}:")
    assert f"  {key}: {problem}" in message


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("name: t\ndata:\n  splits:\n    seed: forty-two\n", "data.splits.seed", "valid integer"),
        ("name: t\nprofile: aws\n", "profile", "Input should be 'local' or 'gcp'"),
        ("name: t\ncompute:\n  backend: slurm\n", "compute.backend", "Input should be 'local' or 'vertex'"),
        ("name: t\ndata:\n  hh_rlhf_uris: a.jsonl.gz\n", "data.hh_rlhf_uris", "valid list"),
        ("name: t\ndata:\n  shp2_min_score_ratio: 0.5\n", "data.shp2_min_score_ratio", "greater than or equal to 1"),
        ("data: {}\n", "name", "Field required"),
        ("name: t\ndata:\n  expectations:\n    telco_customers: {min_rows: 9, max_rows: 1}\n",
         "data.expectations.telco_customers", "min_rows (9) exceeds max_rows (1)"),
        ("name: t\ndata:\n  expectations:\n    telco_customer: {min_rows: 1, max_rows: 9}\n",
         "data.expectations", "no data asset named ['telco_customer']"),
    ],
)  # fmt: skip
def test_an_ill_typed_key_fails_naming_the_key_and_the_file(tmp_path, text, key, problem):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert str(path) in message and f"  {key}: " in message and problem in message, message


def test_split_fractions_must_sum_to_one(tmp_path):
    path = _write(tmp_path, "name: t\ndata:\n  splits:\n    train: 0.7\n")
    with pytest.raises(ConfigError, match=r"data\.splits: Value error, split fractions must sum to 1, got 1\.1000"):
        load_config(path)
    fine = _write(tmp_path, "name: t\ndata:\n  splits: {train: 0.7, validation: 0.1, calibration: 0.0, test: 0.2}\n")
    assert load_config(fine).data.splits.fractions()["calibration"] == 0.0


@pytest.mark.parametrize(
    ("text", "problem"),
    [("name: [unclosed\n", "is not valid YAML"), ("- a\n- b\n", "must be a mapping at the top level")],
)
def test_unreadable_files_are_named(tmp_path, text, problem):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=problem) as error:
        load_config(path)
    assert str(path) in str(error.value)


def test_a_missing_file_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("RETENTION_CONFIG", str(tmp_path / "nowhere.yaml"))
    with pytest.raises(ConfigError, match=f"{tmp_path / 'nowhere.yaml'} does not exist"):
        load_config()


def test_expectations_override_only_the_named_asset(tmp_path):
    path = _write(tmp_path, "name: t\ndata:\n  expectations:\n    telco_customers: {min_rows: 10, max_rows: 20}\n")
    data = load_config(path).data
    assert (data.expectation("telco_customers").min_rows, data.expectation("bank_contacts").min_rows) == (10, 41000)


def test_configs_are_immutable():
    config = ExperimentConfig(name="t")
    with pytest.raises(ValueError, match="frozen"):
        config.data.splits.seed = 1  # type: ignore[misc]


def test_the_code_location_refuses_a_bad_config(tmp_path):
    path = _write(tmp_path, "name: t\nstorage:\n  rooot: /tmp/x\n")
    with pytest.raises(ConfigError, match=r"storage\.rooot: Extra inputs are not permitted"):
        build_definitions(str(path))
