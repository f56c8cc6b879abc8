"""Build the synthetic emergency-response sample data in suites/data/emergency/.

    python scripts/build_sample_data.py PART.jsonl [PART.jsonl ...]

The parts hold items written for the project (instruction, input, output, decision, an
``ambiguous`` flag and a multiple-choice form). This script splits them into the
instruction file and the multiple-choice file, and simulates three expert raters with a
fixed seed: raters agree on clear items most of the time and split on the items marked
ambiguous, confusing the decisions experts really confuse (evacuate vs shelter in
place, isolate vs call a specialist team, ...). It is sample data for demos and tests,
not expert judgement.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "suites" / "data" / "emergency"
RATERS = {"fire-officer-a": 0.0, "hazmat-specialist-b": -0.3, "civil-protection-c": 0.3}  # rater: score bias
CONFUSED_WITH = {
    "evacuate_now": "shelter_in_place",
    "shelter_in_place": "evacuate_now",
    "isolate_and_deny_entry": "request_specialist_team",
    "request_specialist_team": "isolate_and_deny_entry",
    "dispatch_resources": "medical_triage",
    "medical_triage": "dispatch_resources",
    "monitor_and_prepare": "public_warning",
    "public_warning": "monitor_and_prepare",
}
SEED = 20261122


def main(parts: list[str]) -> int:
    items = [
        json.loads(line)
        for part in parts
        for line in Path(part).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    items.sort(key=lambda r: r["id"])
    instruction_keys = ("id", "hazard", "instruction", "input", "output", "decision", "ambiguous")
    with open(OUT / "instructions.jsonl", "w", encoding="utf-8") as handle:
        for item in items:
            handle.write(json.dumps({k: item[k] for k in instruction_keys}, ensure_ascii=False) + "\n")
    with open(OUT / "multiple_choice.jsonl", "w", encoding="utf-8") as handle:
        for item in items:
            mc = item["mc"]
            row = {
                "id": item["id"],
                "hazard": item["hazard"],
                "question": mc["question"],
                "choices": mc["choices"],
                "answer": mc["answer"],
            }
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    rng = np.random.default_rng(SEED)
    labels = sorted(CONFUSED_WITH)
    with open(OUT / "ratings.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item_id", "rater_id", "label", "confidence", "score"])
        for item in items:
            ambiguous = bool(item["ambiguous"])
            for rater, bias in RATERS.items():
                if rater == "civil-protection-c" and rng.uniform() < 0.03:
                    continue  # this rater skipped a few items
                right = rng.uniform() < (0.6 if ambiguous else 0.93)
                if right:
                    label = item["decision"]
                elif rng.uniform() < 0.8:
                    label = CONFUSED_WITH[item["decision"]]
                else:
                    label = str(rng.choice([x for x in labels if x != item["decision"]]))
                low, high = (0.7, 0.95) if right and not ambiguous else (0.35, 0.8)
                confidence = round(float(rng.uniform(low, high)), 2)
                score = int(np.clip(round((3.0 if ambiguous else 4.2) + bias + rng.normal(0, 0.6)), 1, 5))
                writer.writerow([item["id"], rater, label, confidence, score])
    print(f"{len(items)} items -> {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
