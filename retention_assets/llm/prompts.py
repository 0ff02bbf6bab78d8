"""Retention scenarios for the message policy: one real customer and one offer per prompt."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from retention_assets.data import telco
from retention_assets.llm.config import Offer

NEEDED = ["customerID", "tenure", "Contract", "InternetService", "MonthlyCharges", "PaymentMethod", "StreamingTV", "TechSupport"]


@dataclass(frozen=True)
class Scenario:
    customer: dict  # the customer's row, for the personal-data rule
    offer: Offer
    prompt: str


def describe(customer: dict, offer: Offer) -> str:
    services = [name for name, col in (("streaming TV", "StreamingTV"), ("tech support", "TechSupport")) if customer[col] == "Yes"]
    internet = "no internet" if customer["InternetService"] == "No" else f"{customer['InternetService']} internet"
    extras = f" and {' and '.join(services)}" if services else ""
    return (
        f"Write a short, friendly message to a customer, offering {offer.name}. "
        f"The customer has been with us for {int(customer['tenure'])} months on a "
        f"{customer['Contract'].lower()} contract, with {internet}{extras}, paying "
        f"${customer['MonthlyCharges']:.2f} a month by {customer['PaymentMethod'].lower()}. "
        "Do not repeat their billing details."
    )


def scenarios(customers: pd.DataFrame, offers: list[Offer], n: int, seed: int) -> list[Scenario]:
    """``n`` scenarios: customers sampled without replacement (seeded), offers assigned in turn."""
    missing = sorted(set(NEEDED) - set(customers.columns))
    if missing:
        raise ValueError(f"telco_customers: missing column(s) {missing}")
    if customers.empty:
        raise ValueError("telco_customers: no customers to build prompts from")
    rng = np.random.default_rng(seed)
    rows = customers.iloc[rng.choice(len(customers), size=n, replace=n > len(customers))]
    return [
        Scenario(customer=row, offer=offers[i % len(offers)], prompt=describe(row, offers[i % len(offers)]))
        for i, row in enumerate(rows[NEEDED].to_dict("records"))
    ]


def split_customers(customers: pd.DataFrame, splits: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train customers for rollouts and held-out (validation) customers for the rules gate."""
    if splits is None:
        return customers, customers
    split = customers[telco.ID].map(dict(zip(splits["id"], splits["split"])))
    return customers[split == "train"], customers[split == "validation"]
