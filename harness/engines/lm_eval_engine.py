"""The lm-eval engine: task descriptions become lm-eval task YAML, samples become item records.

lm-eval does the model work (prompt building, batching, log-likelihoods, generation,
filters, per-sample scoring); this adapter writes each engine-neutral task as a task
YAML (including lm-eval's own stock YAML when a suite asks for a benchmark's standard
prompt, so prompts, choices, filters and metrics are the stock task's by construction),
wraps the run's loaded model in one ``HFLM``, and turns lm-eval's per-sample output into
:class:`~harness.schema.results.ItemRecord` objects.

A model behind an OpenAI-compatible endpoint goes through lm-eval's own API models
instead: log-likelihoods through ``local-completions`` (prompts echoed with their
log-probabilities), generations through ``local-completions`` or, when the endpoint asks
for it, ``local-chat-completions``. Both are subclassed here
(``harness-local-completions``, ``harness-local-chat-completions``) for what a server
needs said explicitly: BOS and the end token banned for the one token a log-likelihood request
generates, neutral decoding, the API key from the environment, and a check of every
echoed answer against the tokens lm-eval counted (see :mod:`harness.models.endpoint`).

It calls ``lm_eval.evaluator.evaluate`` with the same seeding and task preparation as
``simple_evaluate``, without the environment probes (pip, nvcc, nvidia-smi, lscpu)
that ``simple_evaluate`` adds: harness records its own environment.
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from functools import cache
from importlib.metadata import version as package_version
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from harness.engines.base import EngineOutput, EngineSettings
from harness.errors import DataError, HarnessError, ModelError
from harness.files.hashing import sha256_text
from harness.schema.results import ItemRecord
from harness.schema.tasks import TaskSpec

if TYPE_CHECKING:
    from lm_eval.api.model import LM
    from lm_eval.models.huggingface import HFLM
    from transformers import PreTrainedTokenizerBase

    from harness.models.endpoint import ServedModel
    from harness.models.modelref import LoadedModel

LM_EVAL_SEEDS = {"random_seed": 0, "numpy_random_seed": 1234, "torch_random_seed": 1234, "fewshot_random_seed": 1234}

# The standard prompts of known benchmarks, as lm-eval's stock task files define them: a
# whole benchmark by name, and one stock file per part (``mmlu:anatomy``, ``bbh:navigate``,
# ``truthfulqa:mc2``).
_STANDARD_PROMPTS = {"mmlu": "mmlu/default/_default_template_yaml", "gsm8k": "gsm8k/gsm8k.yaml"}
_STANDARD_PARTS = {
    "mmlu": "mmlu/default/mmlu_{part}.yaml",
    "bbh": "bbh/cot_fewshot/{part}.yaml",
    "truthfulqa": "truthfulqa/truthfulqa_{part}.yaml",
}


def standard_prompt_file(standard: str) -> Path:
    """lm-eval's stock task file for a standard prompt name (``mmlu:anatomy``, ``mmlu``, ``gsm8k``, ``bbh:navigate``)."""
    benchmark, _, part = standard.partition(":")
    if part and benchmark in _STANDARD_PARTS and re.fullmatch(r"[a-z0-9_]+", part):
        relative = _STANDARD_PARTS[benchmark].format(part=part)
    elif standard in _STANDARD_PROMPTS:
        relative = _STANDARD_PROMPTS[standard]
    else:
        raise HarnessError(f"the lm-eval engine knows no standard prompt {standard!r}")
    path = lm_eval_tasks_dir() / relative
    if not path.is_file():
        raise HarnessError(f"lm-eval's stock task file {relative} is missing; is the installed lm-eval 0.4.x?")
    return path


def lm_eval_tasks_dir() -> Path:
    spec = find_spec("lm_eval")
    if spec is None or not spec.submodule_search_locations:
        raise HarnessError("lm-eval is not installed (pip install lm-eval)")
    return Path(next(iter(spec.submodule_search_locations))) / "tasks"


def _stock_config(path: Path) -> dict[str, Any]:
    """A stock task file with its ``include`` chain merged as lm-eval merges it (a file's own keys win).

    ``!function`` tags read as None: only the plain settings are wanted here.
    """

    class IgnoreTags(yaml.SafeLoader):
        pass

    IgnoreTags.add_multi_constructor("!", lambda loader, suffix, node: None)
    raw = yaml.load(path.read_text(encoding="utf-8"), Loader=IgnoreTags) or {}  # IgnoreTags is a SafeLoader
    include = raw.pop("include", None)
    merged: dict[str, Any] = {}
    for name in include if isinstance(include, list) else [include] if include else []:
        merged |= _stock_config(path.parent / name)
    return merged | raw


