"""A short PPO-Lag run cuts the constraint costs, and the policy round-trips through safetensors."""

from __future__ import annotations

import numpy as np

from retention_assets.decision.env import CONSTRAINTS, RetentionVectorEnv
from retention_assets.decision.ppo_lag import load_agent, save_agent, train_ppo_lag


def test_short_ppo_lag_run_reduces_constraint_cost(pool, config, tmp_path):
    # Without the action masks every constraint is soft: the multipliers alone must cut each cost.
    small = config.model_copy(update={"ppo": config.ppo.model_copy(update={"num_customers": 128, "iterations": 12}),
                                      "constraints": config.constraints.model_copy(update={"action_masks": False})})
    agent, log = train_ppo_lag(pool, small)
    assert len(log.seconds) == 12 and all(len(log.lambdas[c]) == 12 for c in CONSTRAINTS)
    for name in CONSTRAINTS:
        first, last = log.costs[name][0], np.nanmean(log.costs[name][-3:])
        assert last < first, f"{name}: cost {first:.3f} -> {last:.3f}"
    # The initial uniform policy overspends: the budget multiplier had to rise.
    assert log.costs["budget"][0] > log.limits["budget"] and max(log.lambdas["budget"]) > 0

    save_agent(agent, tmp_path, {"note": "test"})
    reloaded, meta = load_agent(tmp_path)
    assert meta["note"] == "test" and sorted(p.name for p in tmp_path.iterdir()) == ["policy.json", "policy.safetensors"]
    env = RetentionVectorEnv(64, pool, config.simulator, config.constraints)
    obs, info = env.reset(seed=0)
    assert np.array_equal(agent.act(obs, info["action_mask"]), reloaded.act(obs, info["action_mask"]))
