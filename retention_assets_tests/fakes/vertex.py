"""A small fake of the Vertex AI REST API (v1 ``CustomJob``) on 127.0.0.1.

It serves create, get, list and cancel the way ``JobServiceClient(transport="rest")`` calls them,
and runs a job's first worker pool the way Vertex runs its container: the pool's ``command`` +
``args`` as a subprocess whose environment is the spec's ``env`` plus Vertex's ``AIP_*`` and
``CLOUD_ML_JOB_ID`` variables (and ``base_env``, standing in for the image's own environment).

Modelled: states PENDING -> RUNNING -> SUCCEEDED | FAILED, CANCELLING -> CANCELLED; the
``scheduling.timeout`` (the process is killed and the job FAILS with DEADLINE_EXCEEDED);
``error`` with a google.rpc code; start/end/create/update times; request validation of the
fields Vertex requires; and injected capacity failures (``fail_next``) that end a job before it
starts, as a stockout or quota error does.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# google.rpc codes
CANCELLED, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, RESOURCE_EXHAUSTED = 1, 3, 4, 5, 8
_HTTP_STATUS = {INVALID_ARGUMENT: (400, "INVALID_ARGUMENT"), NOT_FOUND: (404, "NOT_FOUND")}
_LABEL = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ApiError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class FakeJob:
    resource: dict
    log_path: Path
    process: subprocess.Popen | None = None
    cancel_requested: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def update(self, **fields) -> None:
        with self.lock:
            self.resource.update(fields, updateTime=_now())

    def snapshot(self) -> dict:
        with self.lock:
            return json.loads(json.dumps(self.resource))


class FakeVertex:
    """Start with ``start()`` (returns the ``http://127.0.0.1:port`` endpoint), stop with ``stop()``."""

    def __init__(self, base_env: dict[str, str], workdir: str | os.PathLike, start_delay_s: float = 0.2):
        self.base_env = dict(base_env)
        self.workdir = Path(workdir)
        self.start_delay_s = start_delay_s
        self.jobs: dict[str, FakeJob] = {}
        self._failures: list[tuple[int, str]] = []
        self._server: ThreadingHTTPServer | None = None

    # -- test controls -------------------------------------------------------------------

    def fail_next(self, code: int, message: str, times: int = 1) -> None:
        """The next ``times`` jobs fail before their container starts (stockout, quota, ...)."""
        self._failures.extend([(code, message)] * times)

    def wait_for_state(self, state: str, timeout_s: float = 60) -> FakeJob:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for job in list(self.jobs.values()):
                if job.snapshot()["state"] == state:
                    return job
            time.sleep(0.05)
        raise TimeoutError(f"no fake Vertex job reached {state} in {timeout_s}s")

    # -- server --------------------------------------------------------------------------

    def start(self) -> str:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        for job in self.jobs.values():
            if job.process and job.process.poll() is None:
                os.killpg(job.process.pid, signal.SIGKILL)
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    # -- API -----------------------------------------------------------------------------

    def create(self, parent: str, body: dict) -> dict:
        pools = body.get("jobSpec", {}).get("workerPoolSpecs") or []
        if not pools:
            raise ApiError(INVALID_ARGUMENT, "job_spec.worker_pool_specs must not be empty")
        for i, pool in enumerate(pools):
            if not pool.get("machineSpec", {}).get("machineType"):
                raise ApiError(INVALID_ARGUMENT, f"worker_pool_specs[{i}].machine_spec.machine_type is required")
            if not pool.get("containerSpec", {}).get("imageUri"):
                raise ApiError(INVALID_ARGUMENT, f"worker_pool_specs[{i}].container_spec.image_uri is required")
        for key, value in (body.get("labels") or {}).items():
            if not _LABEL.match(key) or not _LABEL_VALUE.match(value):
                raise ApiError(INVALID_ARGUMENT, f"invalid label {key}={value}")
        job_id = str(uuid.uuid4().int)[:19]
        name = f"{parent}/customJobs/{job_id}"
        resource = {**body, "name": name, "state": "JOB_STATE_PENDING", "createTime": _now(), "updateTime": _now()}
        self.workdir.mkdir(parents=True, exist_ok=True)
        job = FakeJob(resource=resource, log_path=self.workdir / f"{job_id}.log")
        self.jobs[name] = job
        threading.Thread(target=self._run, args=(job, job_id), daemon=True).start()
        return job.snapshot()

    def get(self, name: str) -> dict:
        if name not in self.jobs:
            raise ApiError(NOT_FOUND, f"CustomJob {name} not found")
        return self.jobs[name].snapshot()

    def list(self, parent: str) -> dict:
        return {"customJobs": [j.snapshot() for n, j in self.jobs.items() if n.startswith(parent + "/")]}

    def cancel(self, name: str) -> dict:
        job = self.jobs.get(name)
        if job is None:
            raise ApiError(NOT_FOUND, f"CustomJob {name} not found")
        if job.snapshot()["state"] in ("JOB_STATE_PENDING", "JOB_STATE_RUNNING"):
            job.update(state="JOB_STATE_CANCELLING")
            job.cancel_requested.set()
        return {}

    # -- the "container" -----------------------------------------------------------------

    def _run(self, job: FakeJob, job_id: str) -> None:
        time.sleep(self.start_delay_s)
        if job.cancel_requested.is_set():
            job.update(state="JOB_STATE_CANCELLED", endTime=_now(), error={"code": CANCELLED, "message": "CANCELED"})
            return
        if self._failures:
            code, message = self._failures.pop(0)
            job.update(state="JOB_STATE_FAILED", endTime=_now(), error={"code": code, "message": message})
            return
        spec = job.snapshot()["jobSpec"]
        pool = spec["workerPoolSpecs"][0]["containerSpec"]
        output = spec.get("baseOutputDirectory", {}).get("outputUriPrefix", "")
        env = {
            **self.base_env,
            **{e["name"]: e.get("value", "") for e in pool.get("env", [])},
            "CLOUD_ML_JOB_ID": job_id,
            "AIP_MODEL_DIR": f"{output}/model/",
            "AIP_CHECKPOINT_DIR": f"{output}/checkpoints/",
            "AIP_TENSORBOARD_LOG_DIR": f"{output}/logs/",
        }
        timeout_s = float(spec.get("scheduling", {}).get("timeout", "604800s").rstrip("s"))
        with job.log_path.open("wb") as log:
            job.process = subprocess.Popen(
                [*pool.get("command", []), *pool.get("args", [])],
                env=env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            job.update(state="JOB_STATE_RUNNING", startTime=_now())
            deadline, timed_out = time.monotonic() + timeout_s, False
            while job.process.poll() is None:
                timed_out = time.monotonic() > deadline
                if job.cancel_requested.is_set() or timed_out:
                    os.killpg(job.process.pid, signal.SIGKILL)
                    job.process.wait()
                    break
                time.sleep(0.05)
        if job.cancel_requested.is_set():
            job.update(state="JOB_STATE_CANCELLED", endTime=_now(), error={"code": CANCELLED, "message": "CANCELED"})
        elif timed_out:
            job.update(
                state="JOB_STATE_FAILED",
                endTime=_now(),
                error={"code": DEADLINE_EXCEEDED, "message": f"Job exceeded its timeout of {timeout_s:g}s."},
            )
        elif job.process.returncode != 0:
            job.update(
                state="JOB_STATE_FAILED",
                endTime=_now(),
                error={
                    "code": INVALID_ARGUMENT,
                    "message": f"The replica workerpool0-0 exited with a non-zero status of {job.process.returncode}.",
                },
            )
        else:
            job.update(state="JOB_STATE_SUCCEEDED", endTime=_now())


_JOB = re.compile(r"^/v1/(projects/[^/]+/locations/[^/]+)/customJobs(?:/([^/:]+))?(:cancel)?$")


def _handler(fake: FakeVertex):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep pytest output quiet
            return None

        def _reply(self, status: int, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _dispatch(self, method: str) -> None:
            match = _JOB.match(self.path.split("?", 1)[0])
            try:
                if not match:
                    raise ApiError(NOT_FOUND, f"no route {method} {self.path}")
                parent, job_id, cancel = match.groups()
                name = f"{parent}/customJobs/{job_id}"
                if method == "POST" and job_id is None:
                    length = int(self.headers.get("Content-Length", 0))
                    self._reply(200, fake.create(parent, json.loads(self.rfile.read(length) or b"{}")))
                elif method == "POST" and cancel:
                    self._reply(200, fake.cancel(name))
                elif method == "GET" and job_id is None:
                    self._reply(200, fake.list(parent))
                elif method == "GET":
                    self._reply(200, fake.get(name))
                else:
                    raise ApiError(NOT_FOUND, f"no route {method} {self.path}")
            except ApiError as exc:
                status, text = _HTTP_STATUS[exc.code]
                self._reply(status, {"error": {"code": status, "message": str(exc), "status": text}})

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

    return Handler
