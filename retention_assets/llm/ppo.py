"""PPO for the retention-message policy, with the adaptive KL controller of Ziegler et al. 2019.

One readable file in the style of CleanRL's ``ppo.py`` and lm-human-preference-details'
``train_policy_accelerate.py``:

- policy = SFT model (adapter merged) + a fresh LoRA adapter, plus a scalar value head on the
  last hidden state; reference = the same model with the adapter disabled (frozen SFT);
- per-token reward = -beta * (log pi - log pi_ref), plus the reward-model score on the last
  response token; the score is normalised to mean 0, std 1 on the SFT policy's own samples
  before training (lm-human-preference-details, "reward normalization");
- GAE (gamma, lambda), whitened advantages, clipped policy loss, clipped value loss, several
  epochs of minibatch updates per batch of rollouts;
- beta follows the adaptive controller towards a target KL per response.

Run as a Pipes step: ``python -m retention_assets.llm.ppo``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from peft import TaskType

from retention_assets.llm import models
from retention_assets.llm.config import KLSettings, LLMConfig
from retention_assets.llm.prompts import Scenario
from retention_assets.llm.text import format_prompt, left_pad

Log = Callable[[int, dict], None]


class AdaptiveKLController:
    """beta <- beta * (1 + clip(KL / target - 1, -c, c) * n / horizon) (Ziegler et al. 2019, sec. 2.2)."""

    def __init__(self, settings: KLSettings):
        self.value = settings.init_beta
        self.settings = settings

    def update(self, kl: float, n_samples: int) -> None:
        s = self.settings
        if s.target is None:
            return
        error = float(np.clip(kl / s.target - 1, -s.error_clip, s.error_clip))
        self.value *= 1 + error * n_samples / s.horizon


def last_hidden_size(lm: torch.nn.Module) -> int:
    """Width of the last hidden state, the one the LM head reads. Not always ``hidden_size``:
    OPT-350m projects its 1024-wide layers down to 512 before the head."""
    return lm.get_output_embeddings().weight.shape[1]


class PolicyWithValue(torch.nn.Module):
    """The LoRA policy and a value head reading the same last hidden state (shared trunk, as in
    TRL's former ``AutoModelForCausalLMWithValueHead``)."""

    def __init__(self, lm: torch.nn.Module):
        super().__init__()
        self.lm = lm
        self.value_head = torch.nn.Linear(last_hidden_size(lm), 1, device=lm.device)
        torch.nn.init.zeros_(self.value_head.weight)
        torch.nn.init.zeros_(self.value_head.bias)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, response_len: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits predicting each response token, and the value of the state before it.

        Only the last ``response_len + 1`` positions go through the LM head: with a 50k-token
        vocabulary the prompt's logits would be most of the memory and time."""
        positions = (mask.cumsum(-1) - 1).clamp(min=0)  # left padding: positions start at each prompt
        out = self.lm(
            input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=False,
            output_hidden_states=True, logits_to_keep=response_len + 1,
        )  # fmt: skip
        hidden = out.hidden_states[-1][:, -response_len - 1 : -1]
        return out.logits[:, :-1], self.value_head(hidden).squeeze(-1)


@dataclass
class Batch:
    """One batch of rollouts. Response tensors are [batch, response_len]."""

    ids: torch.Tensor  # prompt (left-padded) + response
    mask: torch.Tensor  # attention mask over ``ids``; response tokens after EOS are 0
    response_mask: torch.Tensor
    logprobs: torch.Tensor
    ref_logprobs: torch.Tensor
    values: torch.Tensor
    scores: torch.Tensor  # raw reward-model scores
    texts: list[str]


def response_logprobs(logits: torch.Tensor, response: torch.Tensor, temperature: float) -> torch.Tensor:
    """log pi(response token) under ``logits / temperature`` (the distribution it was sampled from)."""
    return torch.log_softmax(logits / temperature, -1).gather(-1, response[..., None]).squeeze(-1)


def entropy(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    logp = torch.log_softmax(logits / temperature, -1)
    return -(logp.exp() * logp).sum(-1)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum() / mask.sum().clamp(min=1)


def whiten(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mean = masked_mean(x, mask)
    var = masked_mean((x - mean) ** 2, mask)
    return (x - mean) * torch.rsqrt(var + 1e-8) * mask


def gae(rewards: torch.Tensor, values: torch.Tensor, gamma: float, lam: float) -> torch.Tensor:
    """Generalised advantage estimates over the response tokens (values after EOS are zero)."""
    advantages = torch.zeros_like(rewards)
    last = torch.zeros(rewards.shape[0], device=rewards.device)
    for t in reversed(range(rewards.shape[1])):
        next_value = values[:, t + 1] if t + 1 < rewards.shape[1] else torch.zeros_like(last)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        last = delta + gamma * lam * last
        advantages[:, t] = last
    return advantages


@torch.no_grad()
def generate(lm, tokenizer, prompts: list[str], max_new_tokens: int, max_length: int, temperature: float | None):
    """``(ids, mask, prompt_len)``: left-padded prompts + responses padded to ``max_new_tokens``,
    the mask ending at each response's first EOS. ``temperature=None`` decodes greedily."""
    encoded = [tokenizer(format_prompt(p))["input_ids"][-(max_length - max_new_tokens) :] for p in prompts]
    query = models.on_device(left_pad(encoded, tokenizer.pad_token_id), lm)
    prompt_len = query["input_ids"].shape[1]
    sampling = {"do_sample": False} if temperature is None else {"do_sample": True, "top_k": 0, "top_p": 1.0, "temperature": temperature}
    out = lm.generate(
        **query, max_new_tokens=max_new_tokens, min_new_tokens=1, pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id, use_cache=True, **sampling,
    )  # fmt: skip
    response = out[:, prompt_len:]
    if response.shape[1] < max_new_tokens:  # every sequence stopped early: pad to the fixed width
        pad = torch.full((len(out), max_new_tokens - response.shape[1]), tokenizer.pad_token_id, device=out.device)
        response = torch.cat([response, pad], 1)
    is_eos = response == tokenizer.eos_token_id
    response_mask = (torch.cumsum(is_eos, 1) - is_eos.long() == 0).long()  # up to and including the first EOS
    return torch.cat([query["input_ids"], response], 1), torch.cat([query["attention_mask"], response_mask], 1), prompt_len


def decode(tokenizer, ids: torch.Tensor, mask: torch.Tensor, prompt_len: int) -> list[str]:
    return [
        tokenizer.decode(row[prompt_len:][m[prompt_len:].bool()], skip_special_tokens=True).strip()
        for row, m in zip(ids, mask)
    ]


Scorer = Callable[[list[str], list[str]], torch.Tensor]  # (prompts, responses) -> one score each


class PPOTrainer:
    """``score`` is the reward: in production the reward model (``reward.scorer``); any function
    of (prompts, responses) works, e.g. a rule-based reward."""

    def __init__(self, config: LLMConfig, policy_lm, tokenizer, score: Scorer):
        self.config, self.s = config, config.ppo
        self.tokenizer, self.score_fn = tokenizer, score
        peft_lm = models.with_lora(policy_lm, self.s.lora, TaskType.CAUSAL_LM)
        self.policy = PolicyWithValue(peft_lm).eval()
        trainable = [p for p in self.policy.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(trainable, lr=self.s.learning_rate, eps=1e-5)
        self.kl_ctl = AdaptiveKLController(self.s.kl)
        self.score_mean, self.score_std = 0.0, 1.0
        self.rng = np.random.default_rng(self.s.seed)

    # -- rollouts ------------------------------------------------------------------------

    def generate(self, scenarios: list[Scenario], greedy: bool = False) -> tuple[torch.Tensor, torch.Tensor, int]:
        prompts = [sc.prompt for sc in scenarios]
        temperature = None if greedy else self.s.temperature
        return generate(self.policy.lm, self.tokenizer, prompts, self.s.max_new_tokens, self.config.model.max_length, temperature)

    def decode(self, ids: torch.Tensor, mask: torch.Tensor, prompt_len: int) -> list[str]:
        return decode(self.tokenizer, ids, mask, prompt_len)

    @torch.no_grad()
    def score(self, scenarios: list[Scenario], texts: list[str]) -> torch.Tensor:
        return self.score_fn([s.prompt for s in scenarios], texts).float().to(self.policy.lm.device)

    @torch.no_grad()
    def rollout(self, scenarios: list[Scenario]) -> tuple[Batch, int]:
        ids, mask, prompt_len = self.generate(scenarios)
        texts = self.decode(ids, mask, prompt_len)
        n = ids.shape[1] - prompt_len
        logits, values = self.policy(ids, mask, n)
        with self.policy.lm.disable_adapter():
            ref_logits, _ = self.policy(ids, mask, n)
        t, response = self.s.temperature, ids[:, prompt_len:]
        response_mask = mask[:, prompt_len:].float()
        batch = Batch(
            ids=ids, mask=mask, response_mask=response_mask,
            logprobs=response_logprobs(logits, response, t) * response_mask,
            ref_logprobs=response_logprobs(ref_logits, response, t) * response_mask,
            values=values * response_mask,
            scores=self.score(scenarios, texts), texts=texts,
        )  # fmt: skip
        return batch, prompt_len

    def normalise_rewards(self, scenarios: list[Scenario]) -> None:
        """Set the score's mean and std on samples of the SFT policy (adapter is fresh: identity)."""
        batch, _ = self.rollout(scenarios)
        std = float(batch.scores.std())
        self.score_mean, self.score_std = float(batch.scores.mean()), std if std > 1e-6 else 1.0

    # -- one PPO step ----------------------------------------------------------------------

    def rewards(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-token rewards, per-response KL, and the normalised scores."""
        kl = (batch.logprobs - batch.ref_logprobs) * batch.response_mask
        rewards = -self.kl_ctl.value * kl
        scores = (batch.scores - self.score_mean) / self.score_std
        if self.s.no_eos_penalty is not None:
            ended = (batch.ids[:, -self.s.max_new_tokens :] == self.tokenizer.eos_token_id).any(1)
            scores = torch.where(ended, scores, torch.full_like(scores, self.s.no_eos_penalty))
        last = (batch.response_mask.sum(1).long() - 1).clamp(min=0)
        rewards[torch.arange(len(rewards), device=rewards.device), last] += scores
        return rewards, kl.sum(1), scores

    def step(self, scenarios: list[Scenario]) -> dict:
        start = time.perf_counter()
        batch, prompt_len = self.rollout(scenarios)
        rollout_seconds = time.perf_counter() - start
        rewards, kl, scores = self.rewards(batch)
        m = batch.response_mask
        raw_advantages = gae(rewards, batch.values, self.s.gamma, self.s.lam)
        returns = (raw_advantages + batch.values) * m
        advantages = whiten(raw_advantages, m)

        stats: dict[str, list[float]] = {k: [] for k in ("pg_loss", "vf_loss", "clip_frac", "vf_clip_frac", "approx_kl", "entropy")}
        # The policy stays in eval mode: dropout would make the update's log-probs differ from the
        # rollout's at ratio 1 (lm-human-preference-details turns dropout off for the same reason).
        for _ in range(self.s.ppo_epochs):
            for idx in np.split(self.rng.permutation(len(scenarios)), len(scenarios) // self.s.minibatch_size):
                idx = torch.as_tensor(idx, device=batch.ids.device)
                mb_mask = m[idx]
                logits, vpred = self.policy(batch.ids[idx], batch.mask[idx], batch.ids.shape[1] - prompt_len)
                logprobs = response_logprobs(logits, batch.ids[idx, prompt_len:], self.s.temperature)
                # Clipped value loss (CleanRL: max of clipped and unclipped squared error).
                old_v = batch.values[idx]
                v_clipped = old_v + (vpred - old_v).clamp(-self.s.clip_range_value, self.s.clip_range_value)
                vf_losses = torch.maximum((vpred - returns[idx]) ** 2, (v_clipped - returns[idx]) ** 2)
                vf_loss = 0.5 * masked_mean(vf_losses, mb_mask)
                # Clipped surrogate policy loss.
                log_ratio = (logprobs - batch.logprobs[idx]) * mb_mask
                ratio = log_ratio.exp()
                adv = advantages[idx]
                pg_losses = torch.maximum(-adv * ratio, -adv * ratio.clamp(1 - self.s.clip_range, 1 + self.s.clip_range))
                pg_loss = masked_mean(pg_losses, mb_mask)
                loss = pg_loss + self.s.value_coef * vf_loss
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.policy.parameters(), self.s.max_grad_norm)
                self.optimizer.step()
                with torch.no_grad():
                    stats["pg_loss"].append(pg_loss.item())
                    stats["vf_loss"].append(vf_loss.item())
                    stats["clip_frac"].append(masked_mean(((ratio - 1).abs() > self.s.clip_range).float(), mb_mask).item())
                    stats["vf_clip_frac"].append(masked_mean(((vpred - old_v).abs() > self.s.clip_range_value).float(), mb_mask).item())
                    stats["approx_kl"].append(masked_mean(0.5 * log_ratio**2, mb_mask).item())
                    stats["entropy"].append(masked_mean(entropy(logits, self.s.temperature), mb_mask).item())
        mean_kl = kl.mean().item()
        beta = self.kl_ctl.value
        self.kl_ctl.update(mean_kl, len(scenarios))
        return {
            "score": batch.scores.mean().item(),  # raw reward-model score
            "score_normalised": scores.mean().item(),  # > 0: better than the SFT policy
            "reward": (scores - beta * kl).mean().item(),  # normalised score minus the KL penalty
            "kl": mean_kl, "beta": beta,
            "response_length": m.sum(1).mean().item(),
            **{k: float(np.mean(v)) for k, v in stats.items()},
            "rollouts_per_s": len(scenarios) / rollout_seconds,
            "step_seconds": time.perf_counter() - start,
            "sample": batch.texts[0],
        }  # fmt: skip


def train_ppo(trainer: PPOTrainer, train_scenarios: Callable[[int], list[Scenario]], log: Log = lambda *_: None) -> list[dict]:
    """Normalise the reward on the SFT policy, then ``steps`` PPO steps; returns the per-step log.

    ``train_scenarios(step)`` gives the rollout prompts for a step (step -1: normalisation)."""
    torch.manual_seed(trainer.s.seed)
    trainer.normalise_rewards(train_scenarios(-1))
    history = []
    for step in range(trainer.s.steps):
        stats = trainer.step(train_scenarios(step))
        history.append({"step": step, **stats})
        log(step, stats)
    return history
