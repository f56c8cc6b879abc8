"""What evaluating through an OpenAI-compatible endpoint costs against evaluating the same model locally.

    HARNESS_DATA_DIR=../shared/data python benchmarks/endpoint_cost.py [--limit 5] [--repeat 1] [--concurrency 1]

The tiny model with a BOS-adding tokenizer is built, converted to GGUF by harness's
converter and served by llama-cpp-python's server (f32 KV cache, as the endpoint tests
serve it). ``harness run --suites mmlu --limit N --no-cache`` then runs locally (lm-eval's
HFLM in the harness process) and through the endpoint (lm-eval's local-completions), each
in a fresh process, interleaved. Prints for each: wall seconds, log-likelihood requests
per second, the harness process's CPU seconds and the server's, the ratios endpoint /
local, and the largest difference between the two runs' choice log-likelihoods.

Where the time goes on the endpoint side: llama-cpp-python computes echoed prompt
log-probabilities in Python, about a millisecond per prompt token, and serves one request
at a time. A GPU server (vLLM) answers the same requests in batches.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a running process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_run(command: list[str], env: dict[str, str], server_pid: int) -> dict[str, float | str]:
    """Wall seconds, the child's CPU seconds and the server's CPU seconds of one ``harness run``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = process_cpu_seconds(server_pid)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[3:6])}... failed:\n{done.stderr[-1500:]}")
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall": wall,
        "client_cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "server_cpu": process_cpu_seconds(server_pid) - server_before,
        "run_dir": json.loads(done.stdout)["run_dir"],
    }


def largest_difference(local: Path, remote: Path) -> float:
    def items(run_dir: Path) -> dict[str, list[float]]:
        lines = (run_dir / "items.jsonl").read_text(encoding="utf-8").splitlines()
        return {r["item_id"]: r["loglikelihoods"] for r in map(json.loads, lines)}

    a, b = items(local), items(remote)
    return max(abs(x - y) for key in a for x, y in zip(a[key], b[key], strict=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=5, help="items per MMLU subject (5 gives 285 items)")
    parser.add_argument("--repeat", type=int, default=1, help="interleaved repetitions; medians are reported")
    parser.add_argument("--concurrency", type=int, default=1, help="requests in flight through the endpoint")
    args = parser.parse_args()
    data = os.environ.get("HARNESS_DATA_DIR")
    if not data or not (Path(data) / "mmlu").is_dir():
        print("set HARNESS_DATA_DIR to the folder with mmlu/", file=sys.stderr)
        return 2
    from tests.llama_server import LLAMA_CPP_MISSING, SERVED_NAME, SKIP_REASON, start_server

    if LLAMA_CPP_MISSING:
        print(SKIP_REASON, file=sys.stderr)
        return 2
    from harness.models.gguf import convert_to_gguf
    from harness.models.tiny import build_tiny_model

    harness = [sys.executable, "-m", "harness.cli"]
    samples: dict[str, list[dict[str, float | str]]] = {"local": [], "endpoint": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = os.environ | {
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "HARNESS_HOME": str(root / "home"),
        }
        model = build_tiny_model(root / "tiny-bos", add_bos=True)
        server = start_server(convert_to_gguf(model, root / "tiny-bos.gguf"), root / "server.log")
        try:
            common = ["--suites", "mmlu", "--data-dir", data, "--limit", str(args.limit), "--no-cache", "--json"]
            local = [*harness, "run", str(model), *common]
            endpoint = [
                *harness,
                "run",
                "--endpoint",
                server.url,
                "--served-model",
                SERVED_NAME,
                "--tokenizer",
                str(model),
                "--concurrency",
                str(args.concurrency),
                *common,
            ]
            for i in range(args.repeat):
                samples["local"].append(timed_run([*local, "--out", str(root / f"local-{i}")], env, server.process.pid))
                samples["endpoint"].append(
                    timed_run([*endpoint, "--out", str(root / f"endpoint-{i}")], env, server.process.pid)
                )
            worst = largest_difference(
                Path(str(samples["local"][0]["run_dir"])), Path(str(samples["endpoint"][0]["run_dir"]))
            )
        finally:
            server.stop()

    requests = 57 * args.limit * 4
    median = {
        name: {key: statistics.median(float(s[key]) for s in runs) for key in ("wall", "client_cpu", "server_cpu")}
        for name, runs in samples.items()
    }
    print(
        f"MMLU, {57 * args.limit} items ({requests} log-likelihood requests), tiny model; medians of {args.repeat} "
        f"interleaved run(s); endpoint concurrency {args.concurrency}:"
    )
    for name, m in median.items():
        print(
            f"  {name:<9} {m['wall']:7.2f} s wall  {requests / m['wall']:7.1f} requests/s  "
            f"harness CPU {m['client_cpu']:6.2f} s  server CPU {m['server_cpu']:6.2f} s"
        )
    local_m, remote_m = median["local"], median["endpoint"]
    print(f"endpoint / local: wall {remote_m['wall'] / local_m['wall']:.2f}x, ", end="")
    print(
        f"requests/s {local_m['wall'] / remote_m['wall']:.2f}x, "
        f"CPU (harness + server) {(remote_m['client_cpu'] + remote_m['server_cpu']) / (local_m['client_cpu'] + local_m['server_cpu']):.2f}x"
    )
    print(f"largest choice log-likelihood difference, endpoint against local: {worst:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
