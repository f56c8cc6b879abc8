"""A model served behind an OpenAI-compatible API: client settings, probes, behavioural identity.

An :class:`EndpointRef` names a model that runs elsewhere: llama.cpp's Python server,
vLLM, TGI or any server speaking the OpenAI completions and chat-completions protocol.
Harness cannot hash weights it never sees, so before a run scores anything it checks
what it can about the server:

- the server lists the served model (``GET /v1/models``);
- the server tokenizes like the client tokenizer harness counts tokens with: probe texts
  (digits, whitespace runs, newlines, Greek, accented text, code, a multiple-choice
  prompt) are compared token by token with llama.cpp's ``/extras/tokenize`` or vLLM's
  ``/tokenize``, or else by count with the ``usage.prompt_tokens`` of an echo request.
  A difference, or a server that offers none of these, refuses the run, unless the user
  passes ``--skip-tokenizer-check`` (which the results then state);
- before a log-likelihood suite, that the server echoes the prompt with its
  log-probabilities laid out as lm-eval reads them (one entry per prompt token, then one
  generated token): :meth:`EndpointRef.check_prompt_logprobs`.

Its identity (:meth:`EndpointRef.describe`) is the URL, the served name, what the server
lists for it, the client tokenizer's file hash, and a behavioural fingerprint: a SHA-256
over the rounded log-probabilities the server gives fixed probe prompts. That is weaker
than a hash of weight files, and the results say so (:data:`IDENTITY_NOTE`).

The API key, if the server needs one, is read from ``HARNESS_ENDPOINT_API_KEY`` (else
``OPENAI_API_KEY``) when requests are made; it is never part of the reference, the run
spec or the results.
"""

from __future__ import annotations

import json
import math
import os
import re
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, urlsplit

from harness.errors import InputError, ModelError
from harness.files.hashing import combine_digests, sha256_file, sha256_text

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

API_KEY_VARIABLES = ("HARNESS_ENDPOINT_API_KEY", "OPENAI_API_KEY")

# Texts on which a client and a server tokenizer most often part ways: number splitting,
# whitespace merging, line ends, non-Latin scripts, accents, code, and the shape of a
# multiple-choice prompt.
TOKENIZER_PROBES: tuple[tuple[str, str], ...] = (
    ("digits", "In 2024, 1,234,567 people paid 3.14159 each; call 112 or 0030 210 123 4567."),
    ("whitespace runs", "a  b   c\t\td     e  "),
    ("newlines", "line one\nline two\n\n\nline five\r\nend"),
    ("Greek", "Καλημέρα κόσμε! Η ομάδα διάσωσης έφτασε στις 08:30."),
    ("accents and symbols", "naïve café in Zürich: 50 € or £40, “quoted” — done…"),
    ("code", "def add(a, b):\n    return {'sum': a + b}  # total\n"),
    ("multiple-choice prompt", "Question: What is 2 + 2?\nA. 3\nB. 4\nC. 5\nD. 22\nAnswer: B"),
)

# Prompts whose log-probabilities make the behavioural fingerprint.
FINGERPRINT_PROMPTS = (
    "The following are multiple choice questions (with answers) about emergency response.",
    "Question: Which team leads a search and rescue operation?\nA. the incident commander\nAnswer:",
    "Evacuate the residents of the village before the wildfire reaches the road.",
    "Natalia sold 48 clips in April and half as many in May. 48 / 2 = 24. 48 + 24 = 72.",
)
FINGERPRINT_DECIMALS = 4

IDENTITY_NOTE = (
    "This model was measured through an OpenAI-compatible endpoint, so it is identified by the endpoint's address, "
    "the served model name, the client tokenizer's files and a behavioural fingerprint (a SHA-256 over the "
    f"log-probabilities the server gave {len(FINGERPRINT_PROMPTS)} fixed probe prompts, rounded to "
    f"{FINGERPRINT_DECIMALS} decimals), not by a hash of its weights. That identity is weaker than a weight hash: "
    "a changed model can be served under the same name, and rounding hides changes smaller than 0.00005 in a "
    "log-probability."
)
GREEDY_TEXT_NOTE = (
    "This server returned no prompt log-probabilities, so the fingerprint is a SHA-256 over the greedy answers to "
    f"{len(FINGERPRINT_PROMPTS)} fixed probe prompts (16 tokens each), weaker still: models that agree on these few "
    "answers share it."
)