@cache
def _stock_generation_kwargs(path: Path) -> dict[str, Any]:
    """The stock task's generation settings, its ``include`` chain followed (BBH keeps them in the included template)."""
    return dict(_stock_config(path).get("generation_kwargs") or {})


def task_yaml(task: TaskSpec) -> str:
    """The lm-eval task YAML of an engine-neutral task."""
    prompt = task.prompt
    body: dict[str, Any] = {}
    if prompt.standard is not None:
        stock = standard_prompt_file(prompt.standard)
        body["include"] = str(stock)
        body |= {"task": task.name, "tag": f"harness_{task.suite}"}
    else:
        stock = None
        metrics = ["acc", "acc_norm"] if task.output == "multiple_choice" else ["exact_match"]
        body |= {
            "task": task.name,
            "tag": f"harness_{task.suite}",
            "output_type": task.output,
            "test_split": "test",
            "doc_to_text": prompt.text,
            "doc_to_choice": prompt.choices,
            "doc_to_target": prompt.target,
            "target_delimiter": prompt.target_delimiter,
            "metric_list": [{"metric": m, "aggregation": "mean", "higher_is_better": True} for m in metrics],
            "metadata": {"version": 1.0},
        }
    if prompt.description is not None:
        body["description"] = prompt.description
    if task.data.splits:
        body |= {"dataset_path": "json", "dataset_name": None, "dataset_kwargs": {"data_files": dict(task.data.splits)}}
    body["num_fewshot"] = task.num_fewshot
    if task.generation:
        body["generation_kwargs"] = (_stock_generation_kwargs(stock) if stock else {}) | dict(task.generation)
    return str(yaml.safe_dump(body, sort_keys=False, allow_unicode=True))


