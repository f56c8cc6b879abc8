"""The HTTP client of ``harness gate --server`` and ``harness remote``: the service's REST API, by token.

The token comes from ``HARNESS_TOKEN`` (``harness serve token add NAME --role ci``).
Failures are one-line :class:`ServiceError` messages (exit code 2): the service cannot be
reached, the token is refused, a job failed; the answer's ``detail`` is quoted.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.schema.verdict import Verdict

TOKEN_ENV = "HARNESS_TOKEN"
POLL_S = 0.5


class ServiceError(HarnessError):
    """The service refused a request, could not be reached, or a job it ran failed."""


class NotFoundOnService(ServiceError):
    pass


class ServiceClient:
    """Calls to one service with one token."""

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 60.0) -> None:
        import httpx

        token = token if token is not None else os.environ.get(TOKEN_ENV)
        if not token:
            raise ServiceError(
                f"no API token: set {TOKEN_ENV} (create one with harness serve token add NAME --role ci)"
            )
        self.url = url.rstrip("/")
        if not self.url.startswith(("http://", "https://")):
            raise ServiceError(f"--server {url}: give the service's address as http://HOST:PORT or https://HOST")
        self.http = httpx.Client(
            base_url=self.url, headers={"authorization": f"Bearer {token}"}, timeout=timeout, follow_redirects=False
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ServiceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ServiceError(f"cannot reach the service at {self.url}: {exc}") from None
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text[:200]
            message = f"{self.url}{path}: {response.status_code} {_detail_text(detail)}"
            if response.status_code == 404:
                raise NotFoundOnService(message)
            raise ServiceError(message)
        return response.json()

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("POST", path, json=body)

    def submit(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        job: dict[str, Any] = self.post("/api/v1/jobs", {"kind": kind, "params": params})
        return job

    def wait_job(
        self, job_id: int, say: Callable[[str], None] = lambda line: None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        """Follow a job until it finishes, passing each new progress line to ``say``; the finished job."""
        seen = 0
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job: dict[str, Any] = self.get(f"/api/v1/jobs/{job_id}", after=seen)
            for line in job.get("progress", []):
                seen = max(seen, int(line["id"]))
                say(str(line["line"]))
            if job["status"] in ("succeeded", "failed"):
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise ServiceError(f"job {job_id} on {self.url} did not finish within {timeout:.0f} s")
            time.sleep(POLL_S)


def _detail_text(detail: Any) -> str:
    if isinstance(detail, list):  # FastAPI's validation errors
        parts = []
        for d in detail:
            if isinstance(d, dict):
                loc = ".".join(str(p) for p in d.get("loc", []) if p != "body")
                parts.append(f"{loc}: {d.get('msg', '')}")
        return "; ".join(parts)
    return " ".join(str(detail).split())


def local_run(ref: str) -> tuple[str | None, Path | None]:
    """(run id, folder) of a run folder or results.json here; (ref, None) for what may be a run id."""
    path = Path(ref)
    if not path.exists():
        return ref, None
    from harness.schema.results import load_results, resolve_results_path

    results = resolve_results_path(path)
    return load_results(results).run_id, results.parent.resolve()


def remote_run(client: ServiceClient, ref: str) -> str:
    """How to name a run to the service: its id when the service's store has it (nothing is uploaded),
    else the absolute folder (the service must reach it, e.g. a shared filesystem)."""
    run_id, folder = local_run(ref)
    if run_id is not None:
        try:
            client.get(f"/api/v1/runs/{quote(run_id, safe='')}")
            return run_id
        except NotFoundOnService:
            pass
    if folder is not None:
        return str(folder)
    raise ServiceError(f"{ref}: no run with this id in the service's store ({client.url}), and no run folder here")


def gate_params(
    client: ServiceClient, run_ref: str, policy_ref: str, baseline_ref: str | None, datasets: list[str]
) -> dict[str, Any]:
    """The gate job's parameters; a policy file given here travels as text (the service cannot read this machine)."""
    params: dict[str, Any] = {"run": remote_run(client, run_ref), "policy": policy_ref, "datasets": datasets}
    policy_path = Path(policy_ref)
    if policy_path.is_file():
        params["policy"] = policy_path.name
        params["policy_yaml"] = policy_path.read_text(encoding="utf-8")
    if baseline_ref:
        params["baseline"] = remote_run(client, baseline_ref)
    return params


def remote_gate(
    url: str,
    run_ref: str,
    policy_ref: str,
    baseline_ref: str | None,
    datasets: list[str],
    say: Callable[[str], None],
    *,
    token: str | None = None,
) -> Verdict:
    """Gate a run on the service and wait: the verdict the service's gate job kept."""
    from harness.schema.verdict import Verdict

    with ServiceClient(url, token) as client:
        job = client.submit("gate", gate_params(client, run_ref, policy_ref, baseline_ref, datasets))
        say(f"gate job {job['id']} submitted to {client.url}")
        done = client.wait_job(int(job["id"]), say)
    if done["status"] != "succeeded":
        raise ServiceError(f"gate job {done['id']} on {url} failed: {done.get('error') or 'no reason given'}")
    return Verdict.model_validate(done["result"]["verdict"])
