"""Decision benchmarks: env throughput, policy quality against the baselines, and time to beat propensity.

    RETENTION_MIRROR=../shared/data .venv/bin/python benchmarks/decision.py --storage /tmp/bench-store --materialize-models

1. Env speed: customer-steps/s of ``RetentionVectorEnv`` at 4,096 customers, against gymnasium's
   ``SyncVectorEnv`` over 4,096 single ``RetentionEnv`` (ratio), with gymnasium's numpy
   ``CartPoleVectorEnv`` at 4,096 as the anchor, all in this run.
2. Policy quality: PPO-Lag (trained once) and every baseline on the same seeded cohorts, nominal
   and stress scenarios; NRR, ROI, contact rate and violations with CIs over seeds.
3. Training time: wall seconds until the greedy PPO-Lag policy beats propensity's net margin on
   fixed evaluation cohorts without a violation, against Stable-Baselines3 PPO with a fixed
   penalty per unit of constraint cost (reward shaping) on the same env, same budget of time.

The models come from the artifact store at ``--storage`` (``risk_model``, ``accept_model``);
``--materialize-models`` first trains and publishes them there with the code location's assets.
The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd
import yaml

from retention_assets.decision.config import DecisionConfig
from retention_assets.decision.customers import CustomerPool
from retention_assets.decision.env import CONSTRAINTS, RetentionEnv, RetentionVectorEnv, Scenario
from retention_assets.decision.policies import PPOLagPolicy, Propensity, _Paced, baseline_policies, guard
from retention_assets.decision.ppo_lag import train_ppo_lag
from retention_assets.evaluation.assets import policy_wins
from retention_assets.evaluation.compare import compare_policies, scenarios
from retention_assets.evaluation.metrics import markdown_table, summarise

N = 4096


def materialize_models(storage: Path) -> None:
    import dagster as dg

    from retention_assets.data.assets import assets as data_assets
    from retention_assets.profiles import build_resources
    from retention_assets.settings import load_config
    from retention_assets.tabular.assets import assets as tabular_assets

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text(yaml.safe_dump({"name": "bench", "storage": {"root": str(storage)}}))
        selection = ["telco_customers", "bank_contacts", "customer_splits", "contact_splits", "risk_model", "accept_model"]
        result = dg.materialize([*data_assets, *tabular_assets], selection=selection,
                                resources=build_resources(load_config(path), str(path)))  # fmt: skip
        assert result.success


def load_pool(storage: Path, config: DecisionConfig) -> CustomerPool:
    from retention_assets.decision.assets import simulation_pool
    from resources.storage.artifacts import ArtifactStore

    tables = storage / "tables"
    customers = pd.read_parquet(tables / "telco_customers.parquet")
    splits = pd.read_parquet(tables / "customer_splits.parquet")
    return simulation_pool(config, ArtifactStore.at(str(storage)), customers, splits, None, None)


# -- 1. env speed ------------------------------------------------------------------------------


def _rate(env, actions: np.ndarray, seconds: float) -> float:
    env.reset(seed=0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        env.step(actions[steps % len(actions)])
        steps += 1
    return steps * env.num_envs / (time.perf_counter() - start)


def env_speed(pool: CustomerPool, config: DecisionConfig, seconds: float) -> dict:
    rng = np.random.default_rng(0)
    actions = rng.integers(0, len(config.simulator.offers), size=(64, N))
    batched = _rate(RetentionVectorEnv(N, pool, config.simulator, config.constraints), actions, seconds)
    sync = gym.vector.SyncVectorEnv([lambda: RetentionEnv(pool, config.simulator, config.constraints)] * N,
                                    autoreset_mode=gym.vector.AutoresetMode.NEXT_STEP)  # fmt: skip
    synced = _rate(sync, actions, seconds)
    from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv

    cartpole = _rate(CartPoleVectorEnv(num_envs=N), rng.integers(0, 2, size=(64, N)), seconds)
    return {"customers": N, "vector_steps_per_s": batched, "sync_vector_steps_per_s": synced,
            "ratio_vs_sync": batched / synced, "cartpole_vector_steps_per_s": cartpole,
            "ratio_vs_cartpole": batched / cartpole}  # fmt: skip


# -- 3. time to beat propensity ----------------------------------------------------------------


class Judge:
    """Net margin ($/customer) of a policy on fixed evaluation cohorts, and whether it violated."""

    def __init__(self, pool: CustomerPool, config: DecisionConfig, seeds: list[int], cohort: int):
        self.pool, self.config, self.seeds, self.cohort = pool, config, seeds, cohort
        self.target = self.score(Propensity(config))[0]

    def score(self, policy) -> tuple[float, bool]:
        rows = compare_policies(self.pool, self.config, [policy], {"nominal": Scenario()}, self.seeds, self.cohort)
        mine = rows[rows["policy"] == policy.name]
        return float(mine["net_margin"].mean()), bool(mine["violating"].any())

    def passes(self, policy) -> bool:
        margin, violating = self.score(policy)
        return margin > self.target and not violating


def ppo_lag_time_to_pass(pool, config, judge: Judge, budget_s: float, every: int) -> dict:
    passed: dict = {}

    def callback(iteration, agent, log):
        if log.seconds[-1] > budget_s:
            return True
        # Wall time includes the judging, as it does for SB3 below.
        if (iteration + 1) % every == 0 and judge.passes(PPOLagPolicy(config, agent)):
            passed.update(seconds=log.seconds[-1], iteration=iteration + 1)
            return True
        return False

    long = config.model_copy(update={"ppo": config.ppo.model_copy(update={"iterations": 10_000})})
    start = time.perf_counter()
    train_ppo_lag(pool, long, callback)
    return {"passed": bool(passed), "seconds": passed.get("seconds", time.perf_counter() - start), **passed}


def sb3_time_to_pass(pool, config, judge: Judge, budget_s: float, every: int) -> dict:
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import VecEnv

    penalty = config.baselines.sb3_penalty
    limits = np.array([config.constraints.budget_safety, config.constraints.fatigue_limit, config.constraints.cooldown_limit])

    class Shaped(VecEnv):
        """RetentionVectorEnv for SB3: same-step autoreset, reward - penalty x cost over each limit's scale."""

        def __init__(self):
            self.env = RetentionVectorEnv(config.ppo.num_customers, pool, config.simulator, config.constraints,
                                          randomize_budget=True)  # fmt: skip
            super().__init__(self.env.num_envs, self.env.single_observation_space, self.env.single_action_space)
            self.rng = np.random.default_rng(config.ppo.seed)

        def reset(self):
            obs, _ = self.env.reset(seed=config.ppo.seed)
            return obs

        def step_async(self, actions):
            self._actions = actions

        def step_wait(self):
            d = self.env.dynamics
            out = d.step(self._actions, self.rng.random(self.num_envs), self.rng.random(self.num_envs))
            done = out["terminated"] | out["truncated"]
            terminal = d.observation()
            reward = out["reward"] * config.ppo.reward_scale - penalty * (out["cost"] / np.maximum(limits, 1e-2)).sum(1)
            infos = [{} for _ in range(self.num_envs)]
            for i in np.flatnonzero(done):
                infos[i] = {"terminal_observation": terminal[i], "TimeLimit.truncated": bool(out["truncated"][i])}
            if done.any():
                d.reset(self.rng, done)
            return d.observation(), reward.astype(np.float32), done, infos

        def close(self): ...
        def get_attr(self, name, indices=None): return [getattr(self, name)] * self.num_envs  # noqa: E704
        def set_attr(self, name, value, indices=None): ...  # noqa: E704
        def env_method(self, name, *args, indices=None, **kwargs): return [None] * self.num_envs  # noqa: E704
        def env_is_wrapped(self, wrapper, indices=None): return [False] * self.num_envs  # noqa: E704
        def seed(self, seed=None): return [None] * self.num_envs  # noqa: E704

    class Greedy(PPOLagPolicy):
        """The SB3 policy served exactly as PPO-Lag: argmax, behind the same rules and budget guard."""

        name = "sb3_ppo"

        def __init__(self, model):
            _Paced.__init__(self, config)
            self.model = model

        def act(self, env, obs, active):
            with torch.no_grad():
                probs = self.model.policy.get_distribution(torch.as_tensor(obs)).distribution.probs.numpy()
            if config.constraints.action_masks:  # the env enforces the masks; the argmax respects them too
                probs = np.where(env.dynamics.action_mask(), probs, 0.0)
            action = np.where(active, probs.argmax(1), 0)
            return guard(env, active, action, probs[:, 0], self.budget)

    state = {"start": time.perf_counter(), "rollouts": 0, "passed": None}

    class Stop(BaseCallback):
        def _on_step(self):
            return True

        def _on_rollout_end(self):
            state["rollouts"] += 1
            if state["rollouts"] % every == 0 and judge.passes(Greedy(self.model)):
                state["passed"] = time.perf_counter() - state["start"]

    class Budgeted(Stop):
        def _on_step(self):
            return state["passed"] is None and time.perf_counter() - state["start"] < budget_s

    torch.set_num_threads(1)
    ppo = config.ppo
    model = PPO("MlpPolicy", Shaped(), n_steps=ppo.num_steps, batch_size=ppo.num_customers * ppo.num_steps // ppo.num_minibatches,
                n_epochs=ppo.update_epochs, learning_rate=ppo.learning_rate, gamma=ppo.gamma, gae_lambda=ppo.gae_lambda,
                clip_range=ppo.clip_coef, ent_coef=ppo.ent_coef, vf_coef=ppo.vf_coef, max_grad_norm=ppo.max_grad_norm,
                policy_kwargs={"net_arch": [ppo.hidden, ppo.hidden], "activation_fn": torch.nn.Tanh},
                seed=ppo.seed, device="cpu", verbose=0)  # fmt: skip
    model.learn(total_timesteps=10**9, callback=Budgeted())
    seconds = state["passed"] if state["passed"] is not None else time.perf_counter() - state["start"]
    return {"passed": state["passed"] is not None, "seconds": seconds, "rollouts": state["rollouts"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--storage", type=Path, default=Path(".retention/storage"))
    parser.add_argument("--materialize-models", action="store_true")
    parser.add_argument("--speed-seconds", type=float, default=3.0)
    parser.add_argument("--race-seconds", type=float, default=300.0, help="time budget of each trainer in the race")
    parser.add_argument("--judge-every", type=int, default=5, help="iterations between checks against propensity")
    parser.add_argument("--skip", nargs="*", default=[], choices=["speed", "quality", "race"])
    args = parser.parse_args()

    config = DecisionConfig()
    if args.materialize_models:
        materialize_models(args.storage.resolve())
    pool = load_pool(args.storage.resolve(), config)
    result: dict = {"machine": f"{platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores",
                    "date": time.strftime("%Y-%m-%d"), "customers_in_pool": len(pool)}  # fmt: skip

    if "speed" not in args.skip:
        result["env_speed"] = env_speed(pool, config, args.speed_seconds)
        print(json.dumps(result["env_speed"], indent=1))

    if "quality" not in args.skip:
        start = time.perf_counter()
        agent, log = train_ppo_lag(pool, config)
        train_s = time.perf_counter() - start
        policies = [PPOLagPolicy(config, agent), PPOLagPolicy(config, agent, shield=False),
                    *baseline_policies(pool, config, config.env_seed)]  # fmt: skip
        summary = summarise(compare_policies(pool, config, policies, scenarios(config)), config.evaluation.confidence)
        print(markdown_table(summary))
        wins = policy_wins(summary)
        print(wins.to_markdown(index=False))
        result["ppo_lag_vs_baselines"] = wins.to_dict(orient="records")
        result["ppo_lag_training_s"] = train_s
        result["final_costs"] = {c: float(np.nanmean(log.costs[c][-10:])) for c in CONSTRAINTS}
        result["quality"] = summary[["scenario", "policy", "nrr", "nrr_ci", "roi", "roi_ci", "net_margin",
                                     "contact_rate", "violating"]].round(4).to_dict(orient="records")  # fmt: skip

    if "race" not in args.skip:
        judge = Judge(pool, config, config.evaluation.seeds[:2], config.evaluation.cohort_size)
        race = {"propensity_net_margin": judge.target,
                "ppo_lag": ppo_lag_time_to_pass(pool, config, judge, args.race_seconds, args.judge_every),
                "sb3_ppo_fixed_penalty": sb3_time_to_pass(pool, config, judge, args.race_seconds, args.judge_every)}  # fmt: skip
        if race["ppo_lag"]["passed"] and race["sb3_ppo_fixed_penalty"]["passed"]:
            race["speedup_vs_sb3"] = race["sb3_ppo_fixed_penalty"]["seconds"] / race["ppo_lag"]["seconds"]
        result["time_to_pass_propensity"] = race
        print(json.dumps(race, indent=1))

    print(json.dumps(result, default=float))


if __name__ == "__main__":
    main()
