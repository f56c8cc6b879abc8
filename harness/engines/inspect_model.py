"""The run's model for inspect-ai: the loaded model as a model API (``harness-local/<key>``),
or a served model through inspect-ai's OpenAI-compatible provider (:func:`endpoint_model`).

Python objects never pass through inspect's model arguments (they are logged and
memoised): the loaded model is kept in a registry here, keyed by the name inspect gets.
Concurrent ``generate`` calls (inspect runs samples concurrently, up to
``max_connections``) are gathered into one left-padded batch for ``model.generate``:
the first waiting call leads, waits briefly for more, and runs the batch in a worker
thread while the event loop keeps collecting the next one.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inspect_ai.model import Model

    from harness.models.endpoint import ServedModel
    from harness.models.modelref import LoadedModel

BATCH_WINDOW_S = 0.05


@dataclass
class _Entry:
    loaded: LoadedModel
    lock: threading.Lock = field(default_factory=threading.Lock)
    batch_sizes: list[int] = field(default_factory=list)


_REGISTRY: dict[str, _Entry] = {}
_KEYS = itertools.count(1)
_REGISTERED = False


def local_model(loaded: LoadedModel, *, batch_size: int = 8) -> Model:
    """An inspect ``Model`` over ``loaded`` (registered once per loaded model)."""
    from inspect_ai.model import GenerateConfig, get_model

    _register_api()
    key = next((k for k, e in _REGISTRY.items() if e.loaded is loaded), None)
    if key is None:
        key = f"m{next(_KEYS)}"
        _REGISTRY[key] = _Entry(loaded=loaded)
    return get_model(f"harness-local/{key}", config=GenerateConfig(), memoize=False, batch_size=batch_size)


def endpoint_model(served: ServedModel) -> Model:
    """inspect-ai's ``openai-api`` provider on the served model: greedy, neutral penalties, the endpoint's client settings.

    The API key comes from the environment (:func:`harness.models.endpoint.api_key`) and is
    handed to the provider, which keeps it out of inspect's log; a server that needs none
    gets a placeholder (the OpenAI client insists on one). Retries count attempts after the
    first, and the timeout holds for each attempt.
    """
    from inspect_ai.model import GenerateConfig, get_model

    ref = served.ref
    decoding = ref.decoding_settings
    standard = {k: decoding[k] for k in ("temperature", "top_p", "frequency_penalty", "presence_penalty")}
    extra = {k: v for k, v in decoding.items() if k not in standard}
    config = GenerateConfig(
        **standard,
        extra_body=extra or None,
        max_retries=ref.max_retries,
        attempt_timeout=max(1, round(ref.timeout)),
        max_connections=ref.concurrency,
    )
    return get_model(
        f"openai-api/harness/{ref.served_model}",
        base_url=ref.url,
        api_key=served.api_key or "no-key",
        config=config,
        memoize=False,
    )


def batch_sizes(loaded: LoadedModel) -> list[int]:
    """The sizes of the generate batches run for ``loaded`` so far (benchmarks and tests read them)."""
    return next((list(e.batch_sizes) for e in _REGISTRY.values() if e.loaded is loaded), [])


@dataclass
class _Request:
    prompt: str
    max_new_tokens: int
    result: dict[str, Any] | None = None
    error: BaseException | None = None


def _register_api() -> None:
    """Define and register the model API class (inspect-ai is imported only when a run needs it)."""
    global _REGISTERED
    if _REGISTERED:
        return
    import anyio
    import anyio.to_thread
    from inspect_ai.model import (
        ChatCompletionChoice,
        ChatMessage,
        ChatMessageAssistant,
        GenerateConfig,
        ModelAPI,
        ModelCall,
        ModelOutput,
        ModelUsage,
        modelapi,
    )
    from inspect_ai.tool import ToolChoice, ToolInfo

    class Batcher:
        """Gathers concurrent requests with the same decoding settings into one batch."""

        def __init__(self, run_batch: Callable[[list[_Request]], None]) -> None:
            self.run_batch = run_batch
            self.pending: list[_Request] = []
            self.busy = False
            self.idle = anyio.Event()

        async def submit(self, request: _Request, max_batch: int) -> dict[str, Any]:
            self.pending.append(request)
            try:
                while request.result is None and request.error is None:
                    if self.busy:
                        await self.idle.wait()
                        continue
                    self.busy = True
                    try:
                        deadline = time.monotonic() + BATCH_WINDOW_S
                        while len(self.pending) < max_batch and time.monotonic() < deadline:
                            await anyio.sleep(0.002)
                        head = self.pending[0].max_new_tokens
                        batch = [r for r in self.pending if r.max_new_tokens == head][:max_batch]
                        for r in batch:
                            self.pending.remove(r)
                        await anyio.to_thread.run_sync(self.run_batch, batch)  # a started batch always finishes
                    finally:
                        self.busy = False
                        event, self.idle = self.idle, anyio.Event()
                        event.set()
            finally:
                if request in self.pending:
                    self.pending.remove(request)
            if request.error is not None:
                raise request.error
            assert request.result is not None
            return request.result

    @modelapi(name="harness-local")
    class HarnessLocalAPI(ModelAPI):
        def __init__(
            self,
            model_name: str,
            base_url: str | None = None,
            api_key: str | None = None,
            config: GenerateConfig | None = None,
            **model_args: Any,
        ) -> None:
            config = config or GenerateConfig()
            super().__init__(model_name=model_name, base_url=base_url, api_key=api_key, api_key_vars=[], config=config)
            if model_name not in _REGISTRY:
                raise ValueError(f"harness-local: no loaded model registered as {model_name!r}")
            self.entry = _REGISTRY[model_name]
            self.batch_size = int(model_args.get("batch_size", 8))
            self.batcher = Batcher(self._run_batch)
            import torch

            # OpenMP's thread count is per OS thread: batches run in a worker, so carry the setting there
            self.threads = torch.get_num_threads()

        def max_tokens(self) -> int | None:
            return 256

        def max_connections(self) -> int:
            return self.batch_size

        def connection_key(self) -> str:
            return self.model_name

        def should_retry(self, ex: Exception) -> bool:
            return False  # a local model's errors are not transient

        async def count_text_tokens(self, text: str) -> int:
            # inspect's default counts with tiktoken, which downloads its vocabulary: count with ours
            return len(self.entry.loaded.tokenizer(text, add_special_tokens=False)["input_ids"])

        async def generate(
            self,
            input: list[ChatMessage],
            tools: list[ToolInfo],
            tool_choice: ToolChoice,
            config: GenerateConfig,
        ) -> tuple[ModelOutput, ModelCall]:
            if tools:
                raise NotImplementedError("harness-local: tools are not supported")
            tokenizer = self.entry.loaded.tokenizer
            prompt = str(
                tokenizer.apply_chat_template(
                    [{"role": m.role, "content": m.text} for m in input], tokenize=False, add_generation_prompt=True
                )
            )
            request = _Request(prompt=prompt, max_new_tokens=config.max_tokens or 256)
            started = time.monotonic()
            result = await self.batcher.submit(request, min(self.batch_size, config.max_connections or self.batch_size))
            text, stop_reason = str(result["text"]), "max_tokens" if result["hit_max"] else "stop"
            for stop in config.stop_seqs or []:
                if stop in text:
                    text, stop_reason = text[: text.index(stop)], "stop"
            output = ModelOutput(
                model=self.model_name,
                choices=[
                    ChatCompletionChoice(
                        message=ChatMessageAssistant(content=text, model=self.model_name, source="generate"),
                        stop_reason=stop_reason,
                    )
                ],
                usage=ModelUsage(
                    input_tokens=result["in_tokens"],
                    output_tokens=result["out_tokens"],
                    total_tokens=result["in_tokens"] + result["out_tokens"],
                ),
                time=time.monotonic() - started,
                metadata={"batch_size": result["batch_size"]},
            )
            call = ModelCall.create(
                request={"prompt": prompt, "max_new_tokens": request.max_new_tokens, "do_sample": False},
                response={"text": result["text"], "batch_size": result["batch_size"]},
            )
            return output, call

        def _run_batch(self, batch: list[_Request]) -> None:
            """Greedy generation for a batch, in a worker thread; fills each request's result or error."""
            import torch

            model, tokenizer = self.entry.loaded.model, self.entry.loaded.tokenizer
            torch.set_num_threads(self.threads)
            try:
                with self.entry.lock, torch.inference_mode():
                    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
                    encoded = tokenizer(
                        [r.prompt for r in batch],
                        return_tensors="pt",
                        padding=True,
                        padding_side="left",
                        add_special_tokens=False,
                    )
                    encoded = {k: v.to(model.device) for k, v in encoded.items()}
                    out = model.generate(
                        **encoded,
                        do_sample=False,
                        num_beams=1,
                        temperature=None,
                        top_p=None,
                        top_k=None,
                        pad_token_id=pad,
                        eos_token_id=tokenizer.eos_token_id,
                        max_new_tokens=batch[0].max_new_tokens,
                    )
                self.entry.batch_sizes.append(len(batch))
                new = out[:, encoded["input_ids"].shape[1] :]
                texts = tokenizer.batch_decode(new, skip_special_tokens=True)
                for i, request in enumerate(batch):
                    row = new[i].tolist()
                    eos = tokenizer.eos_token_id
                    n_out = row.index(eos) + 1 if eos in row else len(row)
                    request.result = {
                        "text": texts[i],
                        "in_tokens": int(encoded["attention_mask"][i].sum()),
                        "out_tokens": n_out,
                        "hit_max": eos not in row and len(row) >= request.max_new_tokens,
                        "batch_size": len(batch),
                    }
            except BaseException as exc:  # every waiter of the batch sees the failure
                for request in batch:
                    request.error = exc

    _REGISTERED = True
    del HarnessLocalAPI
