"""Every data check can fail: each is fed the defect it exists to catch."""

from __future__ import annotations

import pandas as pd

from retention_assets.data.checks import split_check_results, table_check_results
from retention_assets.settings import TableExpectation

EXPECT = TableExpectation(min_rows=3, max_rows=5, min_label_rate=0.2, max_label_rate=0.6)
GOOD = pd.DataFrame({"id": ["a", "b", "c", "d"], "x": [1, 2, 3, 4], "y": [0, 1, 0, 0]})


def _passed(frame: pd.DataFrame, columns=("id", "x", "y")) -> dict[str, bool]:
    return {r.check_name: r.passed for r in table_check_results(frame, list(columns), "id", EXPECT, "y")}


def test_a_good_table_passes_every_check():
    assert _passed(GOOD) == {"schema": True, "row_count": True, "unique_ids": True, "label_rate": True}


def test_each_table_check_catches_its_defect():
    assert _passed(GOOD, ("id", "x", "y", "tenure"))["schema"] is False
    assert _passed(GOOD.head(2))["row_count"] is False
    assert _passed(pd.concat([GOOD] * 2))["row_count"] is False
    assert _passed(GOOD.assign(id=["a", "a", "c", "d"]))["unique_ids"] is False
    assert _passed(GOOD.assign(y=[1, 1, 1, 0]))["label_rate"] is False
    assert _passed(GOOD.assign(y=[0, 0, 0, 0]))["label_rate"] is False


def test_each_split_check_catches_its_defect():
    ids = pd.Series(["a", "b", "c"])
    good = pd.DataFrame({"id": ["a", "b", "c"], "split": ["train", "test", "train"]})
    overlapping = pd.DataFrame({"id": ["a", "b", "c", "a"], "split": ["train", "test", "train", "test"]})
    partial = good.head(2)

    def passed(assignment):
        return {r.check_name: r.passed for r in split_check_results(assignment, ids)}

    assert passed(good) == {"no_id_overlap": True, "covers_every_row": True}
    assert passed(overlapping)["no_id_overlap"] is False
    assert passed(partial)["covers_every_row"] is False