class LmEvalEngine:
    """Evaluates tasks with lm-eval on the run's loaded model (one ``HFLM`` per loaded model)."""

    name = "lm-eval"
    needs_weights = True

    def __init__(self, settings: EngineSettings | None = None) -> None:
        self.settings = settings or EngineSettings()
        self._wrapped: tuple[int, HFLM] | None = None
        self._api_models: dict[tuple[int, bool], LM] = {}

    def version(self) -> str:
        return f"lm-eval {package_version('lm_eval')}"

    def hflm(self, model: LoadedModel) -> HFLM:
        if self._wrapped is None or self._wrapped[0] != id(model):
            _quiet_libraries()
            # a tokenizer that adds BOS is scored with it, as it encodes (lm-eval's default leaves
            # the choice to the tokenizer; saying so makes generation prompts agree too)
            bos = {"add_bos_token": True} if tokenizer_adds_bos(model.tokenizer) else {}
            lm = _counting_hflm_class()(
                pretrained=model.model,
                tokenizer=model.tokenizer,
                batch_size=self.settings.batch_size,
                device=model.ref.device,
                **bos,
            )
            self._wrapped = (id(model), lm)
        return self._wrapped[1]

    def api_model(self, served: ServedModel, *, chat: bool, loglikelihood: bool) -> LM:
        """lm-eval's API model for ``served``: completions (log-likelihoods, and generation) or chat completions."""
        key = (id(served), chat)
        if key not in self._api_models:
            _quiet_libraries()
            self._api_models[key] = endpoint_lm(served, chat=chat, loglikelihood=loglikelihood)
        return self._api_models[key]

    def response_cache_path(self, model: LoadedModel | ServedModel, *, chat: bool = False) -> Path | None:
        """lm-eval's response cache keys ignore the model, so each model (files and dtype) gets its own file."""
        if self.settings.response_cache is None:
            return None
        from harness.models.endpoint import ServedModel

        if isinstance(model, ServedModel):  # a served model's key: behaviour, served name, client tokenizer
            folder = "endpoint-" + sha256_text(model.ref.cache_key())[:40] + ("-chat" if chat else "")
            return self.settings.response_cache / "lm-eval" / folder / "responses"
        fingerprint, _, dtype = model.ref.cache_key().partition(":")
        return self.settings.response_cache / "lm-eval" / f"{fingerprint.removeprefix('sha256:')}-{dtype}" / "responses"

    def evaluate(
        self,
        model: LoadedModel | ServedModel | None,
        tasks: Sequence[TaskSpec],
        work_dir: Path,
        *,
        limit: int | None = None,
        documents: Mapping[str, Sequence[int]] | None = None,
    ) -> EngineOutput:
        """Run ``tasks`` through lm-eval; lm-eval's raw output is kept under ``work_dir``."""
        if model is None:
            raise HarnessError("the lm-eval engine needs a loaded model")
        task_dir = work_dir / "tasks"
        task_dir.mkdir(parents=True, exist_ok=True)
        for task in tasks:
            (task_dir / f"{task.name}.yaml").write_text(task_yaml(task), encoding="utf-8")  # scratch: no fsync
        selected = None
        if documents is not None:
            selected = {t.name: list(documents[t.name]) for t in tasks if t.name in documents}
        from harness.models.endpoint import ServedModel

        if isinstance(model, ServedModel):
            output, calls = self._evaluate_served(model, tasks, task_dir, limit, selected)
        else:
            lm = self.hflm(model)
            lm.calls = 0
            try:
                output = _evaluate(
                    lm, [t.name for t in tasks], task_dir, self.response_cache_path(model), limit, selected
                )
            except (FileNotFoundError, ConnectionError) as exc:
                raise DataError(f"lm-eval could not load a dataset: {exc}") from None
            calls = lm.calls
        samples = output.pop("samples")
        _write_raw(work_dir, output, samples)
        records: list[ItemRecord] = []
        requests = 0
        for task in tasks:
            task_samples = samples.get(task.name, [])
            records.extend(_to_records(task, task_samples))
            requests += _request_count(task_samples)
        return EngineOutput(records=records, requests=requests, model_calls=calls, raw=output)

    def _evaluate_served(
        self,
        served: ServedModel,
        tasks: Sequence[TaskSpec],
        task_dir: Path,
        limit: int | None,
        selected: dict[str, list[int]] | None,
    ) -> tuple[dict[str, Any], int]:
        """Tasks through the endpoint: log-likelihood tasks by completions, generation tasks by the endpoint's API."""
        chat_generation = served.ref.generation_api == "chat"
        groups = [
            (False, [t for t in tasks if t.output == "multiple_choice" or not chat_generation]),
            (True, [t for t in tasks if t.output != "multiple_choice" and chat_generation]),
        ]
        merged: dict[str, Any] = {}
        calls = 0
        for chat, group in groups:
            if not group:
                continue
            loglikelihood = any(t.output == "multiple_choice" for t in group)
            lm = self.api_model(served, chat=chat, loglikelihood=loglikelihood)
            lm.calls = 0
            names = [t.name for t in group]
            chosen = None if selected is None else {k: v for k, v in selected.items() if k in names}
            try:
                output = _evaluate(
                    lm, names, task_dir, self.response_cache_path(served, chat=chat), limit, chosen, chat=chat
                )
            except (FileNotFoundError, ConnectionError) as exc:
                raise DataError(f"lm-eval could not load a dataset: {exc}") from None
            calls += int(lm.calls)
            _merge_output(merged, output)
        return merged, calls


def _evaluate(
    lm: LM,
    task_names: list[str],
    task_dir: Path,
    cache_path: Path | None,
    limit: int | None,
    documents: dict[str, list[int]] | None,
    *,
    chat: bool = False,
) -> dict[str, Any]:
    """What ``simple_evaluate`` does for a pre-built model, minus its environment probes.

    ``chat``: prompts go as chat messages (lm-eval's ``--apply_chat_template`` with the
    few-shot examples as turns), for a chat-completions endpoint.
    """
    import numpy as np
    from lm_eval.evaluator import evaluate
    from lm_eval.tasks import TaskManager
    from lm_eval.utils import set_torch_seed

    random.seed(LM_EVAL_SEEDS["random_seed"])
    np.random.seed(LM_EVAL_SEEDS["numpy_random_seed"])
    set_torch_seed(LM_EVAL_SEEDS["torch_random_seed"])
    manager = TaskManager(include_path=str(task_dir), include_defaults=False)
    loaded = manager.load(task_names)
    for task_obj in loaded["tasks"].values():
        if task_obj.get_config("num_fewshot") is None:
            task_obj.set_config(key="num_fewshot", value=0)
        task_obj.set_fewshot_seed(seed=LM_EVAL_SEEDS["fewshot_random_seed"])
    model: Any = lm if cache_path is None else _batched_caching_lm(lm, cache_path)
    output = evaluate(
        lm=model,
        task_dict=loaded,
        limit=None if documents is not None else limit,
        samples=documents,
        bootstrap_iters=0,
        log_samples=True,
        verbosity="ERROR",
        apply_chat_template=chat,
        fewshot_as_multiturn=chat,
    )
    if output is None:
        raise HarnessError("lm-eval returned no results (distributed rank other than 0?)")
    return dict(output)


