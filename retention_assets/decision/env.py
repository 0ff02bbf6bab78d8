"""RetentionEnv: each period, contact a customer (or not) and with which offer.

One sub-environment is one customer for up to ``horizon`` monthly periods. ``RetentionVectorEnv``
steps thousands of customers in one numpy operation per quantity (in the manner of gymnasium's
``CartPoleVectorEnv``); ``RetentionEnv`` is the same dynamics for a single customer. Both are
registered under ``retention/RetentionEnv-v0`` (``vector_entry_point`` for the batched one).

What the data gives, and what is assumed
-----------------------------------------
The real data gives each customer's churn *risk* (``risk_model``) and offer-acceptance
*propensity* (``accept_model`` through the bank mapping of ``customers.py``). It does NOT give the
causal effect of an offer on churn: the treatment effects, the elasticity and the costs below are
assumptions (``decision.simulator`` and ``decision.constraints`` in the experiment config), to be
replaced by the results of a randomised experiment. Concretely:

- per-period hazard ``h = 1 - (1 - p_risk) ** (1 / risk_horizon_periods)``, times
  ``risk_multiplier`` (a stress test the policy does not see: its observation is the model's);
- an offer ``a`` is accepted with ``sigmoid(logit(p_accept) + base_acceptance_shift +
  acceptance_shift[a] + elasticity * discount[a] + stress acceptance_shift)``: a bigger discount
  means higher acceptance;
- an accepted offer cuts the hazard by ``treatment_effect[a]`` (relative) for ``offer_periods``
  periods, and a discount lowers revenue to ``MonthlyCharges * (1 - discount)`` for as long;
- a churned customer leaves: the episode terminates;
- reward = retained margin (``gross_margin * MonthlyCharges`` of a customer still here) - offer
  cost (discount given + fixed cost of an accepted offer) - contact cost; a customer still here
  at the horizon adds ``terminal_value_periods`` months of margin (the business goes on after
  the episode); the business metrics count in-horizon margin only;
- constraint costs in ``info["cost"]`` (one column per constraint, in ``CONSTRAINTS`` order):
  the spend as a share of the customer's episode budget, a contact that makes more than
  ``fatigue_max_contacts`` within ``fatigue_window`` periods (fatigue breach), and a contact
  within ``cooldown_periods`` of the previous one (cooldown breach);
- ``info`` also carries this period's survival probability and the reward and costs in
  expectation over the churn draw (``expected_reward``, ``expected_cost``): a simulator-only
  signal PPO-Lag may learn from (``ppo.expected_churn``) for lower-variance targets;
- with ``action_masks`` on, actions that would breach fatigue or cooldown are masked
  (``info["action_mask"]``) and, if taken anyway, replaced by "none".

The same random numbers drive every policy: each step draws one uniform per customer for
acceptance and one for churn whatever the actions, so two policies run from one seed face the
same cohort and the same luck (common random numbers), which makes their differences precise.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from retention_assets.decision.config import ConstraintConfig, SimulatorConfig
from retention_assets.decision.customers import CustomerPool

ENV_ID = "retention/RetentionEnv-v0"
CONSTRAINTS = ("budget", "fatigue", "cooldown")
NEVER = 1_000  # periods since last contact for a customer never contacted
SPEND_CAP = 10.0  # spend / budget is shown up to this many budgets


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p) - np.log1p(-p)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class Scenario:
    """Evaluation-time shifts; the observation keeps showing the models' view."""

    budget_multiplier: float = 1.0
    risk_multiplier: float = 1.0
    acceptance_shift: float = 0.0


