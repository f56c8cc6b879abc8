"""The inspect-ai engine: generated answers from the run's loaded model, scored, logged for ``inspect view``.

inspect-ai runs each task (its samples, a ``generate()`` solver, and a scorer that applies
the task's harness scorer to the answer) and writes a log that ``inspect view`` and
``inspect log dump`` open. The model is the one the runner already loaded: it is registered
as an inspect model API (``harness-local/<key>``) instead of going through inspect's ``hf``
provider, which would load the weights a second time and cannot take a PEFT adapter.
Decoding is greedy, the prompt is the model's chat template, and concurrent generate calls
are gathered into batches for ``model.generate``.

A model behind an OpenAI-compatible endpoint goes through inspect-ai's own ``openai-api``
provider instead (the server applies the chat template), with greedy decoding and neutral
penalties sent explicitly and the endpoint's concurrency, retries and timeout.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.engines.base import EngineOutput, EngineSettings
from harness.errors import HarnessError
from harness.schema.results import ItemRecord
from harness.schema.tasks import TaskSpec

if TYPE_CHECKING:
    from harness.models.endpoint import ServedModel
    from harness.models.modelref import LoadedModel

DEFAULT_MAX_TOKENS = 256
JUDGE_SCORER = "judge"
JUDGE_MAX_TOKENS = 16


class InspectEngine:
    """Evaluates generated-answer tasks with inspect-ai on the run's loaded model."""

    name = "inspect"
    needs_weights = True

    def __init__(self, settings: EngineSettings | None = None) -> None:
        self.settings = settings or EngineSettings()
        self.last_logs: list[Path] = []
        self._grader: Any = None  # the judge's inspect Model, made once per engine (so once per run)

    def version(self) -> str:
        return f"inspect-ai {package_version('inspect_ai')}"

    def evaluate(
        self,
        model: LoadedModel | ServedModel | None,
        tasks: Sequence[TaskSpec],
        work_dir: Path,
        *,
        limit: int | None = None,
        documents: Mapping[str, Sequence[int]] | None = None,
    ) -> EngineOutput:
        if model is None:
            raise HarnessError("the inspect engine needs a loaded model")
        for task in tasks:
            if task.scorer is None:
                raise HarnessError(
                    f"task {task.name}: the inspect engine runs tasks with a scorer, not standard prompts"
                )
        os.environ.setdefault("INSPECT_DISPLAY", "none")
        os.environ.setdefault("INSPECT_LOG_LEVEL", "warning")
        from inspect_ai import eval as inspect_eval

        from harness.engines.inspect_model import endpoint_model, local_model
        from harness.models.endpoint import ServedModel

        rows_by_task = {t.name: _selected_rows(t, limit, documents) for t in tasks}
        grader = self.grader() if any(t.judge_question for t in tasks) else None
        inspect_tasks = [_inspect_task(t, rows_by_task[t.name], grader, self.settings.judge) for t in tasks]
        log_dir = work_dir / "logs"
        if isinstance(model, ServedModel):
            inspect_model, connections = endpoint_model(model), model.ref.concurrency
        else:
            inspect_model, connections = (
                local_model(model, batch_size=self.settings.batch_size),
                self.settings.batch_size,
            )
        logs = inspect_eval(
            inspect_tasks,
            model=inspect_model,
            log_dir=str(log_dir),
            log_format="eval",
            display="none",
            max_connections=connections,
            max_samples=max(1, connections),
            max_subprocesses=2,
            log_realtime=False,
            fail_on_error=False,
            score_display=False,
        )
        self.last_logs = [Path(str(log.location)) for log in logs]
        records: list[ItemRecord] = []
        requests = 0
        for task, log in zip(tasks, logs, strict=True):
            if log.status != "success":
                message = log.error.message if log.error else log.status
                raise HarnessError(f"inspect-ai could not run task {task.name}: {message}")
            rows = {str(r["id"]): r for r in rows_by_task[task.name]}
            for sample in log.samples or []:
                if sample.error is not None:  # fail_on_error=False keeps the log; a failed item never passes silently
                    first = sample.error.message.strip().splitlines()[0] if sample.error.message else "failed"
                    raise HarnessError(f"inspect-ai: task {task.name}, item {sample.id}: {first}")
                records.append(_record(task, rows[str(sample.id)], sample))
                requests += 0 if task.respond_with else 1
        return EngineOutput(
            records=records, requests=requests, model_calls=requests, raw={"logs": [str(p) for p in self.last_logs]}
        )

    def grader(self) -> Any:
        """The judge as an inspect ``Model``, or None when the run names none.

        A local model directory (``PATH`` or ``hf/PATH``) is loaded once by harness and decoded
        greedily through the harness-local model API (inspect's ``hf`` provider refuses
        temperature 0 under transformers 5 and would sample); any other name goes to inspect-ai's
        own providers with temperature 0.
        """
        judge = self.settings.judge
        if not judge:
            return None
        if self._grader is None:
            from inspect_ai.model import GenerateConfig, get_model

            local = Path(judge.removeprefix("hf/")).expanduser()
            if local.is_dir():
                from harness.engines.inspect_model import local_model
                from harness.models.modelref import ModelRef

                self._grader = local_model(ModelRef(str(local)).load(), batch_size=self.settings.batch_size)
            else:
                self._grader = get_model(judge, config=GenerateConfig(max_tokens=JUDGE_MAX_TOKENS, temperature=0.0))
        return self._grader


