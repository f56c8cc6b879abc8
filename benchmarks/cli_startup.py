"""Start-up cost of ``harness --help``: CPU seconds (target: under 0.3 s) and wall time.

Prints the median of several runs, the target, and their ratio (below 1.0 meets it),
plus whether any heavy library was imported on the way.

    python benchmarks/cli_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time

TARGET_CPU_S = 0.3
HEAVY = ("torch", "transformers", "lm_eval", "weasyprint", "peft", "datasets", "inspect_ai", "sqlalchemy", "pydantic")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    command = [sys.executable, "-m", "harness.cli", "--help"]
    subprocess.run(command, capture_output=True, check=True)  # warm the file cache
    cpu, wall = [], []
    for _ in range(args.runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        wall.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    probe = (
        "import sys, harness.cli; from click.testing import CliRunner; "
        "CliRunner().invoke(harness.cli.main, ['--help']); "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    heavy = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    median = statistics.median(cpu)
    meets = median < TARGET_CPU_S
    print(f"harness --help: median {median:.3f} s CPU, {statistics.median(wall):.3f} s wall, over {args.runs} runs")
    print(
        f"target {TARGET_CPU_S:.2f} s CPU; ratio {median / TARGET_CPU_S:.2f} ({'meets' if meets else 'MISSES'} the target)"
    )
    print(f"heavy modules imported by --help: {heavy or 'none'}")
    return 0 if meets and not heavy else 1


if __name__ == "__main__":
    raise SystemExit(main())