class RetentionDynamics:
    """The simulator's state and transition for ``n`` customers at once (numpy arrays of length n)."""

    def __init__(
        self,
        pool: CustomerPool,
        simulator: SimulatorConfig,
        constraints: ConstraintConfig,
        n: int,
        scenario: Scenario = Scenario(),
        randomize_budget: bool = False,
    ):
        self.pool, self.sim, self.rules, self.n = pool, simulator, constraints, n
        self.scenario, self.randomize_budget = scenario, randomize_budget
        offers = simulator.offers
        self.n_actions = len(offers)
        self.is_contact = np.array([o.contact for o in offers])
        self.contact_cost = np.array([o.contact_cost for o in offers])
        self.discount = np.array([o.discount for o in offers])
        self.fixed_cost = np.array([o.fixed_cost for o in offers])
        self.effect = np.array([o.treatment_effect for o in offers])
        # Per customer and action: P(accept) as the models see it, and as the world behaves.
        shift = np.array([o.acceptance_shift + simulator.elasticity * o.discount for o in offers])
        base = _logit(pool.acceptance)[:, None] + simulator.base_acceptance_shift + shift[None, :]
        contact = self.is_contact[None, :]
        self.model_accept = np.where(contact, _sigmoid(base), 0.0)
        true_shift = simulator.acceptance_shift + scenario.acceptance_shift
        self.true_accept = np.where(contact, _sigmoid(base + true_shift), 0.0)
        self.model_hazard = 1.0 - (1.0 - np.clip(pool.risk, 0, 1 - 1e-9)) ** (1.0 / simulator.risk_horizon_periods)
        multiplier = simulator.risk_multiplier * scenario.risk_multiplier
        self.true_hazard = np.minimum(1.0, self.model_hazard * multiplier)
        self.window_bits = (1 << constraints.fatigue_window) - 1
        self.previous_bits = (1 << (constraints.fatigue_window - 1)) - 1  # the window before this period
        self.obs_dim = 8 + self.n_actions
        self._allocate()

    def _allocate(self) -> None:
        n = self.n
        self.customer = np.zeros(n, dtype=np.int64)
        self.t = np.zeros(n, dtype=np.int64)
        self.since_contact = np.full(n, NEVER, dtype=np.int64)
        self.history = np.zeros(n, dtype=np.int64)  # bit k set: contacted k+1 periods ago
        self.offer_left = np.zeros(n, dtype=np.int64)
        self.offer_action = np.zeros(n, dtype=np.int64)
        self.spent = np.zeros(n)
        self.budget = np.zeros(n)

    # -- episode start -------------------------------------------------------------------

    def reset(self, rng: np.random.Generator, mask: np.ndarray | None = None) -> None:
        """Draw fresh customers into every slot (or the slots in ``mask``)."""
        rows = np.arange(self.n) if mask is None else np.flatnonzero(mask)
        k = len(rows)
        self.customer[rows] = rng.integers(len(self.pool), size=k)
        budget = self.rules.budget_per_customer * self.scenario.budget_multiplier
        if self.randomize_budget:
            low, high = self.rules.train_budget_range
            self.budget[rows] = budget * rng.uniform(low, high, size=k)
        else:
            self.budget[rows] = budget
        self.t[rows] = 0
        self.since_contact[rows] = NEVER
        self.history[rows] = 0
        self.offer_left[rows] = 0
        self.offer_action[rows] = 0
        self.spent[rows] = 0.0

    # -- views ---------------------------------------------------------------------------

    def observation(self) -> np.ndarray:
        c = self.customer
        obs = np.empty((self.n, self.obs_dim), dtype=np.float32)
        obs[:, 0] = self.model_hazard[c] * 10.0
        obs[:, 1 : self.n_actions] = self.model_accept[c, 1:]
        col = self.n_actions
        obs[:, col] = self.pool.monthly_charges[c] / 100.0
        obs[:, col + 1] = self.offer_left / self.sim.offer_periods
        obs[:, col + 2] = np.minimum(self.since_contact, self.rules.fatigue_window + 1) / (self.rules.fatigue_window + 1)
        obs[:, col + 3] = np.bitwise_count(self.history & self.previous_bits) / self.rules.fatigue_max_contacts
        obs[:, col + 4] = self.t / self.sim.horizon
        obs[:, col + 5] = np.minimum(self.spent / self.budget, SPEND_CAP)
        obs[:, col + 6] = self.budget / self.rules.budget_per_customer
        obs[:, col + 7] = self.discount[self.offer_action] * (self.offer_left > 0)
        return obs

    def breaches(self) -> tuple[np.ndarray, np.ndarray]:
        """Whether a contact now would breach cooldown, and fatigue."""
        cooldown = self.since_contact <= self.rules.cooldown_periods
        fatigue = np.bitwise_count(self.history & self.previous_bits) >= self.rules.fatigue_max_contacts
        return cooldown, fatigue

    def action_mask(self) -> np.ndarray:
        """(n, actions) bool: every action is allowed unless masks are on and it would breach."""
        mask = np.ones((self.n, self.n_actions), dtype=bool)
        if self.rules.action_masks:
            cooldown, fatigue = self.breaches()
            mask[cooldown | fatigue, 1:] = False
        return mask

    def committed_spend(self) -> np.ndarray:
        """Discounts already promised for the periods still to come (a customer may still churn)."""
        c = self.customer
        return self.discount[self.offer_action] * self.pool.monthly_charges[c] * self.offer_left

    # -- transition ----------------------------------------------------------------------

    def step(self, action: np.ndarray, u_accept: np.ndarray, u_churn: np.ndarray) -> dict:
        """Advance every slot one period; returns the per-slot outcome arrays."""
        c = self.customer
        action = np.asarray(action, dtype=np.int64)
        cooldown_hit, fatigue_hit = self.breaches()
        if self.rules.action_masks:
            action = np.where(cooldown_hit | fatigue_hit, 0, action)
        contact = self.is_contact[action]
        cooldown_breach = contact & cooldown_hit
        fatigue_breach = contact & fatigue_hit
        accepted = contact & (u_accept < self.true_accept[c, action])
        self.offer_action = np.where(accepted, action, self.offer_action)
        self.offer_left = np.where(accepted, self.sim.offer_periods, self.offer_left)

        running = self.offer_left > 0
        hazard = self.true_hazard[c] * (1.0 - self.effect[self.offer_action] * running)
        churned = u_churn < hazard
        stays = ~churned
        charges = self.pool.monthly_charges[c]
        discount_given = stays * running * self.discount[self.offer_action] * charges
        offer_cost = discount_given + accepted * self.fixed_cost[action]
        contact_cost = contact * self.contact_cost[action]
        margin = stays * self.sim.gross_margin * charges
        spend = offer_cost + contact_cost
        reward = margin - spend
        # The same quantities in expectation over this period's churn draw (survival = 1 - hazard),
        # for lower-variance learning targets; the sampled ones above are what happened.
        survival = 1.0 - hazard
        discount_if_stays = running * self.discount[self.offer_action] * charges
        expected_spend = survival * discount_if_stays + accepted * self.fixed_cost[action] + contact_cost
        expected_reward = survival * self.sim.gross_margin * charges - expected_spend
        # A customer still here at the horizon is worth more margin after it (terminal value).
        last = (self.t + 1) >= self.sim.horizon
        terminal = last * self.sim.terminal_value_periods * self.sim.gross_margin * charges
        reward = reward + stays * terminal
        expected_reward = expected_reward + survival * terminal

        self.spent += spend
        self.offer_left = np.maximum(self.offer_left - 1, 0)
        self.history = ((self.history << 1) | contact) & self.window_bits
        self.since_contact = np.where(contact, 1, np.minimum(self.since_contact + 1, NEVER))
        self.t += 1
        cost = np.stack([spend / self.budget, fatigue_breach, cooldown_breach], axis=1).astype(np.float64)
        expected_cost = np.stack([expected_spend / self.budget, fatigue_breach, cooldown_breach], axis=1).astype(np.float64)
        return {
            "survival": survival,
            "expected_reward": expected_reward,
            "expected_cost": expected_cost,
            "reward": reward,
            "cost": cost,
            "terminated": churned,
            "truncated": stays & (self.t >= self.sim.horizon),
            "action": action,
            "contact": contact,
            "accepted": accepted,
            "churned": churned,
            "margin": margin,
            "spend": spend,
            "revenue": stays * (charges - discount_given),
        }


