"""Lagrange multipliers for constrained RL, one per constraint.

Anchors: OmniSafe ``omnisafe/common/lagrange.py`` (the plain gradient-ascent multiplier) and
``omnisafe/common/pid_lagrange.py`` (Stooke, Achiam, Abbeel 2020, "Responsive Safety in
Reinforcement Learning by PID Lagrangian Methods", Algorithm 2). Both update from the episode
cost ``Jc`` measured each iteration against the limit ``d``.
"""

from __future__ import annotations

from collections import deque


class Lagrange:
    """The plain update ``lambda <- max(0, lambda + eta (Jc - d))``: integral control only."""

    def __init__(self, limit: float, lr: float, init: float = 0.0, max_lambda: float = float("inf")):
        self.limit, self.lr, self.max_lambda = limit, lr, max_lambda
        self.value = init

    def update(self, cost: float) -> float:
        self.value = min(self.max_lambda, max(0.0, self.value + self.lr * (cost - self.limit)))
        return self.value


class PIDLagrange:
    """PID control of lambda on the constraint violation ``Jc - d`` (Stooke et al. 2020, Alg. 2).

    The integral term alone is the plain update and oscillates; the proportional term reacts to
    the current violation and the derivative term (on an EMA of the cost, over ``d_delay``
    iterations, only when the cost is rising) damps the overshoot.
    """

    def __init__(self, limit: float, kp: float, ki: float, kd: float, d_delay: int = 10, ema: float = 0.9,
                 init: float = 0.0, max_lambda: float = float("inf")):  # fmt: skip
        self.limit, self.kp, self.ki, self.kd, self.ema, self.max_lambda = limit, kp, ki, kd, ema, max_lambda
        self.integral = init
        self.cost_ema = 0.0
        self.delta_ema = 0.0
        self.history: deque[float] = deque([0.0], maxlen=d_delay)
        self.value = init

    def update(self, cost: float) -> float:
        delta = cost - self.limit
        self.integral = max(0.0, self.integral + self.ki * delta)
        self.delta_ema = self.ema * self.delta_ema + (1 - self.ema) * delta
        self.cost_ema = self.ema * self.cost_ema + (1 - self.ema) * cost
        derivative = max(0.0, self.cost_ema - self.history[0])
        self.value = min(self.max_lambda, max(0.0, self.kp * self.delta_ema + self.integral + self.kd * derivative))
        self.history.append(self.cost_ema)
        return self.value


def make_multiplier(config, limit: float) -> Lagrange | PIDLagrange:
    """A multiplier for one constraint from ``decision.ppo.lagrange``."""
    if config.kind == "plain":
        return Lagrange(limit, config.lr, config.init, config.max_lambda)
    return PIDLagrange(limit, config.kp, config.ki, config.kd, config.d_delay, config.pid_ema,
                       config.init, config.max_lambda)  # fmt: skip
