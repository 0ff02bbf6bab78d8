"""UCI Bank Marketing (Moro, Cortez, Rita 2014): ``bank-additional-full.csv``, 41,188 contacts.

``duration`` (the last call's length) is kept in the table but is never a model feature: it is
only known after the call, and UCI's own notes say it "highly affects the output target" and
should be discarded for a realistic predictive model.
"""

from __future__ import annotations

import io
import zipfile

import pandas as pd

from retention_assets.data.errors import DataError
from retention_assets.data.schema import Column, read_table

INNER_ZIP = "bank-additional.zip"
MEMBER = "bank-additional/bank-additional-full.csv"
ID = "contact_id"
LABEL = "y"
LEAKY = ("duration",)

_NUMERIC_INT = ["age", "duration", "campaign", "pdays", "previous"]
_NUMERIC_FLOAT = ["emp.var.rate", "cons.price.idx", "cons.conf.idx", "euribor3m", "nr.employed"]
CATEGORICAL = [
    "job", "marital", "education", "default", "housing", "loan",
    "contact", "month", "day_of_week", "poutcome",
]  # fmt: skip

COLUMNS = (
    [Column(name, "int") for name in _NUMERIC_INT]
    + [Column(name, "float") for name in _NUMERIC_FLOAT]
    + [Column(name) for name in CATEGORICAL]
    + [Column(LABEL, "int", allowed=frozenset({"0", "1"}), mapping=(("yes", "1"), ("no", "0")))]
)
NUMERIC = [n for n in _NUMERIC_INT + _NUMERIC_FLOAT if n not in LEAKY]
FEATURES = CATEGORICAL + NUMERIC


def extract_csv(data: bytes, path: str) -> bytes:
    """The CSV bytes from UCI's archive (a zip holding ``bank-additional.zip``), or as given."""
    if not data.startswith(b"PK"):
        return data
    try:
        outer = zipfile.ZipFile(io.BytesIO(data))
        if INNER_ZIP in outer.namelist():
            inner = zipfile.ZipFile(io.BytesIO(outer.read(INNER_ZIP)))
            return inner.read(MEMBER)
        return outer.read(MEMBER)
    except KeyError as exc:
        raise DataError(path, f"zip archive has no {MEMBER}") from exc
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise DataError(path, f"unreadable zip archive: {exc}") from exc


def parse_bank(data: bytes, path: str) -> pd.DataFrame:
    frame = read_table(extract_csv(data, path), path, COLUMNS, sep=";")
    # Row order is date order in UCI's file (May 2008 to November 2010): the id keeps it.
    frame.insert(0, ID, range(len(frame)))
    return frame[[ID] + [c.name for c in COLUMNS]]
