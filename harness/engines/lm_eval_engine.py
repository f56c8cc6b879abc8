"""The lm-eval engine: one HFLM per run, project task YAMLs, item records out.

lm-eval does the model work (prompt building, batching, log-likelihoods, generation,
filters, per-sample scoring); this adapter only feeds it the suites' task YAMLs and
turns its per-sample output into :class:`~harness.results.ItemRecord` objects.
"""

from __future__ import annotations

import json
import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.atomic import atomic_write_text
from harness.errors import DataError, HarnessError
from harness.modelref import ModelRef
from harness.results import ItemRecord
from harness.suites.base import TaskSpec

LM_EVAL_SEEDS = {"random_seed": 0, "numpy_random_seed": 1234, "torch_random_seed": 1234, "fewshot_random_seed": 1234}


@dataclass
class EngineOutput:
    records: list[ItemRecord]
    requests: int = 0
    model_calls: int = 0
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def cache_hits(self) -> int:
        return self.requests - self.model_calls


class LmEvalEngine:
    """Evaluates lm-eval tasks on one model, loaded once and reused for every call."""

    name = "lm-eval"

    def __init__(self, model: ModelRef, *, cache_root: Path | None, batch_size: int = 8) -> None:
        self.model = model
        self.cache_root = cache_root
        self.batch_size = batch_size
        self._lm: Any = None

    @property
    def lm(self) -> Any:
        if self._lm is None:
            _quiet_libraries()
            hf_model, tokenizer = self.model.load()
            self._lm = _counting_hflm_class()(
                pretrained=hf_model, tokenizer=tokenizer, batch_size=self.batch_size, device=self.model.device
            )
        return self._lm

    def cache_path(self) -> Path | None:
        """lm-eval's response cache keys ignore the model, so each fingerprint gets its own file."""
        if self.cache_root is None:
            return None
        return self.cache_root / "lm-eval" / self.model.fingerprint().removeprefix("sha256:") / "responses"

    def evaluate(self, tasks: list[TaskSpec], work_dir: Path, *, limit: int | None) -> EngineOutput:
        """Run ``tasks`` through lm-eval; lm-eval's raw output is kept under ``work_dir``."""
        from lm_eval import simple_evaluate
        from lm_eval.tasks import TaskManager

        task_dir = work_dir / "tasks"
        for spec in tasks:
            atomic_write_text(task_dir / f"{spec.task_name}.yaml", spec.yaml_text)
        lm = self.lm
        lm.calls = 0
        manager = TaskManager(include_path=str(task_dir), include_defaults=False)
        cache = self.cache_path()
        try:
            output = simple_evaluate(
                model=lm,
                tasks=[spec.task_name for spec in tasks],
                task_manager=manager,
                limit=limit,
                bootstrap_iters=0,
                log_samples=True,
                use_cache=str(cache) if cache else None,
                **LM_EVAL_SEEDS,
            )
        except (FileNotFoundError, ConnectionError) as exc:
            raise DataError(f"lm-eval could not load a dataset: {exc}") from None
        if output is None:
            raise HarnessError("lm-eval returned no results (distributed rank other than 0?)")
        samples = output.pop("samples")
        _write_raw(work_dir, output, samples)
        records: list[ItemRecord] = []
        requests = 0
        for spec in tasks:
            task_samples = samples.get(spec.task_name, [])
            converted = _to_records(spec, task_samples)
            records.extend(converted)
            requests += _request_count(task_samples)
        return EngineOutput(records=records, requests=requests, model_calls=lm.calls, raw=output)


def _counting_hflm_class() -> type:
    """HFLM that counts the requests that really reach the model (cache misses)."""
    from lm_eval.models.huggingface import HFLM

    class CountingHFLM(HFLM):
        calls = 0

        def loglikelihood(self, requests: list[Any], *args: Any, **kwargs: Any) -> list[Any]:
            self.calls += len(requests)
            return super().loglikelihood(requests, *args, **kwargs)

        def generate_until(self, requests: list[Any], *args: Any, **kwargs: Any) -> list[Any]:
            self.calls += len(requests)
            return super().generate_until(requests, *args, **kwargs)

    return CountingHFLM


def _to_records(spec: TaskSpec, samples: list[dict[str, Any]]) -> list[ItemRecord]:
    if not samples:
        return []
    if "acc" in samples[0]:
        return [_choice_record(spec, s) for s in samples]
    return _generation_records(spec, samples)


