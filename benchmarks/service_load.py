"""Load on `harness serve`: concurrent clients reading runs and posting gates; latency p50/p99 and errors.

    python benchmarks/service_load.py [--clients 50] [--requests 20] [--duration 120] [--runs 20]
                                      [--gate-every 5] [--workers 1] [--url URL --token TOKEN]

Without ``--url`` it builds a throwaway service the way a user runs one: a fresh
HARNESS_HOME and SQLite store with ``--runs`` stored runs (synthetic results, no model),
a ``ci`` token, and ``harness serve --workers N`` as a subprocess on a free loopback
port. Then ``--clients`` clients (asyncio, one HTTP connection each) start together: each
opens its connection with GET /api/v1/me (timed apart and reported as the cold start), then
sends ``--requests`` requests, one after another, and stop early after ``--duration`` seconds: the list
of runs, a run with its metrics and intervals, a run's verdicts, and every
``--gate-every``-th request a gate job (POST /api/v1/jobs) on a run, which the
service's workers then run. Prints the number of requests, p50, p99 and the largest
latency in milliseconds (and the gate submissions' and the first requests' apart), throughput, the error count (any answer that is not 2xx, or a
failed connection) and the gate jobs finished by the end. Exit code 1 when there was
any error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    post_latencies_ms: list[float] = field(default_factory=list)  # the gate submissions among them
    # each client's first request (GET /api/v1/me: its connection opened, the service's threads and
    # store connections warmed up) timed apart from the others, so a cold start is reported, not mixed in
    first_latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    gates_posted: int = 0
    seconds: float = 0.0

    def percentile(self, q: float, latencies: list[float] | None = None) -> float:
        """The ``q``-th percentile by the nearest-rank method (Hyndman and Fan's definition 1)."""
        values = self.latencies_ms if latencies is None else latencies
        if not values:
            return math.nan
        ordered = sorted(values)
        rank = max(1, math.ceil(q / 100 * len(ordered)))
        return ordered[rank - 1]


async def client(
    number: int, url: str, token: str, runs: list[str], requests: int, gate_every: int, deadline: float, out: LoadResult
) -> None:
    import httpx

    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60.0) as http:
        started = time.perf_counter()
        try:
            first = await http.get("/api/v1/me")
        except httpx.HTTPError as exc:
            out.errors.append(f"GET /api/v1/me: {type(exc).__name__}: {exc}")
            return
        out.first_latencies_ms.append((time.perf_counter() - started) * 1000)
        if first.status_code >= 300:
            out.errors.append(f"GET /api/v1/me: {first.status_code} {first.text[:120]}")
            return
        for i in range(requests):
            if time.monotonic() > deadline:
                return
            run = runs[(number + i) % len(runs)]
            if gate_every and i % gate_every == gate_every - 1:
                method, path = "POST", "/api/v1/jobs"
                body: dict[str, object] | None = {"kind": "gate", "params": {"run": run, "policy": "baseline-minimums"}}
            else:
                method, body = "GET", None
                path = ("/api/v1/runs", f"/api/v1/runs/{run}", f"/api/v1/runs/{run}/verdicts")[i % 3]
            started = time.perf_counter()
            try:
                response = await http.request(method, path, json=body)
                status = response.status_code
            except httpx.HTTPError as exc:
                out.errors.append(f"{method} {path}: {type(exc).__name__}: {exc}")
                continue
            out.latencies_ms.append((time.perf_counter() - started) * 1000)
            if method == "POST":
                out.post_latencies_ms.append(out.latencies_ms[-1])
            if status >= 300:
                out.errors.append(f"{method} {path}: {status} {response.text[:120]}")
            elif method == "POST":
                out.gates_posted += 1


async def load(
    url: str, token: str, runs: list[str], clients: int, requests: int, gate_every: int, duration: float
) -> LoadResult:
    out = LoadResult()
    started = time.monotonic()
    deadline = started + duration
    await asyncio.gather(*(client(n, url, token, runs, requests, gate_every, deadline, out) for n in range(clients)))
    out.seconds = time.monotonic() - started
    return out


def run_load(
    url: str,
    token: str,
    runs: list[str],
    *,
    clients: int = 50,
    requests: int = 20,
    gate_every: int = 5,
    duration: float = 120.0,
) -> LoadResult:
    """Drive the service at ``url`` (see the module's docstring); the latencies and errors."""
    return asyncio.run(load(url, token, runs, clients, requests, gate_every, duration))


# ---------------------------------------------------------------------------- a throwaway service


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed_store(store_url: str, folder: Path, count: int) -> list[str]:
    """``count`` stored runs with synthetic results (no model) in the store; their run ids."""
    from harness.schema.results import Environment, ModelInfo, RunResult, SuiteStatus, proportion_metric, write_results
    from harness.store import RunStore

    store = RunStore(store_url)
    ids = []
    for i in range(count):
        run_id = f"20261122T{i // 60:02d}{i % 60:02d}00Z-{i:08x}"
        metrics = {"mmlu.accuracy": (55 + i % 20, 100), "gsm8k.exact_match": (30 + i % 15, 50)}
        result = RunResult(
            run_id=run_id,
            created_at=f"2026-11-22T00:{i % 60:02d}:00+00:00",
            model=ModelInfo(base="models/synthetic", fingerprint="sha256:" + f"{i:02x}" * 32),
            suites=["mmlu", "gsm8k"],
            suite_status={s: SuiteStatus(status="completed", n_items=100) for s in ("mmlu", "gsm8k")},
            metrics=[
                proportion_metric(name, k, n).model_copy(update={"suite": name.split(".")[0], "direction": "higher"})
                for name, (k, n) in metrics.items()
            ],
            environment=Environment(python=sys.version.split()[0]),
        )
        write_results(folder / run_id, result)
        store.index_run(result, folder / run_id)
        ids.append(run_id)
    return ids


