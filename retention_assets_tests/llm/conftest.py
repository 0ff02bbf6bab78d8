"""LLM test fixtures: a tiny random OPT with the mirrored OPT tokenizer, and the real mirrored data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from retention_assets.data import oasst1, preferences, telco
from retention_assets.data.splits import group_split, stratified_split
from retention_assets.llm import prompts
from retention_assets.llm.config import LLMConfig

FRACTIONS = {"train": 0.6, "validation": 0.1, "calibration": 0.1, "test": 0.2}


@pytest.fixture(scope="session", autouse=True)
def _few_threads():
    torch.set_num_threads(1)  # two cores are shared by everyone on this machine


@pytest.fixture(scope="session")
def tiny_opt(mirror, tmp_path_factory) -> Path:
    """A 2-layer OPT with small dimensions and the real OPT tokenizer, saved as a local directory."""
    from transformers import AutoTokenizer, OPTConfig, OPTForCausalLM

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(mirror / "tokenizers" / "opt")
    config = OPTConfig(
        vocab_size=len(tokenizer), hidden_size=64, word_embed_proj_dim=64, ffn_dim=128, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=512, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )  # fmt: skip
    path = tmp_path_factory.mktemp("tiny-opt")
    OPTForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture
def tiny_config(tiny_opt) -> LLMConfig:
    """Small, fast settings on the tiny OPT; tests override what they exercise."""
    return LLMConfig.model_validate({
        "model": {"source": str(tiny_opt), "max_length": 96},
        "sft": {"lora": {"r": 8, "alpha": 16, "dropout": 0.0}, "learning_rate": 3e-3, "batch_size": 16,
                "max_train_pairs": 320, "max_eval_pairs": 64},
        "reward": {"lora": {"r": 8, "alpha": 16, "dropout": 0.0}, "learning_rate": 3e-3, "batch_size": 16,
                   "max_train_pairs": 320, "max_eval_pairs": 96},
        "ppo": {"lora": {"r": 8, "alpha": 16, "dropout": 0.0}, "steps": 6, "rollouts_per_step": 16,
                "minibatch_size": 8, "max_new_tokens": 12, "learning_rate": 3e-3},
        "rules": {"probe_customers": 8},
    })  # fmt: skip


@pytest.fixture(scope="session")
def sft_tables(mirror) -> tuple[pd.DataFrame, pd.DataFrame]:
    path = mirror / "oasst1" / "oasst1_validation_en.jsonl"
    pairs = oasst1.parse_oasst1(path.read_bytes(), str(path))
    return pairs, group_split(pairs["pair_id"], pairs["message_tree_id"], FRACTIONS, 42)


@pytest.fixture(scope="session")
def preference_tables(mirror) -> tuple[pd.DataFrame, pd.DataFrame]:
    frames = []
    for subset in ("helpful-base", "harmless-base"):
        path = mirror / "hh_rlhf" / subset / "test.jsonl.gz"
        frames.append(preferences.parse_hh_rlhf(path.read_bytes(), str(path), f"hh-rlhf/{subset}"))
    pairs = pd.concat(frames, ignore_index=True)
    return pairs, stratified_split(pairs["pair_id"], pairs["source"], FRACTIONS, 42)


@pytest.fixture(scope="session")
def risk_customers(mirror) -> pd.DataFrame:
    """The real telco customers with ``churn_risk``: each contract type's churn rate (about 0.43,
    0.11, 0.03), where a test trains no tabular model."""
    path = mirror / "telco" / "WA_Fn-UseC_-Telco-Customer-Churn.csv"
    customers, _ = telco.parse_telco(path.read_bytes(), str(path))
    return prompts.with_contract_risk(customers)
