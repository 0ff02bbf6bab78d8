"""RetentionEnv: gymnasium's checker, seeded determinism, and each constraint counted on hand-built cases."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from retention_assets.decision.config import ConstraintConfig, DecisionConfig
from retention_assets.decision.env import CONSTRAINTS, ENV_ID, RetentionEnv, RetentionVectorEnv, Scenario
from retention_assets_tests.decision.conftest import hand_pool

NONE, MESSAGE, DISCOUNT_10, DISCOUNT_20, UPGRADE = range(5)
BUDGET, FATIGUE, COOLDOWN = (CONSTRAINTS.index(c) for c in ("budget", "fatigue", "cooldown"))


def test_registered_env_passes_check_env(pool, config):
    env = gym.make(ENV_ID, pool=pool, simulator=config.simulator, constraints=config.constraints)
    check_env(env.unwrapped, skip_render_check=True)
    vec = gym.make_vec(ENV_ID, num_envs=64, vectorization_mode="vector_entry_point", pool=pool,
                       simulator=config.simulator, constraints=config.constraints)  # fmt: skip
    assert isinstance(vec.unwrapped, RetentionVectorEnv)
    obs, info = vec.reset(seed=0)
    assert obs.shape == (64, vec.unwrapped.dynamics.obs_dim) and info["action_mask"].shape == (64, 5)
    assert vec.observation_space.contains(obs)


def _rollout(env, seed, steps=30):
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(0)
    trace = [obs]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(rng.integers(0, 5, size=env.num_envs))
        trace += [obs, reward, terminated, truncated, info["cost"], info["accepted"]]
    return trace


def test_vector_env_is_deterministic_under_a_seed(pool, config):
    make = lambda: RetentionVectorEnv(256, pool, config.simulator, config.constraints)  # noqa: E731
    a, b, c = _rollout(make(), 3), _rollout(make(), 3), _rollout(make(), 4)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_single_env_is_deterministic_under_a_seed(pool, config):
    def run(seed):
        env = RetentionEnv(pool, config.simulator, config.constraints)
        out = [env.reset(seed=seed)[0]]
        for action in [1, 2, 0, 3, 4, 0, 1]:
            obs, reward, terminated, truncated, _ = env.step(action)
            out.append((obs.tolist(), reward, terminated, truncated))
            if terminated or truncated:
                break
        return out

    first, second = run(11), run(11)
    assert np.array_equal(first[0], second[0]) and first[1:] == second[1:]


def test_policies_share_the_cohort_and_the_luck(pool, config):
    """Common random numbers: a different action sequence leaves the customers and draws unchanged."""
    envs = [RetentionVectorEnv(128, pool, config.simulator, config.constraints) for _ in range(2)]
    churned = []
    for env, action in zip(envs, (NONE, NONE)):
        env.reset(seed=5)
        _, _, terminated, _, _ = env.step(np.full(128, action))
        churned.append(terminated)
    assert np.array_equal(envs[0].dynamics.customer, envs[1].dynamics.customer)
    assert np.array_equal(*churned)


def _hand_env(rules: ConstraintConfig, steps: list[int], charges=50.0) -> list[dict]:
    sim = DecisionConfig().simulator.model_copy(update={"horizon": len(steps) + 1})
    env = RetentionVectorEnv(1, hand_pool((charges,)), sim, rules)
    env.reset(seed=0)
    infos = []
    for action in steps:
        _, reward, terminated, _, info = env.step(np.array([action]))
        assert not terminated[0]  # risk 0: never churns
        infos.append({**info, "reward": reward})
    return infos


def test_cooldown_breach_is_a_contact_within_the_cooldown():
    rules = ConstraintConfig(cooldown_periods=2, fatigue_window=6, fatigue_max_contacts=6, action_masks=False)
    infos = _hand_env(rules, [MESSAGE, MESSAGE, NONE, MESSAGE, NONE, NONE, MESSAGE])
    assert [i["cost"][0, COOLDOWN] for i in infos] == [0, 1, 0, 1, 0, 0, 0]
    assert sum(i["cost"][0, FATIGUE] for i in infos) == 0


def test_fatigue_breach_is_a_contact_beyond_the_window_limit():
    rules = ConstraintConfig(cooldown_periods=0, fatigue_window=3, fatigue_max_contacts=2, action_masks=False)
    # contacts at periods 0, 1, 2, 3, then 6: periods 2 and 3 each make a third contact within 3 periods.
    infos = _hand_env(rules, [MESSAGE, MESSAGE, MESSAGE, MESSAGE, NONE, NONE, MESSAGE])
    assert [i["cost"][0, FATIGUE] for i in infos] == [0, 0, 1, 1, 0, 0, 0]
    assert sum(i["cost"][0, COOLDOWN] for i in infos) == 0


def test_budget_cost_is_contact_plus_discount_given_over_the_offer_periods():
    rules = ConstraintConfig(budget_per_customer=20.0, cooldown_periods=0)
    sim = DecisionConfig().simulator
    infos = _hand_env(rules, [DISCOUNT_10, NONE, NONE, NONE, UPGRADE], charges=50.0)
    discount = 0.10 * 50.0
    expected_spend = [1.0 + discount, discount, discount, 0.0, 1.0 + sim.offers[UPGRADE].fixed_cost]
    assert [float(i["spend"][0]) for i in infos] == pytest.approx(expected_spend)
    assert [float(i["cost"][0, BUDGET]) for i in infos] == pytest.approx([s / 20.0 for s in expected_spend])
    margin = sim.gross_margin * 50.0
    assert [float(i["reward"][0]) for i in infos] == pytest.approx([margin - s for s in expected_spend])
    assert [float(i["revenue"][0]) for i in infos] == pytest.approx([45.0, 45.0, 45.0, 50.0, 50.0])


def test_action_masks_forbid_and_enforce_breaching_contacts():
    rules = ConstraintConfig(cooldown_periods=1, action_masks=True)
    infos = _hand_env(rules, [MESSAGE, MESSAGE, MESSAGE])
    assert infos[0]["action_mask"][0].tolist() == [True, False, False, False, False]  # in cooldown now
    assert [bool(i["contact"][0]) for i in infos] == [True, False, True]  # the breach became "none"
    assert sum(i["cost"][0, COOLDOWN] for i in infos) == 0


def test_churned_customer_ends_the_episode_and_stress_raises_churn(pool, config):
    churn = {}
    for name, scenario in {"nominal": Scenario(), "risk+30%": Scenario(risk_multiplier=1.3)}.items():
        env = RetentionVectorEnv(4096, pool, config.simulator, config.constraints, scenario)
        env.reset(seed=9)
        _, reward, terminated, _, info = env.step(np.zeros(4096, dtype=np.int64))
        assert (reward[terminated] == 0).all() and (info["revenue"][terminated] == 0).all()
        churn[name] = terminated.mean()
    assert churn["risk+30%"] > churn["nominal"]


def test_expected_reward_and_cost_are_the_means_of_the_sampled_ones():
    """The learning targets of ``ppo.expected_churn`` average out to what happens."""
    env = RetentionVectorEnv(20_000, hand_pool((50.0,), risk=(0.9,), acceptance=(0.3,)),
                             DecisionConfig().simulator, ConstraintConfig())  # fmt: skip
    env.reset(seed=1)
    for action in (DISCOUNT_10, NONE):  # the second period pays the running discount of survivors
        _, reward, _, _, info = env.step(np.full(20_000, action))
        assert reward.mean() == pytest.approx(info["expected_reward"].mean(), abs=0.3)
        assert info["cost"][:, BUDGET].mean() == pytest.approx(info["expected_cost"][:, BUDGET].mean(), abs=0.01)
        assert 0 < info["survival"][~info["restarted"]].min() < 1  # restarted slots: no transition


def test_terminal_value_credits_a_customer_still_here_at_the_horizon_only():
    sim = DecisionConfig().simulator.model_copy(update={"horizon": 2, "terminal_value_periods": 12.0,
                                                        "risk_horizon_periods": 1})
    env = RetentionVectorEnv(2, hand_pool((50.0, 50.0), risk=(0.0, 1.0), acceptance=(1.0, 1.0)), sim, ConstraintConfig())
    env.reset(seed=0)
    env.dynamics.customer[:] = [0, 1]  # one customer who never churns, one who surely does
    margin = sim.gross_margin * 50.0
    _, reward, terminated, _, info = env.step(np.array([NONE, NONE]))
    assert reward.tolist() == pytest.approx([margin, 0.0]) and terminated.tolist() == [False, True]
    _, reward, _, truncated, info = env.step(np.array([NONE, NONE]))
    assert truncated[0] and reward[0] == pytest.approx(margin * 13)  # the last month + 12 months after
    assert info["expected_reward"][0] == pytest.approx(margin * 13)
