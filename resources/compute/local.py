"""The embedded default: a heavy step runs as ``python -m module`` in a fresh local subprocess.

Machine specs, prices and the budget are ignored here: it runs on this machine, at no charge.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import dagster as dg
from dagster._core.errors import DagsterPipesExecutionError
from dagster._core.pipes.client import PipesClientCompletedInvocation

from resources.compute.base import ComputeResource


class LocalCompute(ComputeResource):
    # The interpreter that runs the step; the one running Dagster by default.
    python: str = sys.executable

    def _launch(
        self, context: dg.AssetExecutionContext, step: str, module: str, extras: dict
    ) -> tuple[PipesClientCompletedInvocation, dict[str, Any]]:
        client = dg.PipesSubprocessClient(forward_termination=True)
        started = time.monotonic()
        try:
            invocation = client.run(context=context, command=[self.python, "-m", module], extras=extras)
        except DagsterPipesExecutionError as exc:
            # stderr was forwarded to the compute logs; the traceback is in the pipes engine event.
            raise dg.Failure(f"step {step!r} (python -m {module}) failed locally: {exc}") from exc
        launch = {"compute_backend": "local", "compute_wall_s": round(time.monotonic() - started, 3), "compute_cost_usd": 0.0}
        return invocation, launch
