"""The step side of a heavy step: ``python -m some.module`` whose ``__main__`` calls ``run_entry(main)``.

``main(params, reporter)`` gets the step's params and a ``StepReporter``; it publishes its
checkpoint through ``reporter.publish`` (the artifact store, local or ``gs://``) and returns a
dict of metrics. ``run_entry`` reports those metrics and the artifact ref back to Dagster.

The Pipes channel follows the launcher: a local subprocess uses Pipes' default (temp files); a
Vertex job sets ``RETENTION_PIPES_CHANNEL=gcs`` and gets the GCS context loader and message
writer. Under ``torchrun`` only rank 0 talks to Dagster; the other ranks read the same context
but their messages are dropped, so each metric is reported once.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster_pipes import (
    PipesContext,
    PipesMessageWriter,
    PipesMessageWriterChannel,
    open_dagster_pipes,
)

from resources.storage.artifacts import ArtifactRef, ArtifactStore

CHANNEL_ENV = "RETENTION_PIPES_CHANNEL"


class StepReporter:
    """What a step may do besides returning metrics: publish one artifact, report checks, log."""

    def __init__(self, pipes: PipesContext, store: ArtifactStore):
        self._pipes = pipes
        self.store = store
        self.step: str = pipes.get_extra("step")
        self.artifact: ArtifactRef | None = None

    @property
    def log(self) -> logging.Logger:
        return self._pipes.log

    @property
    def is_main_process(self) -> bool:
        return int(os.environ.get("RANK", "0")) == 0

    def publish(self, name: str, local_dir: str | Path, validate: Callable[[Path], None] | None = None) -> ArtifactRef:
        """Publish ``local_dir`` as artifact ``name`` (staged, validated, manifested)."""
        if self.artifact is not None:
            raise RuntimeError(f"step {self.step!r} already published {self.artifact.uri}; one artifact per step")
        self.artifact = self.store.publish(name, local_dir, validate=validate)
        self.log.info(f"published {self.artifact.uri}")
        return self.artifact

    def check(self, name: str, passed: bool, metadata: dict[str, Any] | None = None, severity: str = "ERROR") -> None:
        """Report an asset check; the asset must declare a check spec named ``name``."""
        self._pipes.report_asset_check(name, passed=passed, severity=severity, metadata=metadata or {})


class _DroppingChannel(PipesMessageWriterChannel):
    def write_message(self, message) -> None:  # noqa: ARG002 - non-zero ranks stay silent
        return None


class _DroppingWriter(PipesMessageWriter):
    @contextmanager
    def open(self, params) -> Iterator[_DroppingChannel]:  # noqa: ARG002
        yield _DroppingChannel()


def _pipes_channel() -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if os.environ.get(CHANNEL_ENV) == "gcs":
        from dagster_pipes import PipesGCSContextLoader, PipesGCSMessageWriter
        from google.cloud import storage

        client = storage.Client()
        kwargs = {
            "context_loader": PipesGCSContextLoader(client=client),
            "message_writer": PipesGCSMessageWriter(client=client, interval=2),
        }
    if int(os.environ.get("RANK", "0")) != 0:
        kwargs["message_writer"] = _DroppingWriter()
    return kwargs


def run_entry(main: Callable[[dict, StepReporter], dict]) -> None:
    """Open Pipes, run ``main(params, reporter)``, report its metrics and artifact to Dagster."""
    with open_dagster_pipes(**_pipes_channel()) as pipes:
        store = ArtifactStore.at(pipes.get_extra("artifact_root"))
        reporter = StepReporter(pipes, store)
        metrics = main(dict(pipes.get_extra("params")), reporter)
        if not isinstance(metrics, dict):
            raise TypeError(f"step {reporter.step!r}: main must return a dict of metrics, got {type(metrics).__name__}")
        if reporter.artifact is not None:
            metrics = {**metrics, **{f"artifact_{k}": v for k, v in reporter.artifact.to_dict().items()}}
        pipes.report_asset_materialization(metadata=metrics)
    sys.stdout.flush()
