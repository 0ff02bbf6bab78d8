"""The experiment's compute spend and the guard that refuses a launch it cannot afford.

Each finished job attempt writes one small JSON object under ``compute/spend/`` in the storage
root, so concurrent runs never rewrite each other's records; the spend is their sum.
"""

from __future__ import annotations

import json

import dagster as dg

from resources.storage.object_store import ObjectStore

PREFIX = "compute/spend"


class SpendLedger:
    def __init__(self, store: ObjectStore):
        self.store = store

    def record(self, job_id: str, step: str, seconds: float, cost_usd: float) -> None:
        record = {"job": job_id, "step": step, "seconds": round(seconds, 3), "cost_usd": round(cost_usd, 6)}
        self.store.put_bytes(f"{PREFIX}/{job_id.rsplit('/', 1)[-1]}.json", json.dumps(record).encode())

    def spent_usd(self) -> float:
        return sum(json.loads(self.store.get_bytes(key))["cost_usd"] for key in self.store.list(PREFIX))


def guard(ledger: SpendLedger, budget_usd: float, worst_case_usd: float, step: str) -> float:
    """Raise ``dg.Failure`` unless ``worst_case_usd`` fits the remaining budget; return what remains."""
    remaining = budget_usd - ledger.spent_usd()
    if worst_case_usd > remaining:
        raise dg.Failure(
            f"budget guard: step {step!r} could cost up to ${worst_case_usd:.2f} (its timeout), "
            f"but only ${remaining:.2f} of compute.budget_usd=${budget_usd:.2f} remains; not launched",
            metadata={"worst_case_usd": worst_case_usd, "remaining_usd": remaining},
        )
    return remaining