def _choice_record(spec: TaskSpec, sample: dict[str, Any]) -> ItemRecord:
    lls = [float(resp[0]) for resp in sample["filtered_resps"]]
    scores = lls
    if spec.primary_metric == "acc_norm":  # lm-eval divides by the choice's length in characters
        scores = [ll / max(1, len(str(arg[1]).removeprefix(" "))) for ll, arg in zip(lls, sample["arguments"], strict=True)]
    prediction = max(range(len(scores)), key=scores.__getitem__)
    # Docs the project writes itself (perturbed, counterfactual) carry their own item id,
    # variant and bookkeeping under "harness"; stock docs are named by their row.
    meta = (sample.get("doc") or {}).get("harness") or {}
    return ItemRecord(
        suite=spec.suite,
        item_id=meta.get("item_id") or f"{spec.item_prefix}/{sample['doc_id']}",
        variant=meta.get("variant") or "clean",
        subject=meta.get("subject") or spec.subject,
        prompt_hash=sample["prompt_hash"],
        choices=[str(arg[1]) for arg in sample["arguments"]],
        loglikelihoods=lls,
        prediction=prediction,
        target=int(sample["target"]),
        correct=bool(sample.get(spec.primary_metric, sample["acc"])),
        confidence=softmax(lls)[prediction],
        extra={"doc_hash": sample.get("doc_hash")} | (json.loads(meta["extra"]) if meta.get("extra") else {}),
    )


def _generation_records(spec: TaskSpec, samples: list[dict[str, Any]]) -> list[ItemRecord]:
    by_doc: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for sample in samples:
        by_doc[int(sample["doc_id"])].append(sample)
    records = []
    for doc_id in sorted(by_doc):
        group = by_doc[doc_id]
        filters = {
            s["filter"]: {"prediction": _first(s["filtered_resps"]), "correct": bool(s[spec.primary_metric])}
            for s in group
        }
        primary = filters.get(spec.primary_filter) or next(iter(filters.values()))
        records.append(
            ItemRecord(
                suite=spec.suite,
                item_id=f"{spec.item_prefix}/{doc_id}",
                subject=spec.subject,
                prompt_hash=group[0]["prompt_hash"],
                generated=str(_first(group[0]["resps"][0])),
                prediction=None if primary["prediction"] is None else str(primary["prediction"]),
                target=str(group[0]["target"]),
                correct=primary["correct"],
                extra={"filters": filters, "primary_filter": spec.primary_filter, "doc_hash": group[0].get("doc_hash")},
            )
        )
    return records


def _request_count(samples: list[dict[str, Any]]) -> int:
    seen: dict[int, int] = {}
    for sample in samples:
        seen[int(sample["doc_id"])] = len(sample["arguments"])
    return sum(seen.values())


def _first(value: Any) -> Any:
    while isinstance(value, (list, tuple)) and value:
        value = value[0]
    return value


def softmax(logits: list[float]) -> list[float]:
    """Numerically stable softmax: the choice probabilities implied by log-likelihoods."""
    top = max(logits)
    exps = [math.exp(x - top) for x in logits]
    total = sum(exps)
    return [e / total for e in exps]


def _write_raw(work_dir: Path, output: dict[str, Any], samples: dict[str, list[dict[str, Any]]]) -> None:
    from lm_eval.utils import handle_non_serializable

    raw_dir = work_dir
    atomic_write_text(
        raw_dir / "results.json", json.dumps(output, indent=2, default=handle_non_serializable, ensure_ascii=False)
    )
    for task, rows in samples.items():
        text = "".join(json.dumps(r, default=handle_non_serializable, ensure_ascii=False) + "\n" for r in rows)
        atomic_write_text(raw_dir / f"samples_{task}.jsonl", text)


def _quiet_libraries() -> None:
    """Keep lm-eval's request progress bars; silence its per-task context bars and git probe.

    lm-eval draws one unlabeled bar per task while building prompts (57 for MMLU) and
    shells out to ``git describe`` in the working directory, which prints "fatal: not a
    git repository" outside one; the harness records its own commit instead.
    """
    from functools import partial

    import lm_eval.api.task
    import lm_eval.evaluator
    from tqdm import tqdm

    from harness.environment import harness_git_commit

    lm_eval.api.task.tqdm = partial(tqdm, disable=True)
    lm_eval.evaluator.get_git_commit_hash = harness_git_commit
    for name in ("lm_eval", "lm-eval", "transformers", "datasets", "accelerate"):
        logging.getLogger(name).setLevel(logging.ERROR)
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