class ThrowawayService:
    """``harness serve`` on a fresh store in a temporary HARNESS_HOME."""

    def __init__(self, runs: int, workers: int) -> None:
        from harness.service.accounts import create_token
        from harness.store import RunStore

        self.home = Path(tempfile.mkdtemp(prefix="harness-load-"))
        os.environ["HARNESS_HOME"] = str(self.home)
        self.store_url = f"sqlite:///{self.home / 'runs.db'}"
        self.run_ids = seed_store(self.store_url, self.home / "runs", runs)
        self.token, _ = create_token(RunStore(self.store_url), "load", "ci", created_by="benchmark")
        self.url = f"http://127.0.0.1:{free_port()}"
        port = self.url.rsplit(":", 1)[1]
        command = [
            sys.executable,
            "-m",
            "harness.cli",
            "--store",
            self.store_url,
            "serve",
            "--port",
            port,
            "--workers",
            str(workers),
        ]
        self.log = (self.home / "serve.log").open("w")
        self.process = subprocess.Popen(
            command, cwd=REPO, env=os.environ.copy(), stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError((self.home / "serve.log").read_text()[-2000:]) from None
                time.sleep(0.2)

    def finished_gates(self) -> int:
        from harness.service import jobs
        from harness.store import RunStore

        return sum(
            j.status == "succeeded" for j in jobs.list_jobs(RunStore(self.store_url), kind="gate", limit=100_000)
        )

    def stop(self) -> None:
        import shutil

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()
        shutil.rmtree(self.home, ignore_errors=True)


def report(result: LoadResult, clients: int) -> dict[str, object]:
    count = len(result.latencies_ms)
    return {
        "clients": clients,
        "requests": count + sum("Error" in e for e in result.errors),
        "p50_ms": round(result.percentile(50), 1),
        "p99_ms": round(result.percentile(99), 1),
        "max_ms": round(max(result.latencies_ms, default=math.nan), 1),
        "first_request_p50_ms": round(result.percentile(50, result.first_latencies_ms), 1),
        "first_request_max_ms": round(max(result.first_latencies_ms, default=math.nan), 1),
        "gate_post_p50_ms": round(result.percentile(50, result.post_latencies_ms), 1),
        "gate_post_p99_ms": round(result.percentile(99, result.post_latencies_ms), 1),
        "requests_per_s": round(count / result.seconds, 1) if result.seconds else None,
        "errors": len(result.errors),
        "gates_posted": result.gates_posted,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20, help="requests per client")
    parser.add_argument("--duration", type=float, default=120.0, help="stop sending after this many seconds")
    parser.add_argument("--runs", type=int, default=20, help="stored runs in the throwaway store")
    parser.add_argument(
        "--gate-every", type=int, default=5, help="every N-th request of a client posts a gate job (0: none)"
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes of the throwaway service")
    parser.add_argument("--url", help="an existing service instead of a throwaway one (needs --token and --run)")
    parser.add_argument("--token", help="API token (role ci or release-manager) for --url")
    parser.add_argument("--run", action="append", default=[], help="a run id on --url (repeatable)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    service = None
    if args.url:
        if not args.token or not args.run:
            parser.error("--url needs --token and at least one --run")
        url, token, runs = args.url, args.token, args.run
    else:
        service = ThrowawayService(args.runs, args.workers)
        url, token, runs = service.url, service.token, service.run_ids
    try:
        result = run_load(
            url,
            token,
            runs,
            clients=args.clients,
            requests=args.requests,
            gate_every=args.gate_every,
            duration=args.duration,
        )
        summary = report(result, args.clients)
        if service is not None:
            summary["gates_finished_by_end"] = service.finished_gates()
    finally:
        if service is not None:
            service.stop()
    if args.json:
        print(json.dumps(summary | {"first_errors": result.errors[:5]}))
    else:
        print(
            f"{summary['clients']} clients, {summary['requests']} requests in {result.seconds:.1f} s "
            f"({summary['requests_per_s']}/s): p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms, "
            f"max {summary['max_ms']} ms (gate submissions: p50 {summary['gate_post_p50_ms']} ms, "
            f"p99 {summary['gate_post_p99_ms']} ms; each client's first request, timed apart: p50 "
            f"{summary['first_request_p50_ms']} ms, max {summary['first_request_max_ms']} ms), errors {summary['errors']}, gate jobs posted {summary['gates_posted']}"
            + (
                f", finished by the end {summary['gates_finished_by_end']}"
                if "gates_finished_by_end" in summary
                else ""
            )
        )
        for error in result.errors[:5]:
            print(f"  error: {error}")
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
