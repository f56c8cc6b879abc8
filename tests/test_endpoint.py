"""A model behind an OpenAI-compatible endpoint: the same numbers as a local run, refused when they could not be.

The server is llama-cpp-python's own (``python -m llama_cpp.server``), serving the tiny
model converted to GGUF by harness's converter; the tests that need it are skipped, with
the reason, only when llama-cpp-python is not installed (scripts/install_llama_server).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from harness.errors import InputError, ModelError
from harness.models.endpoint import IDENTITY_NOTE, SKIPPED_CHECK_NOTE, EndpointRef, echoed_prompt
from harness.models.modelref import ModelRef
from harness.runner.spec import RunSpec, check_resume
from tests.helpers import invoke
from tests.llama_server import LLAMA_CPP_MISSING, SERVED_NAME, SKIP_REASON, LlamaServer, short_mmlu, start_server

SCHEMA = Path(__file__).resolve().parent.parent / "harness" / "schema" / "results.schema.json"
SECRET = "sk-harness-test-0123456789"  # the API key the endpoint runs are given; it must never reach a file
LIMIT = "2"
TOLERANCE = 1e-4  # nats, per choice: llama.cpp's float32 against torch's

needs_server = pytest.mark.skipif(LLAMA_CPP_MISSING, reason=SKIP_REASON)


# ---------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def models(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three models: the tiny model with a BOS-adding tokenizer, another seed of it, and the plain tiny model."""
    from harness.models.tiny import build_tiny_model

    root = tmp_path_factory.mktemp("endpoint-models")
    return {
        "bos": build_tiny_model(root / "bos", add_bos=True),
        "other": build_tiny_model(root / "other", seed=1, add_bos=True),
        "plain": tiny_model,
    }


@pytest.fixture(scope="module")
def servers(models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LlamaServer]]:
    """A llama.cpp server for each model, each on its own port, stopped when the module's tests end."""
    if LLAMA_CPP_MISSING:
        pytest.skip(SKIP_REASON)
    from harness.models.gguf import convert_to_gguf

    root = tmp_path_factory.mktemp("servers")
    running: dict[str, LlamaServer] = {}
    try:
        for name, directory in models.items():
            gguf = convert_to_gguf(directory, root / f"{name}.gguf")
            running[name] = start_server(gguf, root / f"{name}.log")
        yield running
    finally:
        for server in running.values():
            server.stop()


