"""The multipliers rise while the cost is above its limit, fall when below, and never go negative."""

import pytest

from retention_assets.decision.config import LagrangeConfig
from retention_assets.decision.lagrange import Lagrange, PIDLagrange, make_multiplier


def test_plain_update_follows_the_violation():
    lam = Lagrange(limit=1.0, lr=0.5)
    assert lam.update(3.0) == pytest.approx(1.0)  # 0 + 0.5 * (3 - 1)
    assert lam.update(3.0) == pytest.approx(2.0)
    assert lam.update(0.0) == pytest.approx(1.5)  # below the limit: falls
    assert lam.update(0.0) == pytest.approx(1.0)
    for _ in range(10):
        lam.update(0.0)
    assert lam.value == 0.0  # projected onto lambda >= 0


@pytest.mark.parametrize("kind", ["plain", "pid"])
def test_multiplier_rises_above_and_falls_below_the_limit(kind):
    lam = make_multiplier(LagrangeConfig(kind=kind), limit=0.5)
    rising = [lam.update(2.0) for _ in range(20)]
    assert all(b > a for a, b in zip(rising[5:], rising[6:])) and rising[-1] > 0
    falling = [lam.update(0.0) for _ in range(200)]
    assert falling[-1] < rising[-1] and falling[-1] == pytest.approx(0.0, abs=1e-9)
    assert min(rising + falling) >= 0.0


def test_pid_derivative_term_reacts_to_a_rising_cost():
    """Same integral, but the derivative term adds to lambda only while the cost climbs."""
    with_d = PIDLagrange(limit=1.0, kp=0.0, ki=0.1, kd=1.0, d_delay=2, ema=0.0)
    without_d = PIDLagrange(limit=1.0, kp=0.0, ki=0.1, kd=0.0, d_delay=2, ema=0.0)
    for cost in [1.0, 2.0, 3.0]:
        a, b = with_d.update(cost), without_d.update(cost)
    assert a > b
    for cost in [2.5, 2.0]:  # falling cost: no derivative push
        a, b = with_d.update(cost), without_d.update(cost)
    assert a == pytest.approx(b)
