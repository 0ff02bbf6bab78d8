"""The PPO step: train the retention-message policy, gate it, publish it.

Run as a Pipes step: ``python -m retention_assets.llm.message_policy``. The checkpoint holds
the SFT adapter it started from (``sft/``), the PPO LoRA adapter (``policy/``) and the value head
(``value_head.safetensors``), all safetensors; ``checkpoint.json`` says how to rebuild it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd
import torch
from peft import PeftModel
from safetensors.torch import load_file, save_file

from retention_assets.llm import checkpoints, models, plots, prompts, reward, rules, sft, steps
from retention_assets.llm.config import LLMConfig
from retention_assets.llm.ppo import PPOTrainer, decode, generate, last_hidden_size, train_ppo
from retention_assets.llm.text import encode_pair

# Metadata every run of this step reports (besides the artifact ref).
REPORTED = ("score_first_step", "score_last_step", "kl_last_step", "beta_last_step", "kl_target", "probe_score_policy", "probe_score_sft", "violation_rate", "violations_by_rule", "offer_mention_rate", "rollouts_per_s", "seconds_per_step", "sample_messages", "history", "curves")
KIND = "ppo_text_policy"
CURVES = ["score", "kl", "beta", "entropy", "response_length", "clip_frac"]


def probe_scenarios(customers: pd.DataFrame, config: LLMConfig) -> list[prompts.Scenario]:
    return prompts.scenarios(customers, config.offers, config.scenarios, config.rules.probe_customers, seed=config.ppo.seed + 10_000)


def write_messages(lm, tokenizer, scenarios: list[prompts.Scenario], config: LLMConfig) -> list[str]:
    """Greedy messages for ``scenarios``: what the rules gate and the probes judge."""
    ids, mask, prompt_len = generate(lm, tokenizer, [s.prompt for s in scenarios], config.ppo.max_new_tokens, config.model.max_length, None)
    return decode(tokenizer, ids, mask, prompt_len)


def message_loss(lm, tokenizer, scenarios, messages, config: LLMConfig) -> float:
    items = [encode_pair(tokenizer, s.prompt, m, config.model.max_length) for s, m in zip(scenarios, messages)]
    return sft.token_loss(lm, items, tokenizer.pad_token_id, config.ppo.minibatch_size)[0]


def save_policy(trainer: PPOTrainer, sft_dir: Path, out_dir: Path, probes: list[prompts.Scenario], messages: list[str]) -> None:
    shutil.copytree(sft_dir, out_dir / "sft", ignore=shutil.ignore_patterns("MANIFEST.json"))
    trainer.policy.lm.save_pretrained(str(out_dir / "policy"))
    head = trainer.policy.value_head
    save_file({"weight": head.weight.detach().cpu().contiguous(), "bias": head.bias.detach().cpu().contiguous()}, out_dir / "value_head.safetensors")
    checkpoints.write_meta(
        out_dir, KIND, base=trainer.config.model.model_dump(),
        probe_prompts=[s.prompt for s in probes], probe_messages=messages,
        probe_loss=message_loss(trainer.policy.lm, trainer.tokenizer, probes, messages, trainer.config),
    )  # fmt: skip


def load_policy(directory: Path, config: LLMConfig | None = None):
    """``(lm, value_head_state, tokenizer, meta)``; a broken checkpoint raises ``CheckpointError``."""

    def load(path: Path):
        meta = checkpoints.read_meta(path, KIND)
        source = config.model if config else models.ModelSource(**meta["base"])
        tokenizer = models.load_tokenizer(source)
        lm = PeftModel.from_pretrained(models.load_sft_model(source, tokenizer, path / "sft"), str(path / "policy")).eval()
        head = load_file(path / "value_head.safetensors")
        hidden = last_hidden_size(lm)
        if head["weight"].shape != (1, hidden):
            raise checkpoints.CheckpointError(f"{path}/value_head.safetensors: weight {tuple(head['weight'].shape)}, expected (1, {hidden})")
        return lm, head, tokenizer, meta

    return checkpoints.guarded_load(directory, load)


def validate_policy(directory: Path, config: LLMConfig) -> None:
    """The reloaded policy must give its probe messages the loss the trained one gave, and write text."""
    lm, _, tokenizer, meta = load_policy(directory, config)
    probes = [prompts.Scenario(customer={}, offer=config.offers[0], prompt=p) for p in meta["probe_prompts"]]
    loss = message_loss(lm, tokenizer, probes, meta["probe_messages"], config)
    checkpoints.check_probe("ppo_text_policy", {"probe_loss": meta["probe_loss"]}, {"probe_loss": loss}, 1e-3)
    if not any(m.strip() for m in write_messages(lm, tokenizer, probes[:2], config)):
        raise checkpoints.CheckpointError("ppo_text_policy: reloaded policy wrote only empty messages")


def run_ppo(config: LLMConfig, sft_dir: Path, reward_dir: Path, customers: pd.DataFrame, splits: pd.DataFrame | None, out_dir: Path, log=lambda *_: None) -> tuple[dict, list[dict]]:
    """Train, write the gate's messages, save the checkpoint; returns (metrics, per-step history).
    ``customers`` is telco_customers with risk_model's score as ``churn_risk``."""
    prompts.check_customers(customers)  # before minutes of model loading
    tokenizer = models.load_tokenizer(config.model)
    policy_lm = models.load_sft_model(config.model, tokenizer, sft_dir)
    reward_model, reward_tokenizer, _ = reward.load_reward(reward_dir, config)
    score = reward.scorer(reward_model, reward_tokenizer, config.model.max_length, config.ppo.minibatch_size)
    trainer = PPOTrainer(config, policy_lm, tokenizer, score)
    train_customers, held_out = prompts.split_customers(customers, splits)
    n = config.ppo.rollouts_per_step
    history = train_ppo(trainer, lambda step: prompts.scenarios(train_customers, config.offers, config.scenarios, n, seed=config.ppo.seed + step + 1), log)
    probes = probe_scenarios(held_out, config)
    with torch.no_grad():
        messages = write_messages(trainer.policy.lm, tokenizer, probes, config)
        with trainer.policy.lm.disable_adapter():
            sft_messages = write_messages(trainer.policy.lm, tokenizer, probes, config)
        probe_scores = trainer.score(probes, messages)
        sft_scores = trainer.score(probes, sft_messages)
    gate = rules.check_messages(messages, probes, config.rules)
    mentions = sum(any(k.lower() in m.lower() for k in s.offer.keywords) for s, m in zip(probes, messages))
    save_policy(trainer, sft_dir, out_dir, probes, messages)
    last = history[-1]
    metrics = {
        "score_first_step": history[0]["score"], "score_last_step": last["score"],
        "score_normalised_last_step": last["score_normalised"], "kl_last_step": last["kl"], "beta_last_step": last["beta"],
        "kl_target": config.ppo.kl.target, "probe_score_policy": probe_scores.mean().item(),
        "probe_score_sft": sft_scores.mean().item(), "violation_rate": gate["violation_rate"],
        "violations_by_rule": gate["violations_by_rule"], "offer_mention_rate": mentions / len(probes),
        "rollouts_per_s": sum(r["rollouts_per_s"] for r in history) / len(history),
        "seconds_per_step": sum(r["step_seconds"] for r in history) / len(history),
        "sample_messages": [{"prompt": s.prompt, "message": m, "violations": v} for s, m, v in zip(probes[:4], messages, gate["per_message"])],
    }  # fmt: skip
    return metrics, history