def _merge_output(merged: dict[str, Any], output: dict[str, Any]) -> None:
    """lm-eval's output of a second group of tasks added to the first's (samples, results and configs by task)."""
    for key, value in output.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key].update(value)
        else:
            merged.setdefault(key, value)


def _batched_caching_lm(lm: LM, cache_path: Path) -> Any:
    """lm-eval's response cache, committed once per batch of requests instead of after every response."""
    from lm_eval.api.model import CachingLM
    from sqlitedict import SqliteDict

    path = f"{cache_path}_rank0.db"
    cached = CachingLM(lm, path)
    cached.dbdict.close()
    cached.dbdict = SqliteDict(path, autocommit=False)
    lm.set_cache_hook(cached.get_cache_hook())
    return cached


def _counting_hflm_class() -> type[HFLM]:
    """HFLM that counts the requests that really reach the model (cache misses)."""
    from lm_eval.models.huggingface import HFLM

    class CountingHFLM(HFLM):
        calls = 0

        def loglikelihood(self, requests: list[Any], *args: Any, **kwargs: Any) -> list[Any]:
            self.calls += len(requests)
            return super().loglikelihood(requests, *args, **kwargs)  # type: ignore[no-any-return]

        def generate_until(self, requests: list[Any], *args: Any, **kwargs: Any) -> list[Any]:
            self.calls += len(requests)
            return super().generate_until(requests, *args, **kwargs)  # type: ignore[no-any-return]

    return CountingHFLM


def tokenizer_adds_bos(tokenizer: PreTrainedTokenizerBase) -> bool:
    """Whether ``tokenizer`` prepends its BOS token to a text it encodes (Llama's does; GPT-2's does not)."""
    bos = tokenizer.bos_token_id
    return isinstance(bos, int) and list(tokenizer("a")["input_ids"][:1]) == [bos]


def endpoint_lm(served: ServedModel, *, chat: bool, loglikelihood: bool) -> LM:
    """lm-eval's ``local-completions`` (or ``local-chat-completions``) model for a served model.

    Prompts for log-likelihoods go the way the endpoint's echo lines up with lm-eval's
    token counts (:attr:`~harness.models.endpoint.EndpointRef.prompt_layout`): as text,
    which the server tokenizes and prefixes with BOS itself, or as token ids that start with
    BOS. Retries count attempts after the first; the timeout is per request.
    """
    completions, chat_completions = _endpoint_lm_classes()
    ref = served.ref
    common: dict[str, Any] = {
        "model": ref.served_model,
        "num_concurrent": ref.concurrency,
        "max_retries": ref.max_retries + 1,  # lm-eval counts attempts
        "timeout": max(1, math.ceil(ref.timeout)),
        "max_length": ref.max_length(),
        "decoding": ref.decoding_settings,
        "url": ref.url,
    }
    if chat:
        return chat_completions(base_url=served.chat_url, tokenizer_backend=None, tokenized_requests=False, **common)
    layout = ref.check_prompt_logprobs() if loglikelihood else "text"
    return completions(
        base_url=served.completions_url,
        tokenizer_backend="huggingface",
        tokenizer=str(ref.tokenizer_dir),
        trust_remote_code=ref.trust_remote_code,
        tokenized_requests=layout == "token-ids-with-bos",
        add_bos_token=layout == "token-ids-with-bos",
        **common,
    )


