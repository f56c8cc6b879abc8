"""Training examples: rows from registered datasets, mixed by weight, formatted with the chat template.

Rows come in the methodology's instruction format (``instruction``, ``input``, ``output``), as
a ready ``prompt`` with its ``output`` (which wins when a row has both: the structured data
words its prompts as the structured suite asks, situation first), or in the multiple-choice
form (``question``, ``choices``, ``answer``), which becomes an instruction to pick the best
action with the correct choice as the response. Items of
the domain suite's held-out split are never trained on. The loss is on the response
tokens only: prompt tokens carry the label -100.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.errors import DataError
from harness.suites.domain import is_held_out

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


MC_INSTRUCTION = "Choose the best immediate action for the emergency below."
EVAL_EVERY = 10  # one training item in ten is kept for eval loss


@dataclass(frozen=True)
class Example:
    id: str
    prompt: str  # the user turn
    response: str  # the assistant turn
    source: str


def to_example(row: dict[str, Any], source: str) -> Example:
    """One row as a prompt-response pair; a row in neither format is a DataError naming it."""
    item_id = str(row.get("id", ""))
    if {"prompt", "output"} <= set(row):  # a ready prompt, worded as the suite that tests it asks
        return Example(item_id, str(row["prompt"]).strip(), str(row["output"]).strip(), source)
    if {"instruction", "output"} <= set(row):
        prompt = str(row["instruction"]).strip()
        if row.get("input"):
            prompt += "\n\n" + str(row["input"]).strip()
        return Example(item_id, prompt, str(row["output"]).strip(), source)
    if {"question", "choices", "answer"} <= set(row):
        choices = list(row["choices"])
        return Example(
            item_id, f"{MC_INSTRUCTION}\n\n{str(row['question']).strip()}", str(choices[int(row["answer"])]), source
        )
    raise DataError(
        f"{source}: row {item_id or '?'} has neither prompt/output, instruction/output nor question/choices/answer"
    )


def is_eval_item(item_id: str) -> bool:
    """A fixed tenth of the training items, by hash, kept out of training for the eval loss."""
    return int(hashlib.sha256(f"eval:{item_id}".encode()).hexdigest(), 16) % EVAL_EVERY == 0


def split_examples(examples: list[Example]) -> tuple[list[Example], list[Example], int]:
    """(train, eval, held_out_dropped): the domain suite's held-out items are removed first."""
    usable = [e for e in examples if not is_held_out(e.id)]
    dropped = len(examples) - len(usable)
    return [e for e in usable if not is_eval_item(e.id)], [e for e in usable if is_eval_item(e.id)], dropped


def mix(sources: list[tuple[list[Example], float]], seed: int) -> list[Example]:
    """Each source contributes ``weight`` of the mix (its share of the total size), sampled with a fixed seed.

    A source smaller than its share is repeated (replay); a larger one is subsampled.
    """
    total = sum(len(rows) for rows, _ in sources)
    rng = random.Random(seed)
    out: list[Example] = []
    for rows, weight in sources:
        if not rows:
            continue
        want = max(1, round(weight * total))
        picked = rows * (want // len(rows)) + rng.sample(rows, want % len(rows))
        out.extend(picked)
    rng.shuffle(out)
    return out


def tokenize(example: Example, tokenizer: PreTrainedTokenizerBase, max_length: int) -> dict[str, list[int]]:
    """Chat-template token ids with labels on the response only (prompt labels are -100)."""
    messages = [{"role": "user", "content": example.prompt}, {"role": "assistant", "content": example.response}]
    prompt_text = tokenizer.apply_chat_template(messages[:1], tokenize=False, add_generation_prompt=True)
    full_text = tokenizer.apply_chat_template(messages, tokenize=False)
    if not full_text.startswith(prompt_text):
        raise DataError("the tokenizer's chat template does not extend the prompt with the response")
    prompt_ids = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    response_ids = tokenizer(full_text[len(prompt_text) :], add_special_tokens=False)["input_ids"]
    keep_prompt = max(0, min(len(prompt_ids), max_length - min(len(response_ids), max_length // 2)))
    prompt_ids = prompt_ids[len(prompt_ids) - keep_prompt :]  # keep the end of a long prompt, next to the answer
    response_ids = response_ids[: max_length - len(prompt_ids)]
    return {
        "input_ids": prompt_ids + response_ids,
        "attention_mask": [1] * (len(prompt_ids) + len(response_ids)),
        "labels": [-100] * len(prompt_ids) + response_ids,
    }
