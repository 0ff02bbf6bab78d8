"""SFT, reward model and PPO on a tiny OPT with the real mirrored data: each learns what it should."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from retention_assets.llm import models, ppo, prompts, reward, sft
from retention_assets.llm.config import LLMConfig

MARKER = "Wonderful! "


def test_sft_lowers_held_out_loss_and_publishes_a_reloadable_adapter(tiny_config, sft_tables, tmp_path):
    pairs, splits = sft_tables
    metrics = sft.train_sft(tiny_config, pairs, splits, tmp_path)
    assert metrics["eval_loss_after"] < metrics["eval_loss_before"] - 0.05
    assert metrics["eval_perplexity_after"] == pytest.approx(np.exp(metrics["eval_loss_after"]))
    assert metrics["eval_pairs"] > 0 and metrics["train_steps"] > 0
    probe = sft.validate_sft(tmp_path, tiny_config)  # reload from disk: same probe loss, non-empty reply
    assert probe["probe_reply"].strip()


def planted(pairs):
    """HH pairs where the chosen answer is a random one of the two, prefixed with a marker word:
    the only signal is the marker, and length says nothing."""
    rng = np.random.default_rng(0)
    swap = rng.random(len(pairs)) < 0.5
    first = pairs["chosen"].where(~swap, pairs["rejected"])
    second = pairs["rejected"].where(~swap, pairs["chosen"])
    return pairs.assign(chosen=MARKER + first, rejected=second)


def test_reward_model_learns_a_planted_preference(tiny_config, preference_tables, tmp_path):
    pairs, splits = preference_tables
    config = tiny_config.model_copy(update={"reward": tiny_config.reward.model_copy(update={"epochs": 2, "max_train_pairs": 640})})
    metrics = reward.train_reward(config, planted(pairs), splits, tmp_path)
    assert metrics["eval_accuracy"] >= 0.9 > metrics["eval_accuracy_before"] + 0.2
    assert abs(metrics["length_baseline_accuracy"] - 0.5) < 0.15
    assert set(metrics["eval_accuracy_by_source"]) == {"hh-rlhf/helpful-base", "hh-rlhf/harmless-base"}
    assert metrics["eval_mean_margin"] > 0
    reward.validate_reward(tmp_path, config)


def test_reward_micro_batches_accumulate_to_the_full_batch_gradient(tiny_config, preference_tables):
    """Gradient accumulation (micro_batch_size) bounds memory without changing the update."""
    from peft import TaskType

    pairs, _ = preference_tables
    tokenizer = models.load_tokenizer(tiny_config.model)
    encoded = reward.encode_pairs(tokenizer, pairs.head(6), tiny_config.model.max_length)
    torch.manual_seed(0)
    model = models.with_lora(models.load_sequence_classifier(tiny_config.model, tokenizer), tiny_config.reward.lora, TaskType.SEQ_CLS)
    model.eval()  # no dropout: the two passes must see the same function
    grads = []
    for micro in (6, 4):  # whole batch; micro-batches of 4 + 2 pairs
        model.zero_grad(set_to_none=True)
        loss = reward.accumulate_gradients(model, encoded, tokenizer.pad_token_id, micro, bf16=False)
        grads.append((loss, torch.cat([p.grad.flatten() for p in model.parameters() if p.requires_grad])))
    (whole_loss, whole), (micro_loss, micro) = grads
    assert whole.abs().sum() > 0
    assert micro_loss == pytest.approx(whole_loss, rel=1e-5)
    torch.testing.assert_close(micro, whole, rtol=1e-4, atol=1e-6)


def test_top_layers_adapts_only_the_top_layers_and_the_head_gets_its_own_rate(tiny_config, preference_tables):
    """``lora.top_layers`` keeps LoRA (and so the backward pass) above the lower layers."""
    from peft import TaskType

    pairs, _ = preference_tables
    tokenizer = models.load_tokenizer(tiny_config.model)
    lora = tiny_config.reward.lora.model_copy(update={"top_layers": 1})  # the tiny OPT has 2 layers
    model = models.with_lora(models.load_sequence_classifier(tiny_config.model, tokenizer), lora, TaskType.SEQ_CLS)
    adapted = {name.split(".layers.")[1].split(".")[0] for name, _ in model.named_parameters() if "lora_" in name}
    assert adapted == {"1"}
    encoded = reward.encode_pairs(tokenizer, pairs.head(4), tiny_config.model.max_length)
    reward.accumulate_gradients(model, encoded, tokenizer.pad_token_id, 4, bf16=False)
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert all(p.grad is not None for p in trainable.values())
    # lora_B starts at zero (so lora_A's first gradient is zero too); B and the head must move.
    assert all(p.grad.abs().sum() > 0 for n, p in trainable.items() if "lora_B" in n or "modules_to_save" in n)
    groups = reward.param_groups(model, 1e-4, 2e-3)
    assert [g["lr"] for g in groups] == [1e-4, 2e-3]
    assert sum(p.numel() for p in groups[1]["params"]) == model.config.word_embed_proj_dim  # the score head, no bias
    with pytest.raises(ValueError, match="top_layers"):
        models.lora_config(lora, TaskType.SEQ_CLS)


@pytest.fixture(scope="module")
def peaked_opt(mirror, tmp_path_factory):
    """A tiny OPT with large initial weights: a peaked next-token distribution (entropy about 2
    nats at temperature 0.7 instead of ln 50k), so 16 rollouts a step see repeated choices."""
    from transformers import AutoTokenizer, OPTConfig, OPTForCausalLM

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(mirror / "tokenizers" / "opt")
    config = OPTConfig(
        vocab_size=len(tokenizer), init_std=0.5, hidden_size=64, word_embed_proj_dim=64, ffn_dim=128,
        num_hidden_layers=2, num_attention_heads=4, pad_token_id=1, bos_token_id=2, eos_token_id=2,
    )  # fmt: skip
    path = tmp_path_factory.mktemp("peaked-opt")
    OPTForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def common_words(trainer, scenarios) -> list[str]:
    """Five words (one token each) the starting policy writes in some of its responses but not
    most: a behaviour PPO can make more frequent."""
    ids, mask, prompt_len = trainer.generate(scenarios * 4)
    tokens = [set(row[prompt_len:][m[prompt_len:].bool()].tolist()) for row, m in zip(ids, mask)]
    counts = Counter(t for r in tokens for t in r)
    words = {t: trainer.tokenizer.decode([t]).strip() for t in counts}
    ranked = sorted(((c, words[t]) for t, c in counts.items() if words[t].isalpha() and len(words[t]) >= 3), reverse=True)
    return [w for c, w in ranked if c <= 0.4 * len(tokens)][:5]


def test_ppo_raises_reward_with_kl_near_target(peaked_opt, risk_customers):
    """PPO on real telco prompts with a rule-based reward: how many of five words the starting
    policy writes only sometimes the response contains. The reward-model path is covered end to end in
    test_steps.py; here the reward is transparent, so a rise is the algorithm's doing."""
    target = 2.0
    config = LLMConfig.model_validate({
        "model": {"source": str(peaked_opt), "max_length": 160},
        # Short responses at temperature 1: a reward over a few tokens that 12 steps can climb.
        "ppo": {"lora": {"r": 8, "alpha": 16, "dropout": 0.0, "target_modules": ["q_proj", "v_proj", "fc2"]},
                "steps": 12, "rollouts_per_step": 16, "minibatch_size": 8, "max_new_tokens": 4,
                "temperature": 1.0, "learning_rate": 2e-3, "kl": {"init_beta": 0.05, "target": target, "horizon": 64}},
    })  # fmt: skip
    tokenizer = models.load_tokenizer(config.model)
    torch.manual_seed(0)
    # The same 16 real customers every step, so a batch's mean score measures the policy, not the prompts.
    # 12 steps are few: with risk-weighted draws, seeds 0 and 2 meet every bound; 1 ends just under the
    # normalised-score floor and 3 over the KL bound.
    scenarios = prompts.scenarios(risk_customers, config.offers, config.scenarios, 16, seed=2)
    markers: list[str] = []

    def score(prompts_, responses):
        return torch.tensor([float(sum(w in r for w in markers)) for r in responses])

    trainer = ppo.PPOTrainer(config, models.load_causal_lm(config.model, tokenizer), tokenizer, score)
    markers = common_words(trainer, scenarios)
    history = ppo.train_ppo(trainer, lambda step: scenarios)

    early, late = history[:3], history[-4:]
    assert np.mean([h["score"] for h in late]) > np.mean([h["score"] for h in early]) + 0.2
    # Scores are normalised on the starting policy's samples: > 0 means better than the start.
    assert np.mean([h["score_normalised"] for h in late]) > 0.3
    late_kl = np.mean([h["kl"] for h in late])
    assert target / 4 < late_kl < target * 2.5
    assert all(np.isfinite(h[k]) for h in history for k in ("entropy", "clip_frac", "beta", "response_length"))
    # The controller moves beta towards the target: up after a step above it, down after one below.
    for before, after in zip(history, history[1:]):
        assert (after["beta"] - before["beta"]) * (before["kl"] - target) >= 0