@pytest.fixture(scope="module")
def short_data(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return short_mmlu(data_dir, tmp_path_factory.mktemp("short-mmlu"))


@pytest.fixture(scope="module")
def mmlu_runs(
    models: dict[str, Path], servers: dict[str, LlamaServer], short_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """MMLU of the BOS tiny model, run locally and through its server, in one harness home."""
    home = tmp_path_factory.mktemp("endpoint-home")
    out = tmp_path_factory.mktemp("endpoint-runs")
    common = ("--suites", "mmlu", "--limit", LIMIT, "--data-dir", str(short_data), "--out", str(out), "--json")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HARNESS_HOME", str(home))
        patch.setenv("HARNESS_ENDPOINT_API_KEY", SECRET)
        code, stdout, stderr = invoke("run", str(models["bos"]), *common)
        assert code == 0, stderr
        local = Path(json.loads(stdout)["run_dir"])
        code, stdout, stderr = invoke(
            "run",
            "--endpoint",
            servers["bos"].url,
            "--served-model",
            SERVED_NAME,
            "--tokenizer",
            str(models["bos"]),
            *common,
        )
        assert code == 0, stderr
    return {"local": local, "endpoint": Path(json.loads(stdout)["run_dir"]), "home": home}


def items(run_dir: Path) -> dict[str, dict]:
    lines = (run_dir / "items.jsonl").read_text(encoding="utf-8").splitlines()
    return {record["item_id"]: record for record in map(json.loads, lines)}


# ---------------------------------------------------------------------------------------------- equal numbers
@pytest.mark.slow
@needs_server
def test_mmlu_through_the_endpoint_equals_the_local_run_of_the_same_model(mmlu_runs: dict[str, Path]) -> None:
    local, remote = items(mmlu_runs["local"]), items(mmlu_runs["endpoint"])
    assert local.keys() == remote.keys() and len(local) == 57 * int(LIMIT)
    worst = 0.0
    for item_id, mine in local.items():
        theirs = remote[item_id]
        assert theirs["prompt_hash"] == mine["prompt_hash"], item_id  # the very same prompt
        assert len(theirs["loglikelihoods"]) == len(mine["loglikelihoods"]) == 4
        for a, b in zip(mine["loglikelihoods"], theirs["loglikelihoods"], strict=True):
            worst = max(worst, abs(a - b))
        assert (theirs["prediction"], theirs["correct"]) == (mine["prediction"], mine["correct"]), item_id
    assert worst < TOLERANCE, f"largest choice log-likelihood difference {worst:.2e}"
    accuracy = {
        name: json.loads((mmlu_runs[name] / "results.json").read_text())["metrics"] for name in ("local", "endpoint")
    }
    headline = {name: next(m for m in metrics if m["name"] == "mmlu.accuracy") for name, metrics in accuracy.items()}
    assert headline["endpoint"]["value"] == headline["local"]["value"]
    assert headline["endpoint"]["n"] == headline["local"]["n"] == 57 * int(LIMIT)


@pytest.mark.slow
@needs_server
def test_an_endpoint_run_gates_like_a_local_one(mmlu_runs: dict[str, Path]) -> None:
    verdicts = {}
    for name in ("local", "endpoint"):
        code, stdout, stderr = invoke("gate", str(mmlu_runs[name]), "--policy", "baseline-minimums", "--json")
        verdict = json.loads(stdout)
        verdicts[name] = (
            code,
            verdict["verdict"],
            [(r["rule_id"], r["outcome"], r["value"]) for r in verdict["outcomes"]],
        )
    assert verdicts["endpoint"] == verdicts["local"]
    assert verdicts["endpoint"][0] == 1  # the tiny model is far below the 60% MMLU minimum


@pytest.mark.slow
@needs_server
def test_an_endpoint_run_records_the_served_identity_and_never_the_api_key(
    mmlu_runs: dict[str, Path], servers: dict[str, LlamaServer], models: dict[str, Path]
) -> None:
    raw = json.loads((mmlu_runs["endpoint"] / "results.json").read_text(encoding="utf-8"))
    jsonschema.validate(raw, json.loads(SCHEMA.read_text(encoding="utf-8")))
    model = raw["model"]
    assert model["kind"] == "endpoint" and model["base"] == SERVED_NAME and model["adapter"] is None
    served_info = model["endpoint"]
    assert served_info["url"] == servers["bos"].url and served_info["served_model"] == SERVED_NAME
    assert served_info["listing"]["id"] == SERVED_NAME  # what /v1/models reported
    assert served_info["server"] == "llama.cpp"
    assert served_info["tokenizer_check"] == "passed" and "/extras/tokenize" in served_info["tokenizer_check_detail"]
    reference = EndpointRef(servers["bos"].url, SERVED_NAME, tokenizer=str(models["bos"]))
    assert served_info["tokenizer_sha256"] == reference.tokenizer_sha256
    assert served_info["fingerprint_method"] == "prompt-logprobs"
    assert model["identity_note"] == IDENTITY_NOTE and "weaker than a weight hash" in IDENTITY_NOTE
    spec = json.loads((mmlu_runs["endpoint"] / "run-spec.json").read_text(encoding="utf-8"))["spec"]
    assert spec["model"]["url"] == servers["bos"].url  # --resume finds the endpoint again
    for folder in (mmlu_runs["endpoint"], mmlu_runs["home"]):
        for path in folder.rglob("*"):
            if path.is_file():
                assert SECRET.encode() not in path.read_bytes(), f"the API key was written to {path}"


# ---------------------------------------------------------------------------------------------- refusals
@pytest.mark.slow
@needs_server
def test_a_server_that_tokenizes_differently_is_refused_before_scoring(
    servers: dict[str, LlamaServer], models: dict[str, Path], short_data: Path, tmp_path: Path
) -> None:
    server = servers["bos"]
    before = server.requests_seen("/v1/completions")
    code, stdout, stderr = invoke(
        "run",
        "--endpoint",
        server.url,
        "--served-model",
        SERVED_NAME,
        "--tokenizer",
        str(models["plain"]),  # the same vocabulary without BOS: every text is one token short
        "--suites",
        "mmlu",
        "--data-dir",
        str(short_data),
        "--out",
        str(tmp_path / "runs"),
    )
    assert code == 2
    message = stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert "tokenizes the probe text 'digits'" in message and "--skip-tokenizer-check" in message
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    assert server.requests_seen("/v1/completions") == before  # nothing was scored


@pytest.mark.slow
@needs_server
def test_a_server_whose_echo_cannot_be_lined_up_is_refused_before_a_loglikelihood_suite(
    servers: dict[str, LlamaServer], models: dict[str, Path], short_data: Path, tmp_path: Path
) -> None:
    # llama.cpp serving a tokenizer without BOS shifts every prompt log-probability by one token
    code, _, stderr = invoke(
        "run",
        "--endpoint",
        servers["plain"].url,
        "--served-model",
        SERVED_NAME,
        "--tokenizer",
        str(models["plain"]),
        "--suites",
        "mmlu",
        "--data-dir",
        str(short_data),
        "--out",
        str(tmp_path / "runs"),
    )
    assert code == 2
    assert len(stderr.strip().splitlines()) == 1
    assert "log-likelihood suites are refused" in stderr and "adds no BOS" in stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


# ---------------------------------------------------------------------------------------------- generation
@pytest.mark.slow
@needs_server
def test_a_generation_suite_runs_through_inspect_against_the_server_and_says_when_tokens_were_not_checked(
    servers: dict[str, LlamaServer], models: dict[str, Path], tmp_path: Path
) -> None:
    from inspect_ai.log import read_eval_log

    server = servers["bos"]
    before = server.requests_seen("/v1/chat/completions")
    code, stdout, stderr = invoke(
        "run",
        "--endpoint",
        server.url,
        "--served-model",
        SERVED_NAME,
        "--tokenizer",
        str(models["bos"]),
        "--skip-tokenizer-check",
        "--suites",
        "structured",
        "--limit",
        "2",
        "--out",
        str(tmp_path / "runs"),
        "--json",
    )
    assert code == 0, stderr
    run_dir = Path(json.loads(stdout)["run_dir"])
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    assert next(m for m in results["metrics"] if m["name"] == "structured.valid_json")["n"] > 0
    assert results["model"]["endpoint"]["tokenizer_check"] == "skipped"
    assert "--skip-tokenizer-check" in results["model"]["endpoint"]["tokenizer_check_detail"]
    assert results["model"]["identity_note"].endswith(SKIPPED_CHECK_NOTE)  # reports print the note
    assert server.requests_seen("/v1/chat/completions") > before
    (log_path,) = sorted((run_dir / "inspect" / "structured" / "logs").glob("*.eval"))
    log = read_eval_log(str(log_path))
    assert log.eval.model == f"openai-api/harness/{SERVED_NAME}" and log.eval.model_base_url == server.url
    config = log.eval.model_generate_config
    assert config.temperature == 0.0 and config.frequency_penalty == 0.0 and config.presence_penalty == 0.0
    assert config.extra_body == {"repeat_penalty": 1.0}  # llama.cpp's default of 1.1 is not greedy
    for record in items(run_dir).values():
        assert record["generated"] is not None


@pytest.mark.slow
@needs_server
def test_gsm8k_through_the_endpoint_answers_as_the_local_run_and_asks_by_chat_when_told(
    servers: dict[str, LlamaServer], models: dict[str, Path], data_dir: Path, tmp_path: Path
) -> None:
    server = servers["bos"]
    common = ("--suites", "gsm8k", "--limit", "1", "--num-fewshot", "1", "--data-dir", str(data_dir), "--json")
    served = ("--endpoint", server.url, "--served-model", SERVED_NAME, "--tokenizer", str(models["bos"]))
    runs = {}
    for name, args in {
        "local": (str(models["bos"]),),
        "completions": served,
        "chat": (*served, "--generation-api", "chat"),
    }.items():
        before = server.requests_seen("/v1/chat/completions")
        code, stdout, stderr = invoke("run", *args, *common, "--out", str(tmp_path / name))
        assert code == 0, f"{name}: {stderr}"
        runs[name] = items(Path(json.loads(stdout)["run_dir"]))
        asked_by_chat = server.requests_seen("/v1/chat/completions") > before
        assert asked_by_chat == (name == "chat"), name
    (item_id,) = runs["local"]
    local, remote, chat = runs["local"][item_id], runs["completions"][item_id], runs["chat"][item_id]
    # the very prompt, decoded greedily with neutral penalties on both sides: the same tokens. The tiny
    # model writes bytes that are not whole UTF-8 characters; transformers decodes each such run as
    # U+FFFD, llama.cpp's server leaves it out, so the texts agree once those marks are removed.
    assert remote["prompt_hash"] == local["prompt_hash"]
    assert remote["generated"] == local["generated"].replace("\ufffd", "")
    assert len(remote["generated"]) > 100 and remote["correct"] == local["correct"]
    assert chat["generated"] is not None and chat["prompt_hash"] != local["prompt_hash"]


@pytest.mark.slow
@needs_server
def test_an_interrupted_endpoint_run_resumes_from_its_spec_without_asking_again(
    servers: dict[str, LlamaServer], models: dict[str, Path], short_data: Path, data_dir: Path, tmp_path: Path
) -> None:
    from harness.engines.lm_eval_engine import LmEvalEngine
    from harness.runner.execute import execute_run
    from harness.schema.results import load_results

    class StopBeforeGsm8k(LmEvalEngine):
        """Ctrl-C once MMLU has finished."""

        def evaluate(self, model, tasks, work_dir, **selection):  # type: ignore[no-untyped-def]
            if tasks[0].suite == "gsm8k":
                raise KeyboardInterrupt
            return super().evaluate(model, tasks, work_dir, **selection)

    data = tmp_path / "data"
    (data / "mmlu").mkdir(parents=True)
    for split in ("test", "dev"):
        (data / "mmlu" / split).symlink_to(short_data / "mmlu" / split)
    (data / "gsm8k").symlink_to(data_dir / "gsm8k")
    server = servers["bos"]
    ref = EndpointRef(server.url, SERVED_NAME, tokenizer=str(models["bos"]))
    spec = RunSpec(model=ref, suites=["mmlu", "gsm8k"], data_dir=str(data), limit=1, gen_kwargs={"max_gen_toks": 8})
    runs = tmp_path / "runs"
    with pytest.raises(KeyboardInterrupt):
        execute_run(spec, runs, store=None, cache_root=None, engines={"lm-eval": StopBeforeGsm8k()})
    (run_dir,) = [p for p in runs.iterdir() if not p.name.startswith(".")]
    assert (run_dir / ".partial" / "mmlu.jsonl").is_file() and not (run_dir / "results.json").exists()

    code, _, stderr = invoke("run", "--resume", str(run_dir), "--served-model", "another", "--no-cache")
    assert code == 2 and "--served-model" in stderr  # a resume never mixes two served models
    asked = server.requests_seen("/v1/completions")
    code, stdout, stderr = invoke("run", "--resume", str(run_dir), "--no-cache", "--json")
    assert code == 0, stderr
    assert "mmlu: 57 items reused" in stderr
    result = load_results(run_dir)
    assert result.metric("mmlu.accuracy").n == 57 and result.metric("gsm8k.exact_match").n == 1
    assert result.cache["model_calls"] == 1  # only GSM8K's one generation reached the server
    # besides that one generation: only the checks (tokenizer, echo layout, fingerprint), never MMLU again
    assert server.requests_seen("/v1/completions") - asked < 20


# ---------------------------------------------------------------------------------------------- identity
@pytest.mark.slow
@needs_server
def test_the_behavioural_fingerprint_is_stable_and_changes_with_another_model(
    servers: dict[str, LlamaServer], models: dict[str, Path], mmlu_runs: dict[str, Path]
) -> None:
    def fingerprint(server: str, tokenizer: str) -> str:
        return EndpointRef(servers[server].url, SERVED_NAME, tokenizer=str(models[tokenizer])).fingerprint()

    first, second = fingerprint("bos", "bos"), fingerprint("bos", "bos")
    assert first == second
    assert json.loads((mmlu_runs["endpoint"] / "results.json").read_text())["model"]["fingerprint"] == first
    assert fingerprint("other", "bos") != first  # other weights under the same name and tokenizer
    assert fingerprint("plain", "plain") != first


# ---------------------------------------------------------------------------------------------- a server that echoes BOS
@pytest.mark.slow
def test_a_server_that_echoes_its_bos_gets_token_ids_and_equals_the_local_run(
    models: dict[str, Path], data_dir: Path, tmp_path: Path
) -> None:
    """vLLM keeps BOS in the echo: harness then sends token ids that start with BOS, so lm-eval's count includes it."""
    from harness.engines.base import EngineSettings
    from harness.engines.lm_eval_engine import LmEvalEngine
    from harness.suites.base import SuiteOptions
    from harness.suites.mmlu import MMLU
    from tests.llama_server import BosEchoingServer

    prepared = MMLU(("anatomy", "virology")).prepare(
        SuiteOptions(data_dir=data_dir, cache_dir=tmp_path / "cache", hub_allowed=False)
    )
    local = LmEvalEngine(EngineSettings()).evaluate(
        ModelRef(str(models["bos"])).load(), prepared.tasks, tmp_path / "local", limit=3
    )
    server = BosEchoingServer(models["bos"])
    try:
        ref = EndpointRef(server.url, SERVED_NAME, tokenizer=str(models["bos"]))
        ref.check()
        assert ref.flavour == "vllm" and ref.tokenizer_check.method == "vLLM's /tokenize, token by token"
        assert ref.check_prompt_logprobs() == "token-ids-with-bos"
        remote = LmEvalEngine(EngineSettings()).evaluate(ref.load(), prepared.tasks, tmp_path / "remote", limit=3)
    finally:
        server.stop()
    assert len(remote.records) == len(local.records) == 6
    for mine, theirs in zip(local.records, remote.records, strict=True):
        assert mine.item_id == theirs.item_id and mine.prompt_hash == theirs.prompt_hash
        assert theirs.loglikelihoods == pytest.approx(mine.loglikelihoods, abs=TOLERANCE)
        assert theirs.prediction == mine.prediction


# ---------------------------------------------------------------------------------------------- without a server
def test_an_endpoint_run_spec_round_trips_and_resume_names_a_changed_served_model() -> None:
    ref = EndpointRef("http://gpu-01:8000/v1", "org/model-7b", tokenizer="org/model-7b", concurrency=8)
    spec = RunSpec(model=ref, suites=["mmlu"], limit=5)
    again = RunSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec and isinstance(again.model, EndpointRef)
    other = RunSpec(model=EndpointRef("http://gpu-01:8000/v1", "org/model-7b-v2"), suites=["mmlu"], limit=5)
    with pytest.raises(InputError, match="--served-model org/model-7b, not org/model-7b-v2"):
        check_resume(spec, other, {"--served-model"})
    faster = RunSpec(
        model=EndpointRef("http://gpu-01:8000/v1", "org/model-7b", tokenizer="org/model-7b", concurrency=32),
        suites=["mmlu"],
        limit=5,
    )
    check_resume(spec, faster)  # concurrency changes how fast items are asked, not what is measured
    local = RunSpec(model=ModelRef("models/tiny"), suites=["mmlu"])
    assert RunSpec.from_dict(local.to_dict()) == local


@pytest.mark.parametrize(
    "url",
    ["http://user:secret@gpu-01:8000/v1", "https://gpu-01/v1?api_key=abc", "gpu-01:8000/v1", "ftp://gpu-01/v1"],
)
def test_an_endpoint_url_with_credentials_or_without_a_scheme_is_refused(url: str) -> None:
    with pytest.raises(InputError, match="--endpoint"):
        EndpointRef(url, "model")


def test_an_echo_answer_is_cut_where_the_server_says_its_answer_began() -> None:
    def answer(values: list[float | None], generated: int | None) -> dict:
        usage = {} if generated is None else {"usage": {"completion_tokens": generated}}
        tops = [None] + [{"x": v} for v in values[1:]]
        return {"choices": [{"logprobs": {"token_logprobs": values, "top_logprobs": tops}}]} | usage

    # llama.cpp generates past max_tokens 1 when the first token ends inside a UTF-8 character
    assert echoed_prompt(answer([None, -1.0, -2.0, -0.5, -0.1, -0.2], 3))[0] == [None, -1.0, -2.0]
    assert echoed_prompt(answer([None, -1.0, -2.0, -0.5], None))[0] == [None, -1.0, -2.0]  # one, unless told
    assert echoed_prompt(answer([None, -1.0, -2.0], 0))[0] == [None, -1.0, -2.0]  # the end token came first
    with pytest.raises(KeyError):
        echoed_prompt({"choices": [{"text": "no log-probabilities"}]})


@pytest.mark.slow
def test_lm_eval_reading_stops_when_an_echo_does_not_line_up_with_the_tokens_sent() -> None:
    from harness.engines.lm_eval_engine import _endpoint_lm_classes

    completions, _ = _endpoint_lm_classes()
    echo = {
        "choices": [
            {
                "index": 0,
                "logprobs": {"token_logprobs": [None, -1.0, -2.0, -3.0], "top_logprobs": [None] + [{"a": -1.0}] * 3},
            }
        ],
        "usage": {"completion_tokens": 1},
    }
    assert completions.parse_logprobs(outputs=[echo], tokens=[[5, 6, 7]], ctxlens=[2]) == [(-2.0, False)]
    with pytest.raises(ModelError, match="no longer line up"):
        completions.parse_logprobs(outputs=[echo], tokens=[[5, 6, 7, 8]], ctxlens=[2])


@pytest.mark.slow
def test_the_bos_tiny_model_differs_from_the_default_only_in_its_tokenizer(
    tiny_model: Path, models: dict[str, Path]
) -> None:
    from transformers import AutoTokenizer

    bos = models["bos"]
    for name in ("config.json", "generation_config.json", "model.safetensors", "tokenizer_config.json"):
        assert (bos / name).read_bytes() == (tiny_model / name).read_bytes(), name
    with_bos, without = AutoTokenizer.from_pretrained(bos), AutoTokenizer.from_pretrained(tiny_model)
    text = "Evacuate the village."
    assert with_bos(text)["input_ids"] == [with_bos.bos_token_id] + without(text)["input_ids"]
    assert with_bos(text, add_special_tokens=False)["input_ids"] == without(text)["input_ids"]
    assert (bos / "chat_template.jinja").read_text().startswith("{{ bos_token }}")


def test_the_gguf_converter_refuses_a_model_it_cannot_convert_faithfully(tmp_path: Path) -> None:
    from harness.models.gguf import convert_to_gguf

    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["GPT2LMHeadModel"]}))
    (tmp_path / "tokenizer.json").write_text(
        json.dumps({"model": {"type": "BPE"}, "pre_tokenizer": {"type": "ByteLevel"}})
    )
    (tmp_path / "tokenizer_config.json").write_text("{}")
    with pytest.raises(ModelError, match="only LlamaForCausalLM"):
        convert_to_gguf(tmp_path, tmp_path / "out.gguf")
