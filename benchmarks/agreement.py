"""Time of ``agreement_report`` on the shipped ratings (200 items, 3 raters; target: under 3 s of CPU).

    python benchmarks/agreement.py [--runs 5] [--bootstrap 1000] [--ratings PATH]

Prints, for the default 1000-resample bootstrap:
- cold: a fresh Python process that imports the module (and pandas, scikit-learn,
  statsmodels, krippendorff on first use) and builds the report once, as
  ``harness data agreement`` does; CPU seconds (user + system) and wall seconds;
- warm: the report alone, libraries already imported; median CPU seconds over runs;
and each time's ratio to the 3 s target (below 1.0 meets it).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_S = 3.0
RATINGS = Path(__file__).resolve().parent.parent / "suites" / "data" / "emergency" / "ratings.csv"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def verdict(seconds: float) -> str:
    return f"ratio {seconds / TARGET_S:.2f} ({'meets' if seconds < TARGET_S else 'MISSES'} the {TARGET_S:.0f} s target)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--ratings", type=Path, default=RATINGS)
    args = parser.parse_args()

    code = (
        "from harness.data.agreement import agreement_report; "
        f"agreement_report({str(args.ratings)!r}, n_boot={args.bootstrap})"
    )
    subprocess.run([sys.executable, "-c", "import harness.data.agreement"], check=True)  # warm the file cache
    cold_cpu, cold_wall = [], []
    for _ in range(args.runs):
        cpu, start = children_cpu(), time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        cold_wall.append(time.perf_counter() - start)
        cold_cpu.append(children_cpu() - cpu)

    from harness.data.agreement import agreement_report

    report = agreement_report(args.ratings, n_boot=args.bootstrap)  # imports the libraries
    warm = []
    for _ in range(args.runs):
        start = time.process_time()
        agreement_report(args.ratings, n_boot=args.bootstrap)
        warm.append(time.process_time() - start)

    print(f"{args.ratings.name}: {report.n_items} items, {len(report.raters)} raters, --bootstrap {args.bootstrap}")
    cold = statistics.median(cold_cpu)
    print(
        f"cold (fresh process, imports included): median {cold:.3f} s CPU, "
        f"{statistics.median(cold_wall):.3f} s wall over {args.runs} runs; {verdict(cold)}"
    )
    hot = statistics.median(warm)
    print(f"warm (report only): median {hot:.3f} s CPU (min {min(warm):.3f}, max {max(warm):.3f}); {verdict(hot)}")


if __name__ == "__main__":
    main()
