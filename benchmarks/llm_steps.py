"""The three LLM step functions end to end, as the assets run them, timed on whatever device is here.

    RETENTION_MIRROR=../shared/data .venv/bin/python benchmarks/llm_steps.py [--arch opt-350m | MODEL_DIR]

SFT -> validate -> reward model -> validate -> PPO with its rules gate -> validate, a few steps
each, on the OPT-350m architecture (random weights) by default. Meant for a GPU machine: it shows
that every step, checkpoint reload and probe runs there, and how long each step takes. Quality
figures mean nothing with random weights.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import llm as bench  # noqa: E402  (benchmarks/llm.py: tables and the OPT-350m builder)

from retention_assets.llm import message_policy, models, prompts, reward, sft  # noqa: E402
from retention_assets.llm.config import LLMConfig  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="opt-350m", help="opt-350m (random weights) or a local model directory")
    cli = parser.parse_args()
    root = bench.mirror()
    (pairs, sft_splits), (prefs, pref_splits), customers = bench.load_tables(root)
    customers = prompts.with_contract_risk(customers)  # no risk_model here
    work = Path(tempfile.mkdtemp(prefix="llm-steps-"))
    source = bench.opt_350m(root, work / "model") if cli.arch == "opt-350m" else Path(cli.arch)
    lora = {"r": 8, "alpha": 16, "dropout": 0.0}
    config = LLMConfig.model_validate({
        "model": {"source": str(source), "max_length": 256}, "autocast_bf16": True,
        "sft": {"lora": lora, "max_steps": 5, "max_eval_pairs": 16},
        "reward": {"lora": {**lora, "top_layers": 4}, "max_steps": 5, "max_train_pairs": 64, "max_eval_pairs": 32},
        "ppo": {"lora": lora, "steps": 3, "rollouts_per_step": 16, "minibatch_size": 8, "max_new_tokens": 24},
        "rules": {"probe_customers": 8},
    })  # fmt: skip
    figures = {"device": str(models.device())}
    start = time.perf_counter()
    sft.train_sft(config, pairs, sft_splits, work / "sft")
    sft.validate_sft(work / "sft", config)
    figures["sft_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    reward.train_reward(config, prefs, pref_splits, work / "reward")
    reward.validate_reward(work / "reward", config)
    figures["reward_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    metrics, _ = message_policy.run_ppo(config, work / "sft", work / "reward", customers, None, work / "ppo")
    message_policy.validate_policy(work / "ppo", config)
    figures.update(ppo_seconds=time.perf_counter() - start, ppo_seconds_per_step=metrics["seconds_per_step"])
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
