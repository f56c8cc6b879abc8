"""Domain: emergency-response multiple choice on the held-out split of the project's sample data.

The items of ``suites/data/emergency/multiple_choice.jsonl`` are split by a hash of
their id: one in five is held out for evaluation and never trained on (the training
module reads :func:`split_ids`). The model is asked each question and each choice's
text is scored as a continuation, ARC-style (Clark et al. 2018), so a model that learned
how experts answer can prefer the expert's action; accuracy uses lm-eval's
length-normalised ``acc_norm`` (Gao et al., lm-evaluation-harness), which does not
reward short choices.
"""

from __future__ import annotations

import hashlib
from importlib.resources import files
from pathlib import Path
from typing import Any

from harness.suites.base import PreparedSuite, SuiteOptions, register_suite
from harness.suites.choice import MultipleChoiceSuite

HELD_OUT_EVERY = 5  # one item in five is held out


def sample_dir() -> Path:
    return Path(str(files("harness.suites"))) / "data" / "emergency"


def is_held_out(item_id: str) -> bool:
    """Deterministic split: an item is held out when its id's SHA-256 falls in one fifth of the range."""
    return int(hashlib.sha256(item_id.encode("utf-8")).hexdigest(), 16) % HELD_OUT_EVERY == 0


def split_ids(ids: list[str]) -> tuple[list[str], list[str]]:
    """(train, held_out) ids, in the order given."""
    return [i for i in ids if not is_held_out(i)], [i for i in ids if is_held_out(i)]


@register_suite
class Domain(MultipleChoiceSuite):
    name = "domain"
    headline = "domain.accuracy"
    prompt = "continuation"
    subject_field = "hazard"
    honours_limit = False  # the held-out set is small already: --limit does not cut it

    def __init__(self, path: Path | None = None) -> None:
        self.path = path

    def data_file(self) -> Path:
        return self.path or sample_dir() / "multiple_choice.jsonl"

    def select(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in rows if is_held_out(str(r["id"]))]

    def prepare(self, options: SuiteOptions) -> PreparedSuite:
        prepared = super().prepare(options)
        prepared.settings |= {
            "split": f"held out: sha256(id) mod {HELD_OUT_EVERY} == 0",
            "scoring": "choice text continuation, acc_norm",
        }
        return prepared
