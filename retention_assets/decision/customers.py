"""The customers the env simulates: real telco rows scored by the risk and acceptance models.

``risk_model`` scores a telco row directly. ``accept_model`` was trained on bank marketing
contacts, whose features differ, so each customer is described to it through the explicit
mapping below (``bank_features``); its config is ``decision.bank_mapping``.

| bank feature | from telco | rule |
| --- | --- | --- |
| age | SeniorCitizen | 1 -> senior_age (70), 0 -> adult_age (38, the bank median) |
| job | SeniorCitizen | 1 -> "retired", 0 -> adult_job ("admin.", modal) |
| marital | Partner | Yes -> "married", No -> "single" |
| housing | Dependents | Yes -> "yes" (families more often hold a mortgage), No -> "no" |
| contact | PaperlessBilling | Yes -> "cellular", No -> "telephone" |
| education, default, loan, month, day_of_week | - | constants (bank modal values) |
| campaign, pdays, previous, poutcome | - | a first retention contact: 1, 999, 0, "nonexistent" |
| emp.var.rate ... nr.employed | - | bank-table medians |

The result is a propensity to accept an offer, not its causal effect on churn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from retention_assets.data import bank, telco
from retention_assets.decision.config import BankMappingConfig, BaselineConfig
from retention_assets.decision.models import Scorer

TELCO_INPUTS = ["SeniorCitizen", "Partner", "Dependents", "PaperlessBilling", "MonthlyCharges"]


class CustomerDataError(ValueError):
    """A customer table the simulator cannot use; the message names the column."""


def bank_features(customers: pd.DataFrame, mapping: BankMappingConfig) -> pd.DataFrame:
    """The bank model's feature frame (``bank.FEATURES``) for each telco customer."""
    _require(customers, TELCO_INPUTS)
    senior = customers["SeniorCitizen"].astype(int).to_numpy() == 1
    n = len(customers)
    frame = pd.DataFrame(
        {
            "age": np.where(senior, mapping.senior_age, mapping.adult_age),
            "job": np.where(senior, mapping.senior_job, mapping.adult_job),
            "marital": np.where(customers["Partner"].to_numpy() == "Yes", "married", "single"),
            "education": [mapping.education] * n,
            "default": [mapping.default] * n,
            "housing": np.where(customers["Dependents"].to_numpy() == "Yes", "yes", "no"),
            "loan": [mapping.loan] * n,
            "contact": np.where(customers["PaperlessBilling"].to_numpy() == "Yes", "cellular", "telephone"),
            "month": [mapping.month] * n,
            "day_of_week": [mapping.day_of_week] * n,
            "poutcome": [mapping.poutcome] * n,
            "campaign": mapping.campaign,
            "pdays": mapping.pdays,
            "previous": mapping.previous,
            "emp.var.rate": mapping.emp_var_rate,
            "cons.price.idx": mapping.cons_price_idx,
            "cons.conf.idx": mapping.cons_conf_idx,
            "euribor3m": mapping.euribor3m,
            "nr.employed": mapping.nr_employed,
        }
    )
    return frame[bank.FEATURES]


@dataclass(frozen=True)
class CustomerPool:
    """Per-customer arrays the env samples cohorts from (index = row of the telco table)."""

    customer_ids: np.ndarray
    monthly_charges: np.ndarray  # $ per period
    risk: np.ndarray  # risk_model's calibrated P(churn)
    acceptance: np.ndarray  # accept_model's calibrated P(accept) through the bank mapping
    segment: np.ndarray  # int code per customer (Thompson-sampling segments)
    segment_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.customer_ids)

    def subset(self, rows: np.ndarray) -> "CustomerPool":
        return CustomerPool(
            self.customer_ids[rows], self.monthly_charges[rows], self.risk[rows], self.acceptance[rows],
            self.segment[rows], self.segment_names,
        )  # fmt: skip


def build_pool(
    customers: pd.DataFrame, risk: Scorer, accept: Scorer, mapping: BankMappingConfig, baselines: BaselineConfig
) -> CustomerPool:
    """Score every customer once; the env then needs no model call per step."""
    if customers.empty:
        raise CustomerDataError("telco_customers: no customers to simulate")
    _require(customers, [telco.ID, *TELCO_INPUTS, *baselines.segments])
    charges = customers["MonthlyCharges"].to_numpy(dtype=np.float64)
    if not np.isfinite(charges).all() or (charges <= 0).any():
        raise CustomerDataError("telco_customers: column 'MonthlyCharges' must be positive and finite")
    p_risk = _probabilities(risk.predict_proba(customers), "risk_model", len(customers))
    p_accept = _probabilities(accept.predict_proba(bank_features(customers, mapping)), "accept_model", len(customers))
    labels = customers[baselines.segments].astype(str).agg(" / ".join, axis=1)
    codes, names = pd.factorize(labels, sort=True)
    return CustomerPool(
        customer_ids=customers[telco.ID].to_numpy(dtype=str),
        monthly_charges=charges,
        risk=p_risk,
        acceptance=p_accept,
        segment=codes.astype(np.int64),
        segment_names=tuple(names),
    )


def _probabilities(values, model: str, n: int) -> np.ndarray:
    p = np.asarray(values, dtype=np.float64).reshape(-1)
    if p.shape != (n,) or not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise ValueError(f"{model}: predict_proba must return {n} probabilities in [0, 1]")
    return p


def _require(frame: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CustomerDataError(f"telco_customers: missing column(s) {missing}")
