"""PPO-Lagrangian on the batched RetentionEnv, in the manner of CleanRL's ``ppo.py``.

Clipped PPO with GAE, one reward critic and one cost critic per constraint (OmniSafe ``PPOLag``:
``omnisafe/algorithms/on_policy/naive_lagrange/ppo_lag.py``; ``CPPOPID`` with the PID
multiplier). Each iteration:

1. roll out ``num_steps`` periods of ``num_customers`` customers;
2. GAE for the reward and for each cost; ``Jc`` = the mean cost of the episodes that ended;
3. update each multiplier from ``Jc`` against its limit ``d``;
   With ``expected_churn`` the reward, the costs and the bootstrap use the simulator's survival
   probability in place of the sampled churn (expected-SARSA-style targets): the same expected
   return with far less variance, available in a simulator only;
4. PPO epochs on the advantage ``(A_r - sum_j lambda_j A_cj) / (1 + sum_j lambda_j)``: reward
   advantages standardised, cost advantages centred, as OmniSafe's buffer does.

With ``constraints.action_masks`` the actor samples, and is updated, only over the actions the
fatigue and cooldown rules allow (masked logits), so those costs are zero by construction and
their multipliers stay at rest; the budget remains a learned (Lagrangian) constraint.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.distributions import Categorical

from retention_assets.decision.config import DecisionConfig
from retention_assets.decision.customers import CustomerPool
from retention_assets.decision.env import CONSTRAINTS, RetentionVectorEnv
from retention_assets.decision.lagrange import make_multiplier

WEIGHTS = "policy.safetensors"
POLICY_CONFIG = "policy.json"


def constraint_limits(config: DecisionConfig) -> dict[str, float]:
    """Per customer-episode limits ``d``: budget as a share of the customer's budget."""
    rules = config.constraints
    return {"budget": rules.budget_safety, "fatigue": rules.fatigue_limit, "cooldown": rules.cooldown_limit}


def _layer(n_in: int, n_out: int, std: float = np.sqrt(2)) -> nn.Linear:
    layer = nn.Linear(n_in, n_out)
    nn.init.orthogonal_(layer.weight, std)
    nn.init.constant_(layer.bias, 0.0)
    return layer


class Agent(nn.Module):
    """A categorical actor and a critic with one value head for the reward and one per constraint."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: int, n_costs: int = len(CONSTRAINTS),
                 no_contact_prob: float | None = None):  # fmt: skip
        super().__init__()
        self.obs_dim, self.n_actions, self.hidden, self.n_costs = obs_dim, n_actions, hidden, n_costs
        self.actor = nn.Sequential(_layer(obs_dim, hidden), nn.Tanh(), _layer(hidden, hidden), nn.Tanh(),
                                   _layer(hidden, n_actions, 0.01))  # fmt: skip
        self.critic = nn.Sequential(_layer(obs_dim, hidden), nn.Tanh(), _layer(hidden, hidden), nn.Tanh(),
                                    _layer(hidden, 1 + n_costs, 1.0))  # fmt: skip
        if no_contact_prob is not None:
            # Start from a mostly-quiet policy: a uniform one contacts 80% of customers each
            # period, overspends ~8x and breaches every rule, and the multipliers' reaction to
            # that first shock collapses the policy onto "never contact".
            with torch.no_grad():
                self.actor[-1].bias[0] = float(np.log(no_contact_prob / (1 - no_contact_prob) * (n_actions - 1)))

    def values(self, obs: torch.Tensor) -> torch.Tensor:
        return self.critic(obs)  # (batch, 1 + n_costs): reward value, then each cost value

    def distribution(self, obs: torch.Tensor, mask: torch.Tensor | None = None) -> Categorical:
        logits = self.actor(obs)
        if mask is not None:
            logits = logits.masked_fill(~mask, -1e8)
        return Categorical(logits=logits)

    @torch.no_grad()
    def probabilities(self, obs: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        return self.distribution(torch.as_tensor(obs), None if mask is None else torch.as_tensor(mask)).probs.numpy()

    def act(self, obs: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        return self.probabilities(obs, mask).argmax(-1)

    def config(self) -> dict:
        return {"obs_dim": self.obs_dim, "n_actions": self.n_actions, "hidden": self.hidden, "n_costs": self.n_costs}


def save_agent(agent: Agent, directory: Path, extra: dict) -> None:
    save_file({k: v.contiguous() for k, v in agent.state_dict().items()}, str(directory / WEIGHTS))
    (directory / POLICY_CONFIG).write_text(json.dumps({"agent": agent.config(), **extra}, indent=2, sort_keys=True))


def load_agent(directory: Path) -> tuple[Agent, dict]:
    meta = json.loads((Path(directory) / POLICY_CONFIG).read_text())
    agent = Agent(**meta["agent"])
    agent.load_state_dict(load_file(str(Path(directory) / WEIGHTS)))
    agent.eval()
    return agent, meta


@dataclass
class TrainingLog:
    """Per iteration: wall time, mean episode return ($) and each constraint's Jc and lambda."""

    limits: dict[str, float]
    seconds: list[float] = field(default_factory=list)
    episode_return: list[float] = field(default_factory=list)
    costs: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in CONSTRAINTS})
    lambdas: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in CONSTRAINTS})

    def to_dict(self) -> dict:
        return {"limits": self.limits, "seconds": self.seconds, "episode_return": self.episode_return,
                "costs": self.costs, "lambdas": self.lambdas}  # fmt: skip