def _observation_space(d: RetentionDynamics) -> spaces.Box:
    k = d.n_actions
    high = np.ones(d.obs_dim, dtype=np.float32)
    high[0] = 10.0  # hazard x 10
    high[k] = d.pool.monthly_charges.max() / 100.0
    high[k + 3] = d.rules.fatigue_window / d.rules.fatigue_max_contacts
    high[k + 5] = SPEND_CAP
    high[k + 6] = max(1.0, d.rules.train_budget_range[1]) * d.scenario.budget_multiplier
    return spaces.Box(low=np.zeros_like(high), high=high, dtype=np.float32)


class RetentionEnv(gym.Env):
    """One customer per episode (the module docstring, appended below, lists every assumption)."""

    metadata = {"render_modes": []}

    def __init__(self, pool: CustomerPool, simulator: SimulatorConfig, constraints: ConstraintConfig,
                 scenario: Scenario = Scenario(), randomize_budget: bool = False):  # fmt: skip
        self.dynamics = RetentionDynamics(pool, simulator, constraints, 1, scenario, randomize_budget)
        self.action_space = spaces.Discrete(self.dynamics.n_actions)
        self.observation_space = _observation_space(self.dynamics)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.dynamics.reset(self.np_random)
        return self.dynamics.observation()[0], self._info()

    def step(self, action):
        u = self.np_random.random((2, 1))
        out = self.dynamics.step(np.array([action]), u[0], u[1])
        info = self._info()
        info.update(cost=out["cost"][0], accepted=bool(out["accepted"][0]), spend=float(out["spend"][0]))
        return (self.dynamics.observation()[0], float(out["reward"][0]), bool(out["terminated"][0]),
                bool(out["truncated"][0]), info)  # fmt: skip

    def _info(self) -> dict:
        return {"action_mask": self.dynamics.action_mask()[0]}


