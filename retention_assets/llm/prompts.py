"""Retention scenarios for the message policy: one real customer and one offer per prompt.

The customer table carries ``churn_risk``, risk_model's calibrated P(churn): the prompt states it
as a band (``ScenarioSettings.risk_bands``), never as the figure, and customers are drawn weighted
by it, so the policy mostly writes for the customers a retention message is for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from retention_assets.data import telco
from retention_assets.llm.config import Offer, ScenarioSettings

RISK = "churn_risk"
NEEDED = ["customerID", "tenure", "Contract", "InternetService", "MonthlyCharges", "PaymentMethod", "StreamingTV", "TechSupport", RISK]


@dataclass(frozen=True)
class Scenario:
    customer: dict  # the customer's row, for the personal-data rule
    offer: Offer
    prompt: str


def describe(customer: dict, offer: Offer, settings: ScenarioSettings) -> str:
    services = [name for name, col in (("streaming TV", "StreamingTV"), ("tech support", "TechSupport")) if customer[col] == "Yes"]
    internet = "no internet" if customer["InternetService"] == "No" else f"{customer['InternetService']} internet"
    extras = f" and {' and '.join(services)}" if services else ""
    # The customer first and the task last, with the offer in the first sentence asked for: with
    # the task first, SmolLM2 continued the description instead of writing to the customer (0 of
    # 9 greedy replies named the offer, against 5 of 9 this way).
    return (
        f"Our customer has been with us for {int(customer['tenure'])} months on a "
        f"{customer['Contract'].lower()} contract, with {internet}{extras}, paying "
        f"${customer['MonthlyCharges']:.2f} a month by {customer['PaymentMethod'].lower()}. "
        f"They are at {settings.band(customer[RISK])}.\n\n"
        f"Write two friendly sentences to this customer. The first sentence offers them {offer.name}. "
        "Do not mention their risk of leaving or repeat their billing details."
    )


def check_customers(customers: pd.DataFrame) -> None:
    """The columns a prompt reads, and a churn risk in [0, 1] for every customer."""
    missing = sorted(set(NEEDED) - set(customers.columns))
    if missing:
        raise ValueError(f"telco_customers: missing column(s) {missing} ({RISK!r} is risk_model's calibrated P(churn))")
    risk = customers[RISK]
    if not pd.api.types.is_numeric_dtype(risk):
        raise ValueError(f"telco_customers: column {RISK!r} must be numeric, got dtype {risk.dtype}")
    bad = risk[~risk.between(0, 1)]  # NaN fails too
    if len(bad):
        raise ValueError(f"telco_customers: column {RISK!r} must be a probability in [0, 1]; {len(bad)} row(s) are not, e.g. {bad.iloc[0]!r}")


def with_contract_risk(customers: pd.DataFrame) -> pd.DataFrame:
    """``customers`` with ``churn_risk`` set to the observed churn rate of their contract type: a
    coarse but calibrated stand-in for risk_model's score, for benchmarks and tests that train no
    tabular model."""
    return customers.assign(**{RISK: customers.groupby("Contract")[telco.LABEL].transform("mean")})


def scenarios(customers: pd.DataFrame, offers: list[Offer], settings: ScenarioSettings, n: int, seed: int) -> list[Scenario]:
    """``n`` scenarios: customers sampled (seeded) without replacement, weighted by churn risk
    (``settings.risk_weight_power``); offers assigned in turn."""
    check_customers(customers)
    if customers.empty:
        raise ValueError("telco_customers: no customers to build prompts from")
    weights = customers[RISK].to_numpy(dtype=np.float64) ** settings.risk_weight_power
    if not weights.sum() > 0:
        raise ValueError(f"telco_customers: every {RISK!r} is 0, so no customer can be drawn by risk")
    rng = np.random.default_rng(seed)
    drawable = np.count_nonzero(weights)
    rows = customers.iloc[rng.choice(len(customers), size=n, replace=n > drawable, p=weights / weights.sum())]
    return [
        Scenario(customer=row, offer=offers[i % len(offers)], prompt=describe(row, offers[i % len(offers)], settings))
        for i, row in enumerate(rows[NEEDED].to_dict("records"))
    ]


def split_customers(customers: pd.DataFrame, splits: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train customers for rollouts and held-out (validation) customers for the rules gate."""
    if splits is None:
        return customers, customers
    split = customers[telco.ID].map(dict(zip(splits["id"], splits["split"])))
    return customers[split == "train"], customers[split == "validation"]