def train_ppo_lag(
    pool: CustomerPool,
    config: DecisionConfig,
    callback: Callable[[int, Agent, TrainingLog], bool] | None = None,
) -> tuple[Agent, TrainingLog]:
    """Train a policy; ``callback(iteration, agent, log)`` may return True to stop early."""
    ppo = config.ppo
    torch.manual_seed(ppo.seed)
    torch.set_num_threads(1)  # small networks: threads cost more than they give on 2 cores
    env = RetentionVectorEnv(ppo.num_customers, pool, config.simulator, config.constraints, randomize_budget=True)
    n, steps, k = ppo.num_customers, ppo.num_steps, len(CONSTRAINTS)
    agent = Agent(env.dynamics.obs_dim, env.dynamics.n_actions, ppo.hidden, k, ppo.initial_no_contact_prob)
    optimizer = torch.optim.Adam(agent.parameters(), lr=ppo.learning_rate, eps=1e-5)
    limits = constraint_limits(config)
    multipliers = [make_multiplier(ppo.lagrange, limits[c]) for c in CONSTRAINTS]
    log = TrainingLog(limits=limits)

    obs_buf = torch.zeros((steps, n, env.dynamics.obs_dim))
    mask_buf = torch.ones((steps, n, env.dynamics.n_actions), dtype=torch.bool)
    act_buf = torch.zeros((steps, n), dtype=torch.long)
    logp_buf = torch.zeros((steps, n))
    rew_buf = torch.zeros((steps, n, 1 + k))  # reward (scaled) then each cost
    val_buf = torch.zeros((steps, n, 1 + k))
    next_val_buf = torch.zeros((steps, n, 1 + k))  # discounted-in value of what follows each step
    restart_buf = torch.zeros((steps, n), dtype=torch.bool)  # autoreset steps: no transition
    ended_buf = torch.zeros((steps, n))

    obs_np, info = env.reset(seed=ppo.seed)
    obs, mask = torch.as_tensor(obs_np), torch.as_tensor(info["action_mask"])
    ep_sum = np.zeros((n, 1 + k))
    start = time.perf_counter()
    batch = n * steps
    minibatch = batch // ppo.num_minibatches

    for iteration in range(ppo.iterations):
        if ppo.anneal_lr:
            optimizer.param_groups[0]["lr"] = ppo.learning_rate * (1.0 - iteration / ppo.iterations)
        finished: list[np.ndarray] = []
        for step in range(steps):
            obs_buf[step], mask_buf[step] = obs, mask
            with torch.no_grad():
                dist = agent.distribution(obs, mask if config.constraints.action_masks else None)
                action = dist.sample()
                logp_buf[step], val_buf[step] = dist.log_prob(action), agent.values(obs)
            act_buf[step] = action
            obs_np, reward, terminated, truncated, info = env.step(action.numpy())
            restart = info["restarted"]
            restart_buf[step] = torch.as_tensor(restart)
            ended = terminated | truncated
            ended_buf[step] = torch.as_tensor(ended, dtype=torch.float32)
            with torch.no_grad():
                next_value = agent.values(torch.as_tensor(obs_np))  # for a slot that ended: its last state
            if ppo.expected_churn:
                # Churn in expectation: the next state's value weighted by this period's survival.
                signals = np.concatenate([info["expected_reward"][:, None] * ppo.reward_scale, info["expected_cost"]], 1)
                carry = info["survival"] * ~truncated
            else:
                signals = np.concatenate([reward[:, None] * ppo.reward_scale, info["cost"]], axis=1)
                carry = (~ended).astype(np.float64)
            rew_buf[step] = torch.as_tensor(signals, dtype=torch.float32)
            next_val_buf[step] = next_value * torch.as_tensor(carry, dtype=torch.float32)[:, None]
            ep_sum[~restart] += np.concatenate([reward[:, None], info["cost"]], axis=1)[~restart]
            if ended.any():
                finished.append(ep_sum[ended].copy())
                ep_sum[ended] = 0.0
            obs, mask = torch.as_tensor(obs_np), torch.as_tensor(info["action_mask"])

        with torch.no_grad():
            # GAE: delta_t = r_t + gamma V'_t - V_t, chained only within an episode. The
            # autoreset step after an episode's end belongs to no episode and is dropped below.
            advantages = torch.zeros_like(rew_buf)
            last = torch.zeros((n, 1 + k))
            for t in reversed(range(steps)):
                delta = rew_buf[t] + ppo.gamma * next_val_buf[t] - val_buf[t]
                last = delta + ppo.gamma * ppo.gae_lambda * (1.0 - ended_buf[t])[:, None] * last
                advantages[t] = last
            returns = advantages + val_buf
        valid = ~restart_buf.reshape(-1)  # drop the autoreset steps

        if finished:
            episodes = np.concatenate(finished)
            log.episode_return.append(float(episodes[:, 0].mean()))
            for j, name in enumerate(CONSTRAINTS):
                log.costs[name].append(float(episodes[:, 1 + j].mean()))
                log.lambdas[name].append(multipliers[j].update(float(episodes[:, 1 + j].mean())))
        else:
            log.episode_return.append(float("nan"))
            for j, name in enumerate(CONSTRAINTS):
                log.costs[name].append(float("nan"))
                log.lambdas[name].append(multipliers[j].value)
        lambdas = torch.tensor([m.value for m in multipliers], dtype=torch.float32)

        b_obs = obs_buf.reshape(-1, env.dynamics.obs_dim)[valid]
        b_mask = mask_buf.reshape(-1, env.dynamics.n_actions)[valid]
        b_act, b_logp = act_buf.reshape(-1)[valid], logp_buf.reshape(-1)[valid]
        b_adv, b_ret = advantages.reshape(-1, 1 + k)[valid], returns.reshape(-1, 1 + k)[valid]
        b_val = val_buf.reshape(-1, 1 + k)[valid]
        adv_r = (b_adv[:, 0] - b_adv[:, 0].mean()) / (b_adv[:, 0].std() + 1e-8)
        adv_c = b_adv[:, 1:] - b_adv[:, 1:].mean(0)
        b_policy_adv = (adv_r - adv_c @ lambdas) / (1.0 + lambdas.sum())
        size = len(b_act)
        for _ in range(ppo.update_epochs):
            order = torch.randperm(size)
            for lo in range(0, size, minibatch):
                idx = order[lo : lo + minibatch]
                dist = agent.distribution(b_obs[idx], b_mask[idx] if config.constraints.action_masks else None)
                ratio = (dist.log_prob(b_act[idx]) - b_logp[idx]).exp()
                adv = b_policy_adv[idx]
                pg_loss = torch.max(-adv * ratio, -adv * ratio.clamp(1 - ppo.clip_coef, 1 + ppo.clip_coef)).mean()
                value = agent.values(b_obs[idx])
                if ppo.clip_vloss:
                    clipped = b_val[idx] + (value - b_val[idx]).clamp(-ppo.clip_coef, ppo.clip_coef)
                    v_loss = 0.5 * torch.max((value - b_ret[idx]) ** 2, (clipped - b_ret[idx]) ** 2).mean()
                else:
                    v_loss = 0.5 * ((value - b_ret[idx]) ** 2).mean()
                loss = pg_loss - ppo.ent_coef * dist.entropy().mean() + ppo.vf_coef * v_loss
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), ppo.max_grad_norm)
                optimizer.step()
        log.seconds.append(time.perf_counter() - start)
        if callback is not None and callback(iteration, agent, log):
            break
    agent.eval()
    return agent, log
