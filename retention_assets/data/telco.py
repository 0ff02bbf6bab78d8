"""IBM Telco customer churn: 7,043 raw rows, 7,032 with a usable ``TotalCharges``."""

from __future__ import annotations

import pandas as pd

from retention_assets.data.schema import Column, read_table

YES_NO = frozenset({"Yes", "No"})
_SERVICE = frozenset({"Yes", "No", "No internet service"})
_YES_NO_LABEL = (("Yes", "1"), ("No", "0"))

ID = "customerID"
LABEL = "Churn"

COLUMNS = [
    Column(ID),
    Column("gender", allowed=frozenset({"Female", "Male"})),
    Column("SeniorCitizen", "int", allowed=frozenset({"0", "1"})),
    Column("Partner", allowed=YES_NO),
    Column("Dependents", allowed=YES_NO),
    Column("tenure", "int"),
    Column("PhoneService", allowed=YES_NO),
    Column("MultipleLines", allowed=frozenset({"Yes", "No", "No phone service"})),
    Column("InternetService", allowed=frozenset({"DSL", "Fiber optic", "No"})),
    Column("OnlineSecurity", allowed=_SERVICE),
    Column("OnlineBackup", allowed=_SERVICE),
    Column("DeviceProtection", allowed=_SERVICE),
    Column("TechSupport", allowed=_SERVICE),
    Column("StreamingTV", allowed=_SERVICE),
    Column("StreamingMovies", allowed=_SERVICE),
    Column("Contract", allowed=frozenset({"Month-to-month", "One year", "Two year"})),
    Column("PaperlessBilling", allowed=YES_NO),
    Column(
        "PaymentMethod",
        allowed=frozenset(
            {"Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)"}
        ),
    ),
    Column("MonthlyCharges", "float"),
    # Blank for 11 brand-new customers (tenure 0) in the IBM file: counted and dropped.
    Column("TotalCharges", "float", blank_ok=True),
    Column(LABEL, "int", allowed=frozenset({"0", "1"}), mapping=_YES_NO_LABEL),
]

CATEGORICAL = [c.name for c in COLUMNS if c.kind == "str" and c.name != ID]
NUMERIC = ["SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges"]
FEATURES = CATEGORICAL + NUMERIC


def parse_telco(data: bytes, path: str) -> tuple[pd.DataFrame, int]:
    """The clean customer table and the number of rows dropped for a blank ``TotalCharges``."""
    frame = read_table(data, path, COLUMNS)
    blank = frame["TotalCharges"].isna()
    clean = frame.loc[~blank].reset_index(drop=True)
    clean["TotalCharges"] = clean["TotalCharges"].astype("float64")
    return clean[[c.name for c in COLUMNS]], int(blank.sum())
