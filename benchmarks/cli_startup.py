"""Start-up time of ``harness --help`` (target: under 0.5 s).

Prints the median of several runs, the target, and their ratio (below 1.0 meets it),
plus whether any heavy library was imported on the way.

    python benchmarks/cli_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

TARGET_S = 0.5
HEAVY = ("torch", "transformers", "lm_eval", "weasyprint", "peft", "datasets")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    command = [sys.executable, "-m", "harness.cli", "--help"]
    subprocess.run(command, capture_output=True, check=True)  # warm the file cache
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    probe = (
        "import sys, harness.cli; from click.testing import CliRunner; "
        "CliRunner().invoke(harness.cli.main, ['--help']); "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    heavy = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    median = statistics.median(times)
    print(f"harness --help: median {median:.3f} s over {args.runs} runs (min {min(times):.3f}, max {max(times):.3f})")
    print(f"target {TARGET_S:.3f} s; ratio {median / TARGET_S:.2f} ({'meets' if median < TARGET_S else 'MISSES'} the target)")
    print(f"heavy modules imported by --help: {heavy or 'none'}")


if __name__ == "__main__":
    main()
