"""What a harness run costs in CPU against its targets, on the tiny model and 570 MMLU items.

    HARNESS_DATA_DIR=../shared/data python benchmarks/run_cost.py [--limit 10] [--repeat 3]

Each variant runs in a fresh process with one torch thread; CPU is the process's user +
system time, and variants are interleaved so a busy machine slows them alike. Prints:

- harness / lm-eval: ``harness run --suites mmlu --no-cache`` against lm-eval's own
  ``simple_evaluate`` of the stock MMLU subject tasks on the same items (target <= 1.05);
- calibration / mmlu: ``--suites mmlu,calibration`` against ``--suites mmlu`` (<= 1.02);
- rerun / first: the same run again, with the run store and caches of the first (<= 0.10).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

TARGETS = {"harness / lm-eval": 1.05, "calibration / mmlu": 1.02, "rerun / first": 0.10}

PLAIN_LM_EVAL = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from lm_eval import simple_evaluate
    from lm_eval.api.task import ConfigurableTask
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager
    from lm_eval.tasks._yaml_loader import load_yaml
    from harness.engines.lm_eval_engine import lm_eval_tasks_dir
    from harness.suites.mmlu import SUBJECTS, read_mmlu_csv

    model, data, work, limit = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
    tasks = []
    for subject in SUBJECTS:
        files = {}
        for split in ("test", "dev"):
            path = work / f"{subject}_{split}.jsonl"
            rows = read_mmlu_csv(data / "mmlu" / split / f"{subject}_{split}.csv", subject)
            path.write_text("".join(json.dumps(r) + "\\n" for r in rows), encoding="utf-8")
            files[split] = str(path)
        config = load_yaml(lm_eval_tasks_dir() / "mmlu" / "default" / f"mmlu_{subject}.yaml")
        config.update(dataset_path="json", dataset_name=None, dataset_kwargs={"data_files": files}, num_fewshot=0)
        config.pop("tag", None)
        tasks.append(ConfigurableTask(config=config))
    empty = work / "no-tasks"
    empty.mkdir()
    simple_evaluate(model=HFLM(pretrained=model, batch_size=8, device="cpu"), tasks=tasks, limit=limit, bootstrap_iters=0,
                    log_samples=True, task_manager=TaskManager(include_path=str(empty), include_defaults=False))
    """
)


def cpu_seconds(command: list[str], env: dict[str, str]) -> float:
    """User + system CPU seconds of one child process (and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=10, help="items per MMLU subject (10 gives 570)")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved repetitions; medians are reported")
    args = parser.parse_args()
    data = os.environ.get("HARNESS_DATA_DIR")
    if not data or not (Path(data) / "mmlu").is_dir():
        print("set HARNESS_DATA_DIR to the folder with mmlu/", file=sys.stderr)
        return 2

    harness = [sys.executable, "-m", "harness.cli"]
    samples: dict[str, list[float]] = {k: [] for k in ("lm-eval", "mmlu", "mmlu+calibration", "first", "rerun")}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = os.environ | {
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "HARNESS_HOME": str(root / "home"),
        }
        model = root / "tiny"
        subprocess.run([*harness, "model", "tiny", str(model)], env=env, check=True, stdout=subprocess.DEVNULL)
        run = [*harness, "run", str(model), "--data-dir", data, "--limit", str(args.limit)]
        for i in range(args.repeat):
            work = root / f"plain-{i}"
            work.mkdir()
            samples["lm-eval"].append(
                cpu_seconds([sys.executable, "-c", PLAIN_LM_EVAL, str(model), data, str(work), str(args.limit)], env)
            )
            for suites in ("mmlu", "mmlu+calibration"):
                out = root / f"{suites}-{i}"
                samples[suites].append(
                    cpu_seconds([*run, "--suites", suites.replace("+", ","), "--no-cache", "--out", str(out)], env)
                )
            home = env | {"HARNESS_HOME": str(root / f"home-{i}")}  # an empty store and cache each time
            samples["first"].append(cpu_seconds([*run, "--suites", "mmlu", "--out", str(root / f"first-{i}")], home))
            samples["rerun"].append(cpu_seconds([*run, "--suites", "mmlu", "--out", str(root / f"rerun-{i}")], home))

    median = {k: statistics.median(v) for k, v in samples.items()}
    items = 57 * args.limit
    print(f"{items} MMLU items, tiny model, one torch thread, median CPU seconds of {args.repeat} interleaved runs:")
    for name, seconds in median.items():
        print(f"  {name:<18} {seconds:7.2f} s   ({', '.join(f'{s:.2f}' for s in samples[name])})")
    ratios = {
        "harness / lm-eval": median["mmlu"] / median["lm-eval"],
        "calibration / mmlu": median["mmlu+calibration"] / median["mmlu"],
        "rerun / first": median["rerun"] / median["first"],
    }
    failed = False
    for name, ratio in ratios.items():
        meets = ratio <= TARGETS[name]
        failed |= not meets
        print(f"{name:<20} {ratio:6.3f}   target <= {TARGETS[name]:.2f}   {'meets' if meets else 'MISSES'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