SKIPPED_CHECK_NOTE = (
    "The server's tokenization was not compared with the client tokenizer's (the run was started with "
    "--skip-tokenizer-check): if they differ, token counts, truncation and log-likelihoods may be wrong."
)
SKIP_HINT = "pass --skip-tokenizer-check to run anyway (the results then say the check was skipped)"
_SECRET_QUERY = re.compile(r"key|token|secret|sig|passw|auth", re.IGNORECASE)
_NOT_OFFERED = {400, 404, 405, 422, 501}
Flavour = Literal["llama.cpp", "vllm", "openai-compatible"]
PromptLayout = Literal["text", "token-ids-with-bos"]


def echoed_prompt(answer: Any) -> tuple[list[Any], list[Any]]:
    """The prompt's part of an echo answer: its ``token_logprobs`` and ``top_logprobs`` without the generated tokens.

    The answer's lists cover the echoed prompt, then what was generated:
    ``usage.completion_tokens`` entries (1 when the server does not say). lm-eval's own
    reading, ``[:-1]``, assumes exactly one; llama.cpp's server generates more than
    ``max_tokens`` when the first token ends inside a UTF-8 character, and none when the
    greedy next token is the end token. Raises KeyError, IndexError or TypeError on an
    answer without log-probabilities.
    """
    logprobs = answer["choices"][0]["logprobs"]
    values, tops = list(logprobs["token_logprobs"]), list(logprobs.get("top_logprobs") or [])
    usage = answer.get("usage")
    generated = usage.get("completion_tokens") if isinstance(usage, dict) else None
    keep = len(values) - (generated if isinstance(generated, int) and generated >= 0 else 1)
    return values[: max(keep, 0)], tops[: max(keep, 0)]


def banned_special_tokens(tokenizer: PreTrainedTokenizerBase) -> dict[str, float]:
    """``logit_bias`` that keeps the one token an echo request generates from being BOS or the end token.

    llama.cpp's server leaves a generated BOS out of the echoed lists while counting it in
    ``usage.completion_tokens``, and generates nothing when the end token comes first:
    either way the answer's lists would no longer end where :func:`echoed_prompt` cuts them.
    The bias changes only which token is generated, not the prompt's log-probabilities.
    """
    ids = {tokenizer.bos_token_id, tokenizer.eos_token_id}
    return {str(i): -100.0 for i in sorted(i for i in ids if isinstance(i, int))}


def api_key() -> str | None:
    """The endpoint's API key from the environment (never stored): HARNESS_ENDPOINT_API_KEY, else OPENAI_API_KEY."""
    for name in API_KEY_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


