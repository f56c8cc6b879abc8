"""Model requests and wall time per suite on the tiny model: 570 MMLU items (10 a subject).

    HARNESS_DATA_DIR=../shared/data python benchmarks/suite_cost.py [--limit 10]

Prints, per suite, the log-likelihood/generation requests sent, those that reached the
model (cache off, so all of them), seconds, and the cost relative to MMLU. Calibration
is derived from MMLU's records, so its requests must be 0.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=10, help="items per MMLU subject (10 gives 570)")
    parser.add_argument("--suites", default="mmlu,calibration,robustness,fairness", help="mmlu must come first")
    args = parser.parse_args()

    from harness.engines.lm_eval_engine import LmEvalEngine
    from harness.models.modelref import ModelRef
    from harness.models.tiny import build_tiny_model
    from harness.paths import resolve_data_dir
    from harness.runner.execute import RunSpec, execute_run

    data_dir = resolve_data_dir(None)
    if data_dir is None:
        print("set HARNESS_DATA_DIR to the folder with mmlu/", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_model(Path(tmp) / "tiny")
        engine = LmEvalEngine(ModelRef(str(model)), cache_root=None)
        _ = engine.lm  # load the model once, outside the timings
        rows = []
        for suite in args.suites.split(","):
            suites = [suite] if suite != "calibration" else ["mmlu", "calibration"]
            spec = RunSpec(base=str(model), suites=suites, data_dir=str(data_dir), limit=args.limit)
            started = time.perf_counter()
            result, _ = execute_run(spec, Path(tmp) / suite, store=None, cache_root=None, engine=engine)
            elapsed = time.perf_counter() - started
            own = result.timings.get(f"suite.{suite}", elapsed)
            requests, calls = result.cache["requests"], result.cache["model_calls"]
            if suite == "calibration":  # the run also evaluated mmlu; what calibration adds is the excess
                mmlu = next(r for r in rows if r[0] == "mmlu")
                requests, calls = requests - mmlu[2], calls - mmlu[3]
            rows.append((suite, result.suite_status[suite].n_items, requests, calls, own))
    base = next((r for r in rows if r[0] == "mmlu"), rows[0])
    print(
        f"{'suite':<12} {'items':>7} {'requests':>9} {'model calls':>12} {'seconds':>8} {'requests/mmlu':>14} {'time/mmlu':>10}"
    )
    for suite, items, requests, calls, seconds in rows:
        print(
            f"{suite:<12} {items:>7} {requests:>9} {calls:>12} {seconds:>8.2f} {requests / base[2]:>14.2f} {seconds / base[4]:>10.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
