"""Engine-neutral task descriptions: what a suite asks, never how an engine asks it.

A suite describes each task (its documents, its prompt, how an answer is scored); an
engine turns the description into its own configuration (lm-eval writes task YAML,
inspect-ai builds a Task). Suites and engines both import this module and never each
other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from harness.files.hashing import sha256_text

OutputKind = Literal["multiple_choice", "generate_until"]


@dataclass(frozen=True)
class Prompt:
    """How a document becomes a prompt.

    ``standard`` names the published prompt of a known benchmark (``mmlu:<subject>``,
    ``mmlu``, ``gsm8k``): the engine reproduces that benchmark's own template exactly.
    Otherwise ``text``, ``choices`` and ``target`` are Jinja templates over a document's
    fields, joined by ``target_delimiter``, after an optional ``description``.
    """

    standard: str | None = None
    text: str | None = None
    choices: str | None = None
    target: str | None = None
    target_delimiter: str = " "
    description: str | None = None


@dataclass(frozen=True)
class TaskData:
    """Where a task's documents are: local JSON-lines files per split, or a hub dataset.

    ``digest`` names the content of the local files (their SHA-256, combined): it, not
    the paths, enters the task's identity.
    """

    splits: Mapping[str, str] = field(default_factory=dict)
    digest: str | None = None
    hub: str | None = None


@dataclass(frozen=True)
class TaskSpec:
    """One task of a suite, in terms any engine can implement.

    Item ids are ``<item_prefix>/<document index>`` unless the documents carry their own
    (a ``harness.item_id`` field). ``item_ids`` lists them in document order when the
    suite knows them before the run, which lets the runner reuse stored records.
    """

    name: str
    suite: str
    output: OutputKind
    prompt: Prompt
    data: TaskData
    item_prefix: str
    item_ids: tuple[str, ...] | None = None
    subject: str | None = None
    num_fewshot: int = 0
    scoring: Literal["acc", "acc_norm", "exact_match"] = "acc"
    answer_filter: str = "none"
    generation: Mapping[str, Any] = field(default_factory=dict)
    # Random few-shot sampling draws in document order, so a document's prompt depends on
    # the documents asked before it: such a task can only be reused or rerun whole.
    fewshot_order_dependent: bool = False
    # Generated-answer tasks scored by a registered scorer (harness.scoring): each document is
    # {"id", "input", "target", ...}; the whole document is what the scorer reads.
    scorer: str | None = None
    system: str | None = None
    # A yes/no question a model-graded judge answers about each response, when a run names a judge.
    judge_question: str | None = None
    # The document field holding a fixed response: the model is not asked, the response is scored
    # (used to measure a judge against reference-labelled responses).
    respond_with: str | None = None

    def identity(self, engine_version: str) -> str:
        """SHA-256 of everything that shapes this task's prompts and scores (not local paths)."""
        described = asdict(self)
        described["data"] = {"digest": self.data.digest, "hub": self.data.hub, "splits": sorted(self.data.splits)}
        described.pop("item_ids")
        described["engine"] = engine_version
        return sha256_text(json.dumps(described, sort_keys=True, default=str))

    def item_id_of(self, document: Mapping[str, Any]) -> str:
        """The item id of a generated-answer task's document (``<item_prefix>/<its id>``)."""
        return f"{self.item_prefix}/{document['id']}"

    def item_id(self, doc_index: int) -> str:
        if self.item_ids is not None:
            return self.item_ids[doc_index]
        return f"{self.item_prefix}/{doc_index}"