class RetentionVectorEnv(VectorEnv):
    """``num_envs`` customers stepped together; slots that finished reset on the next step."""

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int, pool: CustomerPool, simulator: SimulatorConfig, constraints: ConstraintConfig,
                 scenario: Scenario = Scenario(), randomize_budget: bool = False):  # fmt: skip
        self.num_envs = num_envs
        self.dynamics = RetentionDynamics(pool, simulator, constraints, num_envs, scenario, randomize_budget)
        self.single_action_space = spaces.Discrete(self.dynamics.n_actions)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.single_observation_space = _observation_space(self.dynamics)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self._needs_reset = np.zeros(num_envs, dtype=bool)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        # Customers who replace finished ones come from their own stream, so that the per-step
        # uniforms of ``np_random`` stay aligned across policies (common random numbers).
        self._refill_rng = np.random.default_rng(self.np_random.integers(2**63))
        self.dynamics.reset(self.np_random)
        self._needs_reset[:] = False
        return self.dynamics.observation(), {"action_mask": self.dynamics.action_mask()}

    def step(self, actions):
        d = self.dynamics
        u = self.np_random.random((2, self.num_envs))  # drawn whatever the actions: common random numbers
        restart = self._needs_reset
        actions = np.where(restart, 0, actions)
        out = d.step(actions, u[0], u[1])
        if restart.any():  # NEXT_STEP autoreset: these slots ended last step; this step starts them anew
            d.reset(self._refill_rng, restart)
            for key in ("reward", "cost", "margin", "spend", "revenue", "expected_reward", "expected_cost", "survival"):
                out[key][restart] = 0
            for key in ("terminated", "truncated", "contact", "accepted", "churned"):
                out[key][restart] = False
        self._needs_reset = out["terminated"] | out["truncated"]
        info = {k: out[k] for k in ("cost", "action", "contact", "accepted", "churned", "margin", "spend", "revenue",
                                    "survival", "expected_reward", "expected_cost")}  # fmt: skip
        info["restarted"] = restart
        info["action_mask"] = d.action_mask()
        return d.observation(), out["reward"], out["terminated"], out["truncated"], info


# Both envs carry the full list of assumptions in their docstrings.
RetentionEnv.__doc__ += "\n" + __doc__
RetentionVectorEnv.__doc__ += "\n" + __doc__


def register() -> None:
    if ENV_ID not in gym.registry:
        gym.register(
            id=ENV_ID,
            entry_point="retention_assets.decision.env:RetentionEnv",
            vector_entry_point="retention_assets.decision.env:RetentionVectorEnv",
            disable_env_checker=False,
        )


register()