class EndpointHTTPError(ModelError):
    """The server answered a request with an HTTP error status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class EndpointClient:
    """Plain JSON requests to an OpenAI-compatible server (``url`` ends in ``/v1``, as the OpenAI client's base URL)."""

    url: str
    key: str | None = None
    timeout: float = 60.0

    @property
    def root(self) -> str:
        """The server's root, where llama.cpp's ``/extras`` and vLLM's ``/tokenize`` live."""
        return re.sub(r"/v1/?$", "", self.url.rstrip("/"))

    def get(self, path: str) -> Any:
        return self._send(self.url.rstrip("/") + path, None)

    def post(self, path: str, body: dict[str, Any], *, at_root: bool = False) -> Any:
        base = self.root if at_root else self.url.rstrip("/")
        return self._send(base + path, body)

    def _send(self, address: str, body: dict[str, Any] | None) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(address, data=data, headers=headers, method="GET" if body is None else "POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                text = response.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            detail = " ".join(exc.read().decode("utf-8", "replace").split())[:200]
            raise EndpointHTTPError(f"endpoint {address} answered HTTP {exc.code}: {detail}", exc.code) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ModelError(f"cannot reach the endpoint {self.url} ({reason})") from None
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise ModelError(f"endpoint {address} answered something other than JSON: {text[:80]!r}") from None


@dataclass(frozen=True)
class TokenizerCheck:
    """How the client and the server tokenizer were compared, in words for the results."""

    status: Literal["passed", "skipped"]
    method: str
    probes: int = 0

    def sentence(self) -> str:
        if self.status == "skipped":
            return "not checked: the run was started with --skip-tokenizer-check, so token counts may differ"
        return f"identical on {self.probes} probe texts ({self.method})"


@dataclass(frozen=True)
class Fingerprint:
    digest: str  # sha256:<hex>
    method: Literal["prompt-logprobs", "greedy-text"]


@dataclass(frozen=True)
class EndpointRef:
    """A served model: where it is, its name there, the tokenizer to count its tokens with, and client settings.

    ``concurrency``, ``max_retries`` and ``timeout`` change how fast and how patiently
    harness asks, not what it measures; the other fields decide the measurement.
    ``generation_api`` picks the protocol for lm-eval's generation tasks (GSM8K):
    ``completions`` sends the very prompt a local run builds (so the items pair with a
    local run's), ``chat`` sends it as chat messages through the server's chat template.
    """

    url: str
    served_model: str
    tokenizer: str | None = None
    revision: str | None = None
    trust_remote_code: bool = False
    skip_tokenizer_check: bool = False
    generation_api: Literal["completions", "chat"] = "completions"
    concurrency: int = 1
    max_retries: int = 3
    timeout: float = 300.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InputError(f"--endpoint {self.url!r}: not an http(s) URL such as http://localhost:8000/v1")
        secret_query = any(_SECRET_QUERY.search(name) for name, _ in parse_qsl(parts.query))
        if parts.username or parts.password or secret_query:
            raise InputError(
                "--endpoint: the URL carries credentials; give the API key in HARNESS_ENDPOINT_API_KEY instead "
                "(harness never writes it to disk)"
            )
        if not self.served_model.strip():
            raise InputError("--served-model: the name the server serves the model under must not be empty")
        if self.generation_api not in ("completions", "chat"):
            raise InputError(f"--generation-api {self.generation_api!r}: not completions or chat")
        if self.concurrency < 1 or self.max_retries < 0 or not self.timeout > 0:
            raise InputError("--concurrency must be at least 1, --max-retries at least 0, --timeout positive")

    # --------------------------------------------------------------- what the runner reads
    @property
    def base(self) -> str:
        """The name runs list the model under: the served model's name."""
        return self.served_model

    @property
    def adapter(self) -> None:
        return None

    @property
    def allow_pickle(self) -> bool:
        return False  # harness loads no weights of a served model

    @property
    def dtype(self) -> str:
        return "as served"

    @property
    def device(self) -> str:
        return "remote"

    @property
    def kind(self) -> Literal["endpoint"]:
        return "endpoint"

    @property
    def vouches_for(self) -> str:
        return "the server's rounded log-probabilities of fixed probe prompts, not its weights"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def cli_arguments(self) -> list[str]:
        """The ``harness run`` options that name this served model again (for a reproduce command)."""
        args = ["--endpoint", self.url, "--served-model", self.served_model]
        if self.tokenizer:
            args += ["--tokenizer", self.tokenizer]
        if self.revision:
            args += ["--revision", self.revision]
        if self.trust_remote_code:
            args.append("--trust-remote-code")
        if self.skip_tokenizer_check:
            args.append("--skip-tokenizer-check")
        if self.generation_api != "completions":
            args += ["--generation-api", self.generation_api]
        return args

    def with_client_settings(self, other: EndpointRef) -> EndpointRef:
        """This reference with ``other``'s concurrency, retries and timeout (what --resume may change)."""
        return replace(self, concurrency=other.concurrency, max_retries=other.max_retries, timeout=other.timeout)

    def client(self, timeout: float | None = None) -> EndpointClient:
        return EndpointClient(self.url, api_key(), min(self.timeout, 60.0) if timeout is None else timeout)

    # --------------------------------------------------------------- checks
    def check(self) -> None:
        """Everything that must hold before a run starts; raises ModelError naming what does not.

        The server must answer and list the served model (when it lists models at all), and
        tokenize the probe texts exactly as the client tokenizer does (unless the
        reference skips that check).
        """
        _ = self.listing
        _ = self.tokenizer_check

    @cached_property
    def listing(self) -> dict[str, Any]:
        """What ``GET /v1/models`` reports for the served model ({} when the server lists nothing)."""
        try:
            answer = self.client().get("/models")
        except EndpointHTTPError as exc:
            if exc.status in _NOT_OFFERED:
                return {}
            raise
        models = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(models, list) or not models:
            return {}
        entries = {str(m.get("id")): m for m in models if isinstance(m, dict)}
        if self.served_model not in entries:
            served = ", ".join(sorted(entries)[:5])
            raise ModelError(
                f"the endpoint {self.url} serves no model named {self.served_model!r} (it serves: {served}); "
                "give the name with --served-model"
            )
        return dict(entries[self.served_model])

    @cached_property
    def flavour(self) -> Flavour:
        """Which server this is, from the tokenize route it offers: llama.cpp, vLLM, or another."""
        client = self.client()
        for flavour, path, body in (
            ("llama.cpp", "/extras/tokenize", {"input": "a"}),
            ("vllm", "/tokenize", {"model": self.served_model, "prompt": "a"}),
        ):
            try:
                answer = client.post(path, body, at_root=True)
            except EndpointHTTPError:
                continue
            if isinstance(answer, dict) and isinstance(answer.get("tokens"), list):
                return flavour  # type: ignore[return-value]
        return "openai-compatible"

    @cached_property
    def tokenizer_check(self) -> TokenizerCheck:
        """Compare the client tokenizer with the server's on :data:`TOKENIZER_PROBES`; raises ModelError on a difference."""
        if self.skip_tokenizer_check:
            return TokenizerCheck(status="skipped", method="--skip-tokenizer-check")
        tokenizer, client, flavour = self.client_tokenizer, self.client(), self.flavour
        for name, text in TOKENIZER_PROBES:
            ours = list(tokenizer(text)["input_ids"])
            theirs = self._server_tokens(client, text)
            shown = f"the probe text {name!r} ({text[:40]!r})"
            remedy = f"give --tokenizer the served model's tokenizer, or {SKIP_HINT}"
            if theirs is None:  # no tokenize route: the server's own count of an echoed prompt
                counted = self._echo_prompt_tokens(client, text)
                if counted is None:
                    raise ModelError(
                        f"cannot check that the endpoint {self.url} tokenizes like the client tokenizer "
                        f"{self.tokenizer_source}: it offers neither /extras/tokenize (llama.cpp), /tokenize (vLLM) "
                        f"nor the usage of an echo request; {SKIP_HINT}"
                    )
                if counted != len(ours):
                    raise ModelError(
                        f"the endpoint {self.url} counts {counted} tokens in {shown}, the client tokenizer "
                        f"{self.tokenizer_source} {len(ours)}: they tokenize differently; {remedy}"
                    )
            elif theirs != ours:
                at = next((i for i, (a, b) in enumerate(zip(theirs, ours)) if a != b), min(len(theirs), len(ours)))
                raise ModelError(
                    f"the endpoint {self.url} tokenizes {shown} differently from the client tokenizer "
                    f"{self.tokenizer_source} (server {len(theirs)} tokens, client {len(ours)}, first difference at "
                    f"token {at}); {remedy}"
                )
        method = {
            "llama.cpp": "llama.cpp's /extras/tokenize, token by token",
            "vllm": "vLLM's /tokenize, token by token",
        }.get(flavour, "the usage.prompt_tokens of echo requests, by count")
        return TokenizerCheck(status="passed", method=method, probes=len(TOKENIZER_PROBES))

    def _server_tokens(self, client: EndpointClient, text: str) -> list[int] | None:
        """The server's own token ids for ``text`` (special tokens added as for a prompt); None without a route."""
        if self.flavour == "llama.cpp":
            return [int(t) for t in client.post("/extras/tokenize", {"input": text}, at_root=True)["tokens"]]
        if self.flavour == "vllm":
            body = {"model": self.served_model, "prompt": text, "add_special_tokens": True}
            return [int(t) for t in client.post("/tokenize", body, at_root=True)["tokens"]]
        return None

    def _echo_prompt_tokens(self, client: EndpointClient, text: str) -> int | None:
        """The server's own count of ``text``'s tokens (``usage.prompt_tokens``), or None when it gives none."""
        try:
            answer = client.post("/completions", self.echo_request(text))
        except EndpointHTTPError:
            return None
        usage = answer.get("usage") if isinstance(answer, dict) else None
        count = usage.get("prompt_tokens") if isinstance(usage, dict) else None
        return count if isinstance(count, int) else None

    @cached_property
    def prompt_layout(self) -> PromptLayout:
        """How to send log-likelihood prompts so the echoed log-probabilities line up with lm-eval's tokens.

        lm-eval reads the continuation's log-probabilities at ``token_logprobs[ctxlen:-1]``: the echo
        must hold one entry per prompt token it counted, then exactly one generated token.
        llama.cpp's server drops the BOS it adds from the echo, so prompts go as text
        (``"text"``); a server that echoes its BOS (vLLM) gets token ids that start with BOS
        (``"token-ids-with-bos"``), so the BOS is one of the tokens lm-eval counts. A server
        whose echo fits neither (no log-probabilities, no echo, a shifted echo as llama.cpp
        gives for a tokenizer without BOS) is refused: its scores would be silently wrong.
        """
        tokenizer = self.client_tokenizer
        name, text = TOKENIZER_PROBES[-1]
        plain = list(tokenizer(text, add_special_tokens=False)["input_ids"])
        full = list(tokenizer(text)["input_ids"])
        client = self.client()
        echoed = self._echoed_prompt_logprobs(client, text, text)
        if len(echoed) == len(plain):
            return "text"
        if len(echoed) == len(full) == len(plain) + 1:
            retried = self._echoed_prompt_logprobs(client, [full], text)
            if len(retried) == len(full):
                return "token-ids-with-bos"
        raise ModelError(
            f"the endpoint {self.url} echoes {len(echoed)} prompt log-probabilities for the probe text {name!r}, "
            f"which the client tokenizer encodes in {len(plain)} tokens ({len(full)} with special tokens): they cannot be "
            "lined up with the prompt's tokens, so log-likelihood suites are refused on this server (llama.cpp's "
            "server does this when the model's tokenizer adds no BOS token: serve a model whose tokenizer adds BOS)"
        )

    def _echoed_prompt_logprobs(
        self, client: EndpointClient, prompt: str | list[list[int]], text: str
    ) -> list[float | None]:
        """The prompt part of an echo request's log-probabilities; ModelError when the server gives none."""
        refusal = (
            f"the endpoint {self.url} does not return prompt log-probabilities (echo with logprobs), which "
            "log-likelihood suites (mmlu, calibration, robustness, fairness, domain) need; llama.cpp's Python server "
            "and vLLM return them, the OpenAI API and llama.cpp's own llama-server do not"
        )
        try:
            answer = client.post("/completions", self.echo_request(prompt))
        except EndpointHTTPError as exc:
            raise ModelError(f"{refusal} ({exc})") from None
        try:
            choice = answer["choices"][0]
            prompt_part, _ = echoed_prompt(answer)
        except (KeyError, IndexError, TypeError, AttributeError):
            raise ModelError(refusal) from None
        if isinstance(prompt, str) and isinstance(choice.get("text"), str) and not choice["text"].startswith(text):
            raise ModelError(f"the endpoint {self.url} does not echo the prompt it is sent ({refusal})")
        for value in prompt_part[1:]:
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value > 1e-6:
                raise ModelError(f"the endpoint {self.url} returns a prompt log-probability that is not one: {value!r}")
        return prompt_part

    def check_prompt_logprobs(self) -> PromptLayout:
        """Refuse (ModelError) a server whose echoed prompt log-probabilities harness cannot use; the layout otherwise."""
        return self.prompt_layout

    def echo_request(self, prompt: str | list[list[int]]) -> dict[str, Any]:
        """A completions request that echoes ``prompt`` with its log-probabilities and generates exactly one token.

        ``max_tokens`` 1 (llama.cpp reads 0 as "no limit"), temperature 0, and BOS and the
        end token banned (:func:`banned_special_tokens`).
        """
        body: dict[str, Any] = {
            "model": self.served_model,
            "prompt": prompt,
            "max_tokens": 1,
            "echo": True,
            "logprobs": 1,
            "temperature": 0,
        }
        banned = banned_special_tokens(self.client_tokenizer)
        if banned:
            body["logit_bias"] = banned
        return body

    # --------------------------------------------------------------- identity
    @cached_property
    def behaviour(self) -> Fingerprint:
        """The behavioural fingerprint: SHA-256 over the rounded prompt log-probabilities of :data:`FINGERPRINT_PROMPTS`.

        Each prompt's log-probabilities (echoed, after the first token, which has none)
        are rounded to :data:`FINGERPRINT_DECIMALS` decimals; the digest covers the
        served name's answers in order. A server without prompt log-probabilities is
        fingerprinted by its greedy answers instead (method ``greedy-text``).
        """
        client = self.client()
        rounded: list[list[str]] = []
        try:
            for prompt in FINGERPRINT_PROMPTS:
                values = self._echoed_prompt_logprobs(client, prompt, prompt)
                rounded.append(
                    [
                        f"{round(float(v), FINGERPRINT_DECIMALS) + 0.0:.{FINGERPRINT_DECIMALS}f}"
                        for v in values[1:]
                        if v is not None
                    ]
                )
            payload = json.dumps({"method": "prompt-logprobs", "values": rounded}, separators=(",", ":"))
            return Fingerprint(digest="sha256:" + sha256_text(payload), method="prompt-logprobs")
        except ModelError:
            pass
        answers = [self._greedy_answer(client, prompt) for prompt in FINGERPRINT_PROMPTS]
        payload = json.dumps({"method": "greedy-text", "answers": answers}, separators=(",", ":"), ensure_ascii=False)
        return Fingerprint(digest="sha256:" + sha256_text(payload), method="greedy-text")

    def _greedy_answer(self, client: EndpointClient, prompt: str) -> str:
        body = {
            "model": self.served_model,
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": 16,
            "seed": 0,
        } | self.decoding_settings
        answer = client.post("/chat/completions", body)
        try:
            return str(answer["choices"][0]["message"]["content"] or "")
        except (KeyError, IndexError, TypeError):
            raise ModelError(f"the endpoint {self.url} answered a chat completion without a message") from None

    def fingerprint(self) -> str:
        """``sha256:`` of the behavioural fingerprint (see :attr:`behaviour`)."""
        return self.behaviour.digest

    @cached_property
    def tokenizer_sha256(self) -> str:
        """SHA-256 over the client tokenizer's files (names and bytes, in name order)."""
        from harness.models.modelref import TOKENIZER_FILES

        directory = self.tokenizer_dir
        parts = [(n, sha256_file(directory / n)) for n in TOKENIZER_FILES if (directory / n).is_file()]
        return "sha256:" + combine_digests(parts)

    def describe(self) -> dict[str, Any]:
        """The model info of a run: the served name as base, the behavioural fingerprint, and the endpoint's identity."""
        check = self.tokenizer_check
        return {
            "base": self.served_model,
            "adapter": None,
            "revision": None,
            "dtype": self.dtype,
            "fingerprint": self.fingerprint(),
            "kind": "endpoint",
            "endpoint": {
                "url": self.url,
                "served_model": self.served_model,
                "listing": self.listing,
                "server": self.flavour,
                "tokenizer": self.tokenizer_source,
                "tokenizer_sha256": self.tokenizer_sha256,
                "tokenizer_check": check.status,
                "tokenizer_check_detail": check.sentence(),
                "fingerprint_method": self.behaviour.method,
                "fingerprint_decimals": FINGERPRINT_DECIMALS,
                "generation_api": self.generation_api,
            },
            "identity_note": " ".join(
                [IDENTITY_NOTE]
                + ([] if self.behaviour.method == "prompt-logprobs" else [GREEDY_TEXT_NOTE])
                + ([SKIPPED_CHECK_NOTE] if check.status == "skipped" else [])
            ),
        }

    def cache_key(self) -> str:
        """What must match for stored outputs to be reused: behaviour, served name, client tokenizer, and
        the protocol generation tasks are asked through (chat answers are other answers)."""
        tokenizer = self.tokenizer_sha256.removeprefix("sha256:")[:16]
        return f"{self.fingerprint()}:endpoint:{self.served_model}:{tokenizer}:{self.generation_api}"

    # --------------------------------------------------------------- the client side
    @property
    def tokenizer_source(self) -> str:
        """The tokenizer as the user named it (``--tokenizer``, else the served model's name)."""
        return self.tokenizer or self.served_model

    @cached_property
    def tokenizer_dir(self) -> Path:
        """The client tokenizer's directory: a local directory, or a hub id's snapshot in the local cache."""
        source = self.tokenizer_source
        path = Path(source).expanduser()
        if path.is_dir():
            if not any((path / n).is_file() for n in ("tokenizer.json", "tokenizer.model", "vocab.json")):
                raise ModelError(f"--tokenizer {source}: no tokenizer files (tokenizer.json) in that directory")
            return path
        if re.fullmatch(r"[\w.-]+/[\w.-]+", source) is None:
            raise ModelError(
                f"--tokenizer {source}: neither a tokenizer directory nor a hub id; give --tokenizer the served "
                "model's tokenizer (harness counts tokens with it)"
            )
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

        patterns = ["tokenizer*", "special_tokens_map.json", "vocab.json", "merges.txt", "*.jinja", "added_tokens.json"]
        try:
            return Path(snapshot_download(source, revision=self.revision, allow_patterns=patterns))
        except LocalEntryNotFoundError:
            raise ModelError(
                f"tokenizer {source} is neither a local directory nor in the local hub cache, and the hub cannot be "
                "reached; give --tokenizer a directory"
            ) from None
        except HfHubHTTPError as exc:
            raise ModelError(f"tokenizer {source}: hub error ({' '.join(str(exc).split())[:200]})") from None

    @cached_property
    def client_tokenizer(self) -> PreTrainedTokenizerBase:
        from transformers import AutoTokenizer

        from harness.models.modelref import quiet_transformers

        quiet_transformers()
        try:
            return AutoTokenizer.from_pretrained(str(self.tokenizer_dir), trust_remote_code=self.trust_remote_code)
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"cannot load the tokenizer {self.tokenizer_source}: {' '.join(str(exc).split())[:200]}"
            ) from None

    @property
    def decoding_settings(self) -> dict[str, Any]:
        """Greedy decoding with every penalty neutral, sent explicitly (servers' defaults differ).

        llama.cpp's server applies a repeat penalty of 1.1 unless told otherwise
        (``repeat_penalty``); vLLM applies the model's generation_config.json defaults
        (``repetition_penalty``). Other servers get only the OpenAI fields.
        """
        settings: dict[str, Any] = {"temperature": 0.0, "top_p": 1.0, "frequency_penalty": 0.0, "presence_penalty": 0.0}
        if self.flavour == "llama.cpp":
            settings["repeat_penalty"] = 1.0
        elif self.flavour == "vllm":
            settings["repetition_penalty"] = 1.0
        return settings

    def max_length(self) -> int:
        """The longest prompt plus answer the server takes, in tokens: what it lists, else the tokenizer's limit."""
        for key in ("max_model_len", "context_length", "max_context_length"):
            value = self.listing.get(key)
            if isinstance(value, int) and value > 1:
                return value
        limit = getattr(self.client_tokenizer, "model_max_length", None)
        return int(limit) if isinstance(limit, int) and 1 < limit < 1_000_000 else 2048

    def load(self) -> ServedModel:
        """The endpoint made ready for engines: checked, with its client tokenizer (no weights are read)."""
        self.check()
        return ServedModel(ref=self, tokenizer=self.client_tokenizer)


@dataclass
class ServedModel:
    """A model behind an endpoint, as engines receive it (the counterpart of a loaded model)."""

    ref: EndpointRef
    tokenizer: PreTrainedTokenizerBase

    @property
    def api_key(self) -> str | None:
        return api_key()

    @property
    def completions_url(self) -> str:
        return self.ref.url.rstrip("/") + "/completions"

    @property
    def chat_url(self) -> str:
        return self.ref.url.rstrip("/") + "/chat/completions"