@cache
def _endpoint_lm_classes() -> tuple[type[LM], type[LM]]:
    """lm-eval's completions and chat-completions models, with what a served model needs said explicitly.

    Registered as ``harness-local-completions`` and ``harness-local-chat-completions``.
    """
    from lm_eval.api.registry import register_model
    from lm_eval.models.openai_completions import LocalChatCompletion, LocalCompletionsAPI

    from harness.models.endpoint import api_key, banned_special_tokens

    def failure(url: str, exc: BaseException) -> ModelError:
        """One line: what failed, with the server's own explanation when it gave one."""
        response = getattr(exc, "response", None)
        said = " ".join(str(getattr(response, "text", "") or "").split())[:300]
        text = " ".join(str(exc).split())[:300] or type(exc).__name__
        return ModelError(f"the endpoint {url} failed a request: {text}" + (f" ({said})" if said else ""))

    class _Served:
        """What both API models share: the settings, the key, neutral decoding, counting, one-line failures."""

        calls = 0
        _decoding: dict[str, Any]
        _url: str

        def __init__(self, *, decoding: dict[str, Any], url: str, **kwargs: Any) -> None:
            self._decoding, self._url = dict(decoding), url
            super().__init__(**kwargs)

        def loglikelihood(self, requests: list[Any], *args: Any, **kwargs: Any) -> list[Any]:
            return self._counted(super().loglikelihood, requests, *args, **kwargs)  # type: ignore[misc]

        def generate_until(self, requests: list[Any], *args: Any, **kwargs: Any) -> list[Any]:
            return self._counted(super().generate_until, requests, *args, **kwargs)  # type: ignore[misc]

        @property
        def api_key(self) -> str:
            return api_key() or ""

        def _decoded(self, payload: dict[str, Any]) -> dict[str, Any]:
            return payload | self._decoding

        def _counted(self, method: Any, requests: list[Any], *args: Any, **kwargs: Any) -> list[Any]:
            import aiohttp
            import tenacity

            self.calls += len(requests)
            try:
                return list(method(requests, *args, **kwargs))
            except ModelError:
                raise
            except (OSError, aiohttp.ClientError, tenacity.RetryError) as exc:
                raise failure(self._url, exc) from None

    @register_model("harness-local-completions")
    class EndpointCompletions(_Served, LocalCompletionsAPI):
        """``local-completions`` with BOS and the end token banned in log-likelihood requests, each echo checked."""

        def _create_payload(
            self,
            messages: Any,
            generate: bool = False,
            gen_kwargs: dict[str, Any] | None = None,
            seed: int = 1234,
            eos: str | None = None,
            **kwargs: Any,
        ) -> dict[str, Any]:
            payload: dict[str, Any] = super()._create_payload(
                messages, generate=generate, gen_kwargs=gen_kwargs, seed=seed, eos=eos, **kwargs
            )
            if generate:
                return self._decoded(payload)
            # the one generated token is never BOS or the end token, which llama.cpp leaves out of the echo
            payload["logit_bias"] = banned_special_tokens(self.tokenizer)
            return payload

        @staticmethod
        def parse_logprobs(
            outputs: Any, tokens: list[list[int]] | None = None, ctxlens: list[int] | None = None, **kwargs: Any
        ) -> list[tuple[float, bool]]:
            """The continuation's log-likelihood and whether it is greedy, from each echo answer (one per request).

            lm-eval's own reading takes ``token_logprobs[ctxlen:-1]``, which assumes exactly one
            generated token; this one cuts what the answer says was generated
            (:func:`~harness.models.endpoint.echoed_prompt`) and stops the run when the echo
            does not hold one log-probability per token sent.
            """
            from harness.models.endpoint import echoed_prompt

            answers = outputs if isinstance(outputs, list) else [outputs]
            parsed: list[tuple[float, bool]] = []
            for answer, sent, ctxlen in zip(answers, tokens or [], ctxlens or [], strict=True):
                values, tops = echoed_prompt(answer)
                if len(values) != len(sent) or ctxlen < 1:
                    raise ModelError(
                        f"the endpoint echoed {len(values)} prompt log-probabilities for a prompt of {len(sent)} "
                        "tokens: its tokens no longer line up with the client tokenizer's, so the run stops rather "
                        "than score the wrong tokens"
                    )
                continuation = [float(v) for v in values[ctxlen:]]
                greedy = all(
                    isinstance(top, dict) and top and value >= max(top.values())
                    for value, top in zip(continuation, tops[ctxlen:])
                )
                parsed.append((sum(continuation), greedy))
            return parsed

    @register_model("harness-local-chat-completions")
    class EndpointChat(_Served, LocalChatCompletion):
        """``local-chat-completions`` with neutral decoding sent explicitly."""

        def _create_payload(
            self,
            messages: Any,
            generate: bool = False,
            gen_kwargs: dict[str, Any] | None = None,
            seed: int = 1234,
            eos: str | None = None,
            **kwargs: Any,
        ) -> dict[str, Any]:
            payload: dict[str, Any] = super()._create_payload(
                messages, generate=generate, gen_kwargs=gen_kwargs, seed=seed, eos=eos, **kwargs
            )
            return self._decoded(payload)

    return EndpointCompletions, EndpointChat


