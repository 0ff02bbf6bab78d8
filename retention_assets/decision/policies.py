"""Policies over the batched env: the trained PPO-Lag agent and the baselines it must beat.

Every policy sees the same observation and the same cohort budget. The baselines follow the
business rules by construction (a customer in cooldown or at the fatigue limit is not eligible)
and pace spend through ``Budget``. PPO-Lag learns the budget through its multiplier and, with
``constraints.action_masks``, chooses only among the contacts the rules allow; served with
``evaluation.shield`` it passes the same eligibility and budget guard as the baselines.

- ``NoContact``: never contacts (the reference for incremental margin).
- ``RandomPolicy``: a random offer to random eligible customers, within budget.
- ``Propensity``: the top customers by expected saved revenue = risk x acceptance x margin,
  minus expected cost, until the period's budget runs out.
- ``ThompsonSampling``: Beta-Bernoulli acceptance per (segment, offer), sampled each period, in
  place of the acceptance model, and ranked as ``Propensity``.
- ``UpliftPolicy``: a multi-arm two-model (T-learner) uplift model, one gradient-boosted
  regressor per action predicting the net reward of the next ``offer_periods + 1`` periods,
  trained on logs of a randomised policy in the env; contacts where the predicted uplift over
  "none" is positive, best uplift per dollar first.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

from retention_assets.decision.config import DecisionConfig
from retention_assets.decision.env import RetentionVectorEnv
from retention_assets.decision.ppo_lag import Agent


class Policy(Protocol):
    name: str

    def start(self, env: RetentionVectorEnv, rng: np.random.Generator) -> None: ...

    def act(self, env: RetentionVectorEnv, obs: np.ndarray, active: np.ndarray) -> np.ndarray: ...

    def observe(self, env: RetentionVectorEnv, actions: np.ndarray, info: dict) -> None: ...


class Budget:
    """Cohort budget pacing: what may still be committed this period, in expected dollars.

    Spend is counted from the env's ``info["spend"]`` each step (customers who left keep what
    they cost), plus the discounts already promised to customers still here.
    """

    def __init__(self, env: RetentionVectorEnv, config: DecisionConfig, pacing: str | None = None):
        self.total = float(env.dynamics.budget.sum()) * config.constraints.budget_safety
        self.greedy = (pacing or config.baselines.pacing) == "greedy"
        self.spent = 0.0

    def record(self, info: dict) -> None:
        self.spent += float(info["spend"].sum())

    def allowance(self, env: RetentionVectorEnv, active: np.ndarray) -> float:
        d = env.dynamics
        left = self.total - self.spent - float(d.committed_spend()[active].sum())
        if self.greedy:
            return max(0.0, left)
        periods_left = max(1, d.sim.horizon - int(d.t[active].min(initial=0)))
        return max(0.0, left / periods_left)


def expected_cost(env: RetentionVectorEnv, accept: np.ndarray) -> np.ndarray:
    """(n, actions) expected spend of each action: contact cost + P(accept) x (discounts + fixed)."""
    d = env.dynamics
    charges = d.pool.monthly_charges[d.customer][:, None]
    offer = d.fixed_cost[None, :] + d.discount[None, :] * charges * d.sim.offer_periods
    return d.contact_cost[None, :] * d.is_contact[None, :] + accept * offer


def eligible(env: RetentionVectorEnv, active: np.ndarray) -> np.ndarray:
    cooldown, fatigue = env.dynamics.breaches()
    return active & ~cooldown & ~fatigue


def allocate(score: np.ndarray, action: np.ndarray, cost: np.ndarray, allowance: float) -> np.ndarray:
    """Actions for the best-scoring customers whose cumulative expected cost fits ``allowance``."""
    chosen = np.zeros(len(score), dtype=np.int64)
    candidates = np.flatnonzero(score > 0)
    order = candidates[np.argsort(-score[candidates], kind="stable")]
    fits = np.cumsum(cost[order]) <= allowance
    chosen[order[fits]] = action[order[fits]]
    return chosen


class _Paced:
    """Shared start/observe for the budget-paced baselines."""

    def __init__(self, config: DecisionConfig):
        self.config = config

    def start(self, env: RetentionVectorEnv, rng: np.random.Generator) -> None:
        self.rng = rng
        self.budget = Budget(env, self.config)

    def observe(self, env, actions, info) -> None:
        self.budget.record(info)


class NoContact(_Paced):
    name = "no_contact"

    def act(self, env, obs, active):
        return np.zeros(env.num_envs, dtype=np.int64)


class RandomPolicy(_Paced):
    name = "random"

    def act(self, env, obs, active):
        d = env.dynamics
        ok = eligible(env, active) & (self.rng.random(env.num_envs) < self.config.baselines.logging_contact_prob)
        action = self.rng.integers(1, d.n_actions, size=env.num_envs)
        cost = expected_cost(env, d.model_accept[d.customer])[np.arange(env.num_envs), action]
        score = np.where(ok, self.rng.random(env.num_envs) + 1e-9, 0.0)  # a random order
        return allocate(score, action, cost, self.budget.allowance(env, active))


def _saved_revenue(env: RetentionVectorEnv, accept: np.ndarray) -> np.ndarray:
    """(n, actions) risk over the remaining periods x acceptance x margin left, minus expected cost."""
    d = env.dynamics
    left = np.maximum(d.sim.horizon - d.t, 1)[:, None]
    risk = 1.0 - (1.0 - d.model_hazard[d.customer][:, None]) ** left
    charges = d.pool.monthly_charges[d.customer][:, None]
    margin = (d.sim.gross_margin - d.discount[None, :]) * charges * left
    return risk * accept * margin - expected_cost(env, accept)


def _rank_offers(env, value: np.ndarray, cost: np.ndarray, ok: np.ndarray, allowance: float) -> np.ndarray:
    value = value.copy()
    value[:, 0] = -np.inf
    action = value.argmax(1)
    rows = np.arange(len(action))
    score = np.where(ok, value[rows, action], 0.0)
    return allocate(score, action, cost[rows, action], allowance)


class Propensity(_Paced):
    name = "propensity"

    def act(self, env, obs, active):
        d = env.dynamics
        accept = d.model_accept[d.customer]
        return _rank_offers(env, _saved_revenue(env, accept), expected_cost(env, accept), eligible(env, active),
                            self.budget.allowance(env, active))  # fmt: skip


class ThompsonSampling(_Paced):
    name = "thompson"

    def start(self, env, rng):
        super().start(env, rng)
        shape = (len(env.dynamics.pool.segment_names), env.dynamics.n_actions)
        self.alpha, self.beta = np.ones(shape), np.ones(shape)

    def act(self, env, obs, active):
        d = env.dynamics
        theta = self.rng.beta(self.alpha, self.beta)  # one draw per (segment, offer) per period
        theta[:, 0] = 0.0
        accept = theta[d.pool.segment[d.customer]]
        return _rank_offers(env, _saved_revenue(env, accept), expected_cost(env, accept), eligible(env, active),
                            self.budget.allowance(env, active))  # fmt: skip

    def observe(self, env, actions, info):
        super().observe(env, actions, info)
        contacted = info["contact"]
        seg = env.dynamics.pool.segment[env.dynamics.customer]  # slots restart only on the next step
        np.add.at(self.alpha, (seg[contacted], actions[contacted]), info["accepted"][contacted])
        np.add.at(self.beta, (seg[contacted], actions[contacted]), ~info["accepted"][contacted])


class UpliftPolicy(_Paced):
    name = "uplift"

    def __init__(self, config: DecisionConfig, models: list[HistGradientBoostingRegressor]):
        super().__init__(config)
        self.models = models

    def act(self, env, obs, active):
        d = env.dynamics
        predicted = np.stack([m.predict(obs) for m in self.models], axis=1)
        uplift = predicted - predicted[:, :1]
        cost = expected_cost(env, d.model_accept[d.customer])
        # Rank by uplift per expected dollar, so the budget buys the most net value.
        per_dollar = uplift / np.maximum(cost, 1e-6)
        per_dollar[:, 0] = -np.inf
        action = per_dollar.argmax(1)
        rows = np.arange(env.num_envs)
        score = np.where(eligible(env, active) & (uplift[rows, action] > 0), per_dollar[rows, action], 0.0)
        return allocate(score, action, cost[rows, action], self.budget.allowance(env, active))


def fit_uplift(env: RetentionVectorEnv, config: DecisionConfig, seed: int) -> UpliftPolicy:
    """Log ``logged_episodes`` cohorts under a randomised policy and fit one regressor per action."""
    d, base = env.dynamics, config.baselines
    window = d.sim.offer_periods + 1
    rng = np.random.default_rng(seed)
    X, A, Y = [], [], []
    for episode in range(base.logged_episodes):
        obs, _ = env.reset(seed=seed + episode)
        rewards, observations, actions, alive = [], [], [], []
        active = np.ones(env.num_envs, dtype=bool)
        for _ in range(d.sim.horizon):
            contact = rng.random(env.num_envs) < base.logging_contact_prob
            action = np.where(contact & active, rng.integers(1, d.n_actions, size=env.num_envs), 0)
            observations.append(obs)
            actions.append(action)
            alive.append(active.copy())
            obs, reward, terminated, truncated, _ = env.step(action)
            rewards.append(np.where(active, reward, 0.0))
            active &= ~(terminated | truncated)
        R = np.array(rewards)
        for t in range(d.sim.horizon):
            keep = alive[t]
            X.append(observations[t][keep])
            A.append(actions[t][keep])
            Y.append(R[t : t + window].sum(0)[keep])
    X, A, Y = np.concatenate(X), np.concatenate(A), np.concatenate(Y)
    models = []
    for a in range(d.n_actions):
        model = HistGradientBoostingRegressor(max_iter=base.uplift_trees, max_depth=base.uplift_max_depth,
                                              random_state=seed)  # fmt: skip
        models.append(model.fit(X[A == a], Y[A == a]))
    return UpliftPolicy(config, models)


class PPOLagPolicy(_Paced):
    """The trained agent, acting greedily (argmax) on the observation, under the action masks.

    With ``constraints.action_masks`` the agent was trained, and is served, choosing only among
    the actions the fatigue and cooldown rules allow. ``shield`` (``evaluation.shield``) adds a
    serving-time guard with the baselines' own rules: a contact that would breach fatigue or
    cooldown becomes "none" (a no-op under masks), and contacts are kept, most confident first
    (lowest P(none)), only while their expected cost fits the cohort ``Budget`` the baselines
    pace with. The Lagrangian teaches the budget in expectation; the guard makes it hard.
    """

    def __init__(self, config: DecisionConfig, agent: Agent, shield: bool = True):
        super().__init__(config)
        self.agent, self.shield = agent, shield
        self.name = "ppo_lag" if shield else "ppo_lag_unshielded"

    def start(self, env, rng):
        super().start(env, rng)
        self.budget = Budget(env, self.config, self.config.evaluation.guard_pacing)

    def act(self, env, obs, active):
        mask = env.dynamics.action_mask() if self.config.constraints.action_masks else None
        probs = self.agent.probabilities(obs, mask)
        action = np.where(active, probs.argmax(1), 0)
        return guard(env, active, action, probs[:, 0], self.budget) if self.shield else action


def guard(env: RetentionVectorEnv, active: np.ndarray, action: np.ndarray, p_none: np.ndarray,
          budget: Budget) -> np.ndarray:  # fmt: skip
    """A learned policy's contacts under the baselines' rules: eligible customers only, most
    confident first (lowest P(none)), while their expected cost fits the budget allowance."""
    d = env.dynamics
    rows = np.arange(env.num_envs)
    score = np.where(eligible(env, active) & (action > 0), 1.0 - p_none + 1e-9, 0.0)
    cost = expected_cost(env, d.model_accept[d.customer])[rows, action]
    return allocate(score, action, cost, budget.allowance(env, active))


def baseline_policies(pool, config: DecisionConfig, seed: int) -> list[Policy]:
    """Every baseline; the uplift model is fitted here on logs of a randomised policy."""
    logging_env = RetentionVectorEnv(config.evaluation.cohort_size, pool, config.simulator, config.constraints)
    return [NoContact(config), RandomPolicy(config), Propensity(config), ThompsonSampling(config),
            fit_uplift(logging_env, config, seed)]  # fmt: skip