def _selected_rows(
    task: TaskSpec, limit: int | None, documents: Mapping[str, Sequence[int]] | None
) -> list[dict[str, Any]]:
    path = Path(task.data.splits["test"])
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if documents is not None and task.name in documents:
        return [rows[i] for i in documents[task.name]]
    return rows[:limit] if limit is not None else rows


def _inspect_task(task: TaskSpec, rows: list[dict[str, Any]], grader: Any, judge: str | None) -> Any:
    from inspect_ai import Task
    from inspect_ai.dataset import MemoryDataset, Sample
    from inspect_ai.model import GenerateConfig
    from inspect_ai.solver import generate, system_message

    samples = [
        Sample(id=str(row["id"]), input=str(row["input"]), target=str(row.get("target", "")), metadata={"row": row})
        for row in rows
    ]
    if task.respond_with:
        solvers = [_fixed_response(task.respond_with)]
    else:
        solvers = ([system_message(task.system)] if task.system else []) + [generate()]
    scorers = [_harness_scorer(str(task.scorer))]
    if grader is not None and task.judge_question:
        scorers.append(_judge_scorer(grader, str(judge), task.judge_question))
    config = GenerateConfig(
        max_tokens=int(task.generation.get("max_tokens", DEFAULT_MAX_TOKENS)),
        temperature=0.0,
        stop_seqs=list(task.generation.get("stop", [])) or None,
    )
    return Task(
        dataset=MemoryDataset(samples, name=task.name), solver=solvers, scorer=scorers, config=config, name=task.name
    )


def _fixed_response(field: str) -> Any:
    """A solver that answers with the document's own ``field`` instead of asking the model."""
    from inspect_ai.model import ModelOutput
    from inspect_ai.solver import Generate, TaskState, solver

    @solver(name="fixed_response")
    def fixed() -> Any:
        async def solve(state: TaskState, generate: Generate) -> TaskState:
            state.output = ModelOutput.from_content(model="reference", content=str(state.metadata["row"][field]))
            return state

        return solve

    return fixed()


def _harness_scorer(name: str) -> Any:
    """The harness scorer ``name`` as an inspect scorer: CORRECT/INCORRECT with its explanation and values."""
    from inspect_ai.scorer import CORRECT, INCORRECT, Score, Target, accuracy, scorer, stderr
    from inspect_ai.solver import TaskState

    from harness.scoring import get_scorer

    apply = get_scorer(name)

    @scorer(metrics=[accuracy(), stderr()], name=f"harness_{name}")
    def harness_scorer() -> Any:
        async def score(state: TaskState, target: Target) -> Score:
            result = apply(state.output.completion, state.metadata["row"])
            return Score(
                value=CORRECT if result.correct else INCORRECT,
                answer=result.answer,
                explanation=result.explanation,
                metadata={"values": dict(result.values)},
            )

        return score

    return harness_scorer()


def _judge_scorer(grader: Any, judge: str, question: str) -> Any:
    """A model-graded yes/no judgement of each response by ``grader`` (the inspect ``Model`` of ``judge``)."""
    from inspect_ai.model import GenerateConfig
    from inspect_ai.scorer import CORRECT, INCORRECT, Score, Target, accuracy, scorer
    from inspect_ai.solver import TaskState

    config = GenerateConfig(max_tokens=JUDGE_MAX_TOKENS, temperature=0.0)

    @scorer(metrics=[accuracy()], name=JUDGE_SCORER)
    def judge_scorer() -> Any:
        async def score(state: TaskState, target: Target) -> Score:
            asked = question.format_map(defaultdict(str, state.metadata["row"]))
            prompt = (
                f"{asked}\n\nRequest:\n{state.input_text}\n\nResponse:\n{state.output.completion}\n\n"
                "Answer with one word: YES or NO."
            )
            verdict = (await grader.generate(prompt, config=config)).completion.strip().upper()
            said_yes = verdict.startswith("YES")
            return Score(
                value=CORRECT if said_yes else INCORRECT,
                answer=verdict[:20],
                explanation=f"judge {judge} answered {verdict[:20]!r}",
            )

        return score

    return judge_scorer()


def _record(task: TaskSpec, row: Mapping[str, Any], sample: Any) -> ItemRecord:
    from harness.scoring import ItemScore
    from harness.scoring.records import scored_record

    scores = sample.scores or {}
    own = scores.get(f"harness_{task.scorer}")
    judged = scores.get(JUDGE_SCORER)
    output = sample.output
    score = ItemScore(
        correct=own is not None and own.value == "C",
        explanation=(own.explanation or "") if own is not None else "not scored",
        answer=own.answer if own is not None else None,
        values=dict((own.metadata or {}).get("values", {})) if own is not None else {},
    )
    return scored_record(
        task,
        row,
        output.completion if output is not None else "",
        score,
        judge_yes=None if judged is None else judged.value == "C",
        judge_answer=None if judged is None else judged.answer,
        seconds=float(output.time or 0.0) if output is not None else 0.0,
        batch_size=int((output.metadata or {}).get("batch_size", 1)) if output is not None else 1,
    )