def _to_records(task: TaskSpec, samples: list[dict[str, Any]]) -> list[ItemRecord]:
    if not samples:
        return []
    if task.output == "multiple_choice":
        return [_choice_record(task, s) for s in samples]
    return _generation_records(task, samples)


def _choice_record(task: TaskSpec, sample: dict[str, Any]) -> ItemRecord:
    lls = [float(resp[0]) for resp in sample["filtered_resps"]]
    scores = lls
    if task.scoring == "acc_norm":  # lm-eval divides by the choice's length in characters
        scores = [
            ll / max(1, len(str(arg[1]).removeprefix(" "))) for ll, arg in zip(lls, sample["arguments"], strict=True)
        ]
    prediction = max(range(len(scores)), key=scores.__getitem__)
    # Docs the project writes itself (perturbed, counterfactual) carry their own item id,
    # variant and bookkeeping under "harness"; stock docs are named by their row.
    doc = sample.get("doc") or {}
    meta = doc.get("harness") or {}
    question = {"question": doc["question"]} if isinstance(doc.get("question"), str) else {}
    return ItemRecord(
        suite=task.suite,
        item_id=meta.get("item_id") or task.item_id(int(sample["doc_id"])),
        variant=meta.get("variant") or "clean",
        subject=meta.get("subject") or task.subject,
        prompt_hash=sample["prompt_hash"],
        choices=[str(arg[1]) for arg in sample["arguments"]],
        loglikelihoods=lls,
        prediction=prediction,
        target=int(sample["target"]),
        correct=_correct(sample.get(task.scoring, sample["acc"])),
        confidence=softmax(lls)[prediction],
        extra={"doc_hash": sample.get("doc_hash")}
        | question
        | (json.loads(meta["extra"]) if meta.get("extra") else {}),
    )


def _correct(value: float | bool) -> bool:
    """An item's correctness from lm-eval's per-item score: 0/1 for accuracy; a probability
    (TruthfulQA MC2's true mass) counts as correct above one half."""
    number = float(value)
    return number > 0.5 if 0 < number < 1 else bool(number)


def _generation_records(task: TaskSpec, samples: list[dict[str, Any]]) -> list[ItemRecord]:
    by_doc: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for sample in samples:
        by_doc[int(sample["doc_id"])].append(sample)
    records = []
    for doc_id in sorted(by_doc):
        group = by_doc[doc_id]
        filters = {
            s["filter"]: {"prediction": _first(s["filtered_resps"]), "correct": bool(s[task.scoring])} for s in group
        }
        primary = filters.get(task.answer_filter) or next(iter(filters.values()))
        records.append(
            ItemRecord(
                suite=task.suite,
                item_id=task.item_id(doc_id),
                subject=task.subject,
                prompt_hash=group[0]["prompt_hash"],
                generated=str(_first(group[0]["resps"][0])),
                prediction=None if primary["prediction"] is None else str(primary["prediction"]),
                target=str(group[0]["target"]),
                correct=primary["correct"],
                extra={"filters": filters, "primary_filter": task.answer_filter, "doc_hash": group[0].get("doc_hash")},
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
    """lm-eval's own results and samples, kept for audit (the run's results.json is the atomic record)."""
    from lm_eval.utils import handle_non_serializable

    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "results.json").write_text(
        json.dumps(output, indent=2, default=handle_non_serializable, ensure_ascii=False), encoding="utf-8"
    )
    for task, rows in samples.items():
        text = "".join(json.dumps(r, default=handle_non_serializable, ensure_ascii=False) + "\n" for r in rows)
        (work_dir / f"samples_{task}.jsonl").write_text(text, encoding="utf-8")


def _quiet_libraries() -> None:
    """Keep lm-eval's request progress bars; silence its per-task context bars and library chatter.

    lm-eval draws one unlabeled bar per task while building prompts (57 for MMLU).
    """
    from functools import partial

    import lm_eval.api.task
    from tqdm import tqdm

    lm_eval.api.task.tqdm = partial(tqdm, disable=True)
    for name in ("lm_eval", "lm-eval", "transformers", "datasets", "accelerate"):
        logging.getLogger(name).setLevel(logging.ERROR)
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
