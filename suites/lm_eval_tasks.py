"""Task YAMLs that build on lm-eval's stock task files.

A project task ``include``s the stock YAML by absolute path and overrides only what
must change (task name, tag, dataset location), so prompts, choices, filters and
metrics stay exactly those of the stock task.
"""

from __future__ import annotations

import json
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import yaml


def lm_eval_tasks_dir() -> Path:
    spec = find_spec("lm_eval")
    if spec is None or not spec.submodule_search_locations:
        from harness.errors import HarnessError

        raise HarnessError("lm-eval is not installed (pip install lm-eval)")
    return Path(next(iter(spec.submodule_search_locations))) / "tasks"


def stock_task_yaml(relative: str) -> Path:
    path = lm_eval_tasks_dir() / relative
    if not path.is_file():
        from harness.errors import HarnessError

        raise HarnessError(f"lm-eval's stock task file {relative} is missing; is the installed lm-eval 0.4.x?")
    return path


def task_yaml(include: Path, **overrides: Any) -> str:
    """YAML text of a task that includes ``include`` and overrides the given keys."""
    return yaml.safe_dump({"include": str(include), **overrides}, sort_keys=False, allow_unicode=True)


MMLU_TEMPLATE = "mmlu/default/_default_template_yaml"


def choice_doc(
    question: str, choices: list[str] | tuple[str, ...], answer: int, *, subject: str, item_id: str, variant: str,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """A project-written multiple-choice doc in the ``cais/mmlu`` row format.

    The ``harness`` field travels through lm-eval untouched (it is in the sample's
    ``doc``), so the engine names the record by ``item_id`` and ``variant``. ``extra`` is
    stored as a JSON string so every doc has the same Arrow schema.
    """
    return {
        "question": question,
        "subject": subject,
        "choices": list(choices),
        "answer": answer,
        "harness": {"item_id": item_id, "variant": variant, "subject": subject, "extra": json.dumps(extra, sort_keys=True)},
    }


def mmlu_format_task_yaml(
    task: str, tag: str, data_files: dict[str, str], description: str, num_fewshot: int = 0
) -> str:
    """A task over local docs with MMLU's stock prompt (question, lettered choices, "Answer:")."""
    return task_yaml(
        stock_task_yaml(MMLU_TEMPLATE),
        task=task,
        tag=tag,
        description=description,
        dataset_path="json",
        dataset_name=None,
        dataset_kwargs={"data_files": data_files},
        num_fewshot=num_fewshot,
    )
