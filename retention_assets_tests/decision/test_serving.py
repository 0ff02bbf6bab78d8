"""PPO-Lag as served: the action masks keep it inside fatigue and cooldown, the guard inside budget.

A deliberately contact-hungry agent (the 20% discount to everyone, always) is the adversary: without
masks and guard it breaches every rule, with them it breaches none.
"""

from __future__ import annotations

import numpy as np
import torch

from retention_assets.decision.env import RetentionVectorEnv
from retention_assets.decision.policies import PPOLagPolicy
from retention_assets.decision.ppo_lag import Agent
from retention_assets.evaluation.rollout import run_cohort

DISCOUNT_20 = 3


def _hungry_agent(pool, config) -> Agent:
    """An agent that offers everyone the 20% discount whenever it may (its logits: bias only, in effect)."""
    probe = RetentionVectorEnv(1, pool, config.simulator, config.constraints)
    agent = Agent(probe.dynamics.obs_dim, probe.dynamics.n_actions, 16)
    with torch.no_grad():
        agent.actor[-1].bias[DISCOUNT_20] = 5.0
    return agent


def _with(config, masks: bool):
    return config.model_copy(update={"constraints": config.constraints.model_copy(update={"action_masks": masks})})


def test_masked_actions_never_breach_fatigue_or_cooldown(pool, config):
    agent = _hungry_agent(pool, config)
    unmasked = run_cohort(pool, _with(config, False), PPOLagPolicy(_with(config, False), agent, shield=False), seed=4,
                          cohort_size=512)  # fmt: skip
    assert unmasked.fatigue_breaches > 0 and unmasked.cooldown_breaches > 0  # the adversary is real
    masked = _with(config, True)
    env = RetentionVectorEnv(512, pool, masked.simulator, masked.constraints)
    obs, info = env.reset(seed=4)
    for _ in range(masked.simulator.horizon):
        action = agent.act(obs, info["action_mask"])
        assert info["action_mask"][np.arange(512), action].all()  # the agent only picks allowed actions
        obs, _, _, _, info = env.step(action)
        assert info["cost"][:, 1:].sum() == 0  # no fatigue, no cooldown breach
    outcome = run_cohort(pool, masked, PPOLagPolicy(masked, agent, shield=False), seed=4, cohort_size=512)
    assert outcome.contacts > 0 and outcome.fatigue_breaches == 0 and outcome.cooldown_breaches == 0


def test_guard_keeps_the_served_policy_within_the_cohort_budget(pool, config):
    agent = _hungry_agent(pool, config)
    free = run_cohort(pool, config, PPOLagPolicy(config, agent, shield=False), seed=4, cohort_size=512)
    assert free.budget_overrun  # contacting nearly everyone every period blows the budget
    guarded = run_cohort(pool, config, PPOLagPolicy(config, agent, shield=True), seed=4, cohort_size=512)
    assert 0 < guarded.campaign_cost <= guarded.budget and guarded.contacts > 0
