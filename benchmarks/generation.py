"""Generation throughput of the inspect engine: items per second for ``structured`` at batch 1 and batch 8.

    python benchmarks/generation.py [--items 40] [--max-tokens 64]

On the tiny model, one torch thread, greedy decoding. Prints items per second at each
batch size and their ratio (target: batch 8 at least 3 times batch 1).
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
TARGET_RATIO = 3.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()

    import torch

    from harness.engines.base import EngineSettings
    from harness.engines.inspect_engine import InspectEngine
    from harness.models.modelref import ModelRef
    from harness.models.tiny import build_tiny_model
    from harness.suites.base import SuiteOptions
    from harness.suites.structured import Structured

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        model = ModelRef(str(build_tiny_model(Path(tmp) / "tiny"))).load()
        prepared = Structured().prepare(SuiteOptions(data_dir=None, cache_dir=Path(tmp) / "cache"))
        task = prepared.tasks[0]
        task = type(task)(**{**task.__dict__, "generation": {"max_tokens": args.max_tokens}})
        rates = {}
        for batch in (1, 8):
            engine = InspectEngine(EngineSettings(batch_size=batch))
            started = time.perf_counter()
            out = engine.evaluate(model, [task], Path(tmp) / f"b{batch}", limit=args.items)
            seconds = time.perf_counter() - started
            rates[batch] = len(out.records) / seconds
            print(f"batch {batch}: {len(out.records)} items in {seconds:.2f} s = {rates[batch]:.1f} items/s")
    ratio = rates[8] / rates[1]
    meets = ratio >= TARGET_RATIO
    print(f"batch 8 / batch 1: {ratio:.2f}x (target >= {TARGET_RATIO:.0f}x; {'meets' if meets else 'MISSES'} it)")
    return 0 if meets else 1


if __name__ == "__main__":
    sys.exit(main())