def main(params: dict, reporter) -> dict:
    config = steps.step_config(params)
    customers = steps.read_table(params, "telco_customers")
    splits = steps.read_table(params, "customer_splits") if "customer_splits" in params["inputs"] else None
    sft_dir = steps.fetch_checkpoint(reporter.store, params, "sft_model")
    reward_dir = steps.fetch_checkpoint(reporter.store, params, "reward_model")
    with tempfile.TemporaryDirectory(prefix="ppo-") as tmp:
        out = Path(tmp)
        metrics, history = run_ppo(config, sft_dir, reward_dir, customers, splits, out, lambda s, st: reporter.log.info(f"ppo step {s}: {st}"))
        reporter.publish(KIND, out, validate=lambda staged: validate_policy(staged, config))
    gate_passed = metrics["violation_rate"] <= config.rules.max_violation_rate
    reporter.check("messages_follow_rules", passed=gate_passed, metadata={
        "violation_rate": metrics["violation_rate"], "max_violation_rate": config.rules.max_violation_rate,
        "violations_by_rule": {"raw_value": metrics["violations_by_rule"], "type": "json"},
    })  # fmt: skip
    return {
        **{k: v for k, v in metrics.items() if k not in ("violations_by_rule", "sample_messages")},
        "violations_by_rule": {"raw_value": metrics["violations_by_rule"], "type": "json"},
        "sample_messages": {"raw_value": metrics["sample_messages"], "type": "json"},
        "history": steps.history_metadata(history),
        "curves": steps.md(plots.curves_markdown(history, CURVES, "PPO per step")),
    }


if __name__ == "__main__":
    from resources.compute.entry import run_entry

    run_entry(main)
