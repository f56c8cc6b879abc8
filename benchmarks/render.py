"""Dossier render time for the demo run (target: under 5 s on 2 cores).

    HARNESS_DATA_DIR=../shared/data python benchmarks/render.py [--demo-dir DIR] [--repeat 3]

Without --demo-dir it first runs `harness demo` into a temporary folder. Prints the
median time to render the HTML and the PDF/A-3b from stored evidence, and its ratio to
the target. Library imports are warmed up by one untimed render first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 5.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo-dir", type=Path, help="a folder `harness demo --out` wrote (its HARNESS_HOME must be set)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as tmp:
        demo = args.demo_dir
        if demo is None:
            demo = Path(tmp) / "demo"
            os.environ["HARNESS_HOME"] = str(Path(tmp) / "home")
            print("running harness demo first ...", file=sys.stderr)
            subprocess.run([sys.executable, "-m", "harness.cli", "demo", "--out", str(demo)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        from harness.reports.dossier import render_dossier

        from harness.store import RunStore

        tuned = sorted((demo / "runs").iterdir())[-1]
        store = RunStore()
        datasets = [r["name"] + "@" + r["version"] for r in store.datasets() if r["version"] == "1.0.0"]
        out = Path(tmp) / "dossier"
        render_dossier(tuned, out, store=store, datasets=datasets)  # warm-up
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            paths = render_dossier(tuned, out, store=store, datasets=datasets)
            times.append(time.perf_counter() - started)
        pages = len(__import__("pypdf").PdfReader(paths.pdf).pages)
        median = statistics.median(times)
        print(f"dossier render (HTML + PDF/A-3b, {pages} pages): median {median:.2f} s over {args.repeat} runs "
              f"(min {min(times):.2f}, max {max(times):.2f})")
        print(f"target {TARGET_S:.1f} s; ratio {median / TARGET_S:.2f} ({'meets' if median <= TARGET_S else 'misses'} the target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
