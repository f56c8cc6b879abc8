"""``harness intake``: every scorecard row right on models built to differ, read without loading weights.

The test models are built here: a transformers ``LlamaConfig`` (tiny hidden size), a
tokenizer from the tokenizers library, safetensors weights written with numpy (tensor
names and shapes of a Llama model), a model card or licence file. "good" has grouped-query
attention, 4096 tokens of context, a 32k vocabulary, a chat template and an MIT licence;
"poor" has none of these (multi-head attention, 512 tokens, a 1k vocabulary, no template,
a non-commercial licence) and a word-split tokenizer trained on English only.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import harness.cli
from harness.errors import InputError, PolicyError
from harness.intake.licence import classify_licence_text, licence_finding
from harness.intake.policy import load_intake_policy
from harness.intake.scorecard import exit_code, overall, run_intake
from harness.intake.tokenizer_checks import intake_texts
from harness.schema.results import ACCURACY, Environment, ModelInfo, RunResult, SuiteStatus
from tests.helpers import invoke

HIDDEN, LAYERS = 16, 2
CHAT = "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}</s>\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
NUMBERS = " ".join(str(n) for n in range(0, 3000, 7))
CODE = "def f(x):\n        return x\n    else:\n        pass\n"


def build_tokenizer(kind: str, vocab_size: int) -> Any:
    """A BPE tokenizer: "good" is byte-level with digits split one by one, "poor" splits on whitespace, English only."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    texts = intake_texts()
    if kind == "good":
        tokenizer = Tokenizer(models.BPE(unk_token=None))
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
        )
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=3000,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            special_tokens=["<unk>", "<s>", "</s>"],
            show_progress=False,
        )
        tokenizer.train_from_iterator([*texts.values(), CODE, CODE, NUMBERS], trainer=trainer)
    else:
        tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
        tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["[UNK]"], show_progress=False)
        tokenizer.train_from_iterator([texts["en"], NUMBERS], trainer=trainer)
    described = json.loads(tokenizer.to_str())
    vocab = described["model"]["vocab"]
    first = max(vocab.values()) + 1
    for index in range(vocab_size - tokenizer.get_vocab_size(with_added_tokens=True)):
        vocab[f"<filler{index}>"] = first + index  # unreachable (no merge makes them): they only size the vocabulary
    return Tokenizer.from_str(json.dumps(described))


def llama_shapes(vocab: int, heads: int, kv_heads: int) -> dict[str, tuple[int, ...]]:
    head = HIDDEN // heads
    shapes: dict[str, tuple[int, ...]] = {"model.embed_tokens.weight": (vocab, HIDDEN), "model.norm.weight": (HIDDEN,)}
    for layer in range(LAYERS):
        prefix = f"model.layers.{layer}"
        shapes |= {
            f"{prefix}.self_attn.q_proj.weight": (HIDDEN, HIDDEN),
            f"{prefix}.self_attn.k_proj.weight": (kv_heads * head, HIDDEN),
            f"{prefix}.self_attn.v_proj.weight": (kv_heads * head, HIDDEN),
            f"{prefix}.self_attn.o_proj.weight": (HIDDEN, HIDDEN),
            f"{prefix}.mlp.gate_proj.weight": (2 * HIDDEN, HIDDEN),
            f"{prefix}.mlp.up_proj.weight": (2 * HIDDEN, HIDDEN),
            f"{prefix}.mlp.down_proj.weight": (HIDDEN, 2 * HIDDEN),
            f"{prefix}.input_layernorm.weight": (HIDDEN,),
            f"{prefix}.post_attention_layernorm.weight": (HIDDEN,),
        }
    shapes["lm_head.weight"] = (vocab, HIDDEN)
    return shapes


def build_model(
    out: Path,
    *,
    kind: str = "good",
    gqa: bool = True,
    context: int = 4096,
    vocab: int = 32000,
    chat: bool = True,
    card_licence: str | None = "mit",
    licence_text: str | None = None,
) -> Path:
    """A model directory as the hub ships one, with small tensors (zeros) of the right names and shapes."""
    import math

    import numpy as np
    from safetensors.numpy import save_file
    from transformers import LlamaConfig

    out.mkdir(parents=True)
    tokenizer = build_tokenizer(kind, vocab)
    tokenizer.save(str(out / "tokenizer.json"))
    tokenizer_config: dict[str, Any] = {
        "unk_token": "<unk>" if kind == "good" else "[UNK]",
        "model_max_length": context,
    }
    if chat:
        tokenizer_config["chat_template"] = CHAT
    (out / "tokenizer_config.json").write_text(json.dumps(tokenizer_config), encoding="utf-8")
    heads = 4
    kv_heads = 2 if gqa else heads
    size = tokenizer.get_vocab_size(with_added_tokens=True)
    LlamaConfig(
        vocab_size=size,
        hidden_size=HIDDEN,
        intermediate_size=2 * HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=context,
    ).save_pretrained(out)
    shapes = llama_shapes(size, heads, kv_heads)
    save_file(
        {name: np.zeros(shape, dtype=np.float32) for name, shape in shapes.items()}, str(out / "model.safetensors")
    )
    (out / "parameters.txt").write_text(str(sum(math.prod(s) for s in shapes.values())), encoding="utf-8")
    if card_licence is not None:
        (out / "README.md").write_text(f"---\nlicense: {card_licence}\nlanguage: [en, el]\n---\n# Test model\n")
    if licence_text is not None:
        (out / "LICENSE").write_text(licence_text, encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("intake-models")
    return {
        "good": build_model(root / "good"),
        "poor": build_model(
            root / "poor", kind="poor", gqa=False, context=512, vocab=1000, chat=False, card_licence="cc-by-nc-4.0"
        ),
    }


@pytest.fixture
def no_weights_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything loads a model class or reads a tensor."""
    import transformers

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("intake must not load weights")

    monkeypatch.setattr(transformers.PreTrainedModel, "from_pretrained", classmethod(refuse))
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", refuse)
    import safetensors.numpy

    monkeypatch.setattr(safetensors.numpy, "load_file", refuse)


def rows_of(model: Path, **kwargs: Any) -> dict[str, Any]:
    return {r.id: r for r in run_intake(str(model), files_only=True, **kwargs).rows}


@pytest.mark.usefixtures("no_weights_loaded")
def test_every_row_is_right_on_the_good_model(models: dict[str, Path]) -> None:
    from tokenizers import Tokenizer

    rows = rows_of(models["good"])
    expected = {
        "licence": "pass",
        "decoder_only": "pass",
        "attention": "pass",
        "positional_encoding": "pass",
        "activation": "pass",
        "normalisation": "pass",
        "parameters": "info",
        "memory": "info",
        "context_length": "pass",
        "vocabulary": "pass",
        "tokenizer_algorithm": "pass",
        "chat_template": "pass",
        "digits": "pass",
        "whitespace": "pass",
        "unknown_tokens": "pass",
    }
    assert {k: rows[k].outcome for k in expected} == expected
    assert rows["licence"].value == "MIT"
    assert rows["attention"].value == "grouped-query attention, 4 query heads, 2 key/value heads"
    assert rows["context_length"].measured == 4096 and rows["vocabulary"].measured == 32000
    assert rows["activation"].value == "swiglu" and rows["normalisation"].value == "rmsnorm"
    assert rows["positional_encoding"].value == "rope"
    assert rows["parameters"].measured == int((models["good"] / "parameters.txt").read_text())
    assert rows["memory"].measured == pytest.approx(rows["parameters"].measured * 2 / 2**30)
    assert rows["digits"].value == "100% consistent; one token per digit"
    assert rows["unknown_tokens"].measured == 0.0
    tokenizer = Tokenizer.from_file(str(models["good"] / "tokenizer.json"))
    for language, text in intake_texts().items():
        ratio = len(text) / len(tokenizer.encode(text, add_special_tokens=False).ids)
        assert rows[f"chars_per_token.{language}"].measured == pytest.approx(ratio, abs=1e-4)
        assert rows[f"chars_per_token.{language}"].outcome == (
            "pass" if ratio > 4 else "warn" if ratio >= 3 else "fail"
        )


@pytest.mark.usefixtures("no_weights_loaded")
def test_every_row_is_right_on_the_poor_model(models: dict[str, Path]) -> None:
    rows = rows_of(models["poor"])
    assert rows["licence"].outcome == "fail" and rows["licence"].value.startswith("CC-BY-NC-4.0")
    assert "non-commercial" in rows["licence"].evidence
    assert rows["attention"].outcome == "warn"  # preferred only: it warns, it does not block
    assert rows["attention"].value == "multi-head attention, 4 heads"
    assert rows["context_length"].outcome == "fail" and rows["context_length"].measured == 512
    assert rows["vocabulary"].outcome == "fail" and rows["vocabulary"].measured == 1000
    assert rows["chat_template"].outcome == "fail" and rows["chat_template"].value == "absent"
    assert rows["tokenizer_algorithm"].outcome == "pass"  # still BPE
    assert rows["unknown_tokens"].outcome == "fail" and rows["unknown_tokens"].measured > 0.01  # Greek is unknown
    assert rows["whitespace"].outcome == "warn" and "do not decode back" in rows["whitespace"].value
    assert rows["digits"].outcome == "warn" and float(rows["digits"].measured) < 1.0


def test_intake_reads_no_weights_imports_no_torch_and_takes_under_two_seconds_of_cpu(
    models: dict[str, Path],
) -> None:
    program = textwrap.dedent(
        f"""
        import json, sys, time
        from harness.intake.scorecard import run_intake
        record = run_intake({str(models["good"])!r})
        print(json.dumps({{"cpu": time.process_time(), "torch": "torch" in sys.modules,
                          "transformers": "transformers" in sys.modules, "loaded": record.weights_loaded,
                          "verdict": record.verdict}}))
        """
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=120)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["torch"] is False and found["transformers"] is False and found["loaded"] is False
    assert found["cpu"] < 2.0, f"intake took {found['cpu']:.2f} s of CPU, interpreter start included"
    assert found["verdict"] == "incomplete"  # the benchmark minimums were not measured


@pytest.mark.parametrize(
    ("card", "text", "spdx", "status"),
    [
        ("apache-2.0", None, "Apache-2.0", "acceptable"),
        (
            None,
            "MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy",
            "MIT",
            "acceptable",
        ),
        ("llama3.1", None, "LicenseRef-Llama-3.1-Community", "conditions"),
        (None, "LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\n...", "LicenseRef-Llama-3.1-Community", "conditions"),
        ("cc-by-nc-4.0", None, "CC-BY-NC-4.0", "unacceptable"),
        ("cc-by-nd-4.0", None, "CC-BY-ND-4.0", "unacceptable"),
        (None, "Attribution-NonCommercial 4.0 International", "CC-BY-NC-4.0", "unacceptable"),
        ("other", None, None, "unknown"),
        (None, None, None, "unknown"),
        ("mit", "Attribution-NonCommercial 4.0 International", None, "unknown"),  # the files disagree
    ],
)
def test_licence_is_classed_from_the_card_or_the_licence_file(
    tmp_path: Path, card: str | None, text: str | None, spdx: str | None, status: str
) -> None:
    if card is not None:
        (tmp_path / "README.md").write_text(f"---\nlicense: {card}\n---\n# Model\n", encoding="utf-8")
    if text is not None:
        (tmp_path / "LICENSE").write_text(text, encoding="utf-8")
    finding = licence_finding(tmp_path)
    assert (finding.spdx, finding.status) == (spdx, status)
    if status == "conditions":
        assert "700 million monthly active users" in (finding.conditions or "")
    if card == "mit" and text:
        assert "disagree" in finding.reason


def test_bsd_texts_are_told_apart_by_their_third_clause() -> None:
    two = "Redistribution and use in source and binary forms, with or without modification, are permitted"
    assert classify_licence_text(two).spdx == "BSD-2-Clause"  # type: ignore[union-attr]
    assert classify_licence_text(two + "\n3. Neither the name of").spdx == "BSD-3-Clause"  # type: ignore[union-attr]
    assert classify_licence_text("All rights reserved.") is None


def run_of(model_fingerprint: str, run_id: str, metrics: dict[str, tuple[float, float, float, int]]) -> RunResult:
    measured = [
        ACCURACY.describe(
            ACCURACY.proportion(name, round(value * n), n, suite=name.split(".")[0]).model_copy(
                update={"ci_low": low, "ci_high": high}
            ),
            suite=name.split(".")[0],
            scope="headline",
        )
        for name, (value, low, high, n) in metrics.items()
    ]
    suites = sorted({name.split(".")[0] for name in metrics})
    return RunResult(
        run_id=run_id,
        created_at="2026-11-21T12:00:00+00:00",
        model=ModelInfo(base="m", fingerprint=model_fingerprint),
        suites=suites,
        suite_status={s: SuiteStatus(status="completed", n_items=100) for s in suites},
        metrics=measured,
        environment=Environment(python="3.11.7"),
    )


def test_benchmark_minimums_pass_only_when_clearly_above_and_name_the_run(models: dict[str, Path]) -> None:
    from harness.models.modelref import ModelRef

    fingerprint = ModelRef(str(models["good"])).fingerprint()
    run = run_of(
        fingerprint,
        "run-1",
        {
            "mmlu.accuracy": (0.70, 0.66, 0.74, 500),  # clearly above 60%
            "bbh.exact_match": (0.52, 0.48, 0.56, 500),  # above 50%, interval reaches it
            "truthfulqa.mc2": (0.45, 0.41, 0.49, 800),  # below 50%
        },
    )
    record = run_intake(str(models["good"]), runs=[run])
    rows = {r.id: r for r in record.rows}
    assert rows["benchmark.mmlu.accuracy"].outcome == "pass" and "run-1" in rows["benchmark.mmlu.accuracy"].evidence
    assert rows["benchmark.bbh.exact_match"].outcome == "warn"
    assert rows["benchmark.truthfulqa.mc2"].outcome == "fail"
    assert rows["benchmark.humaneval.pass_at_1"].outcome == "not-measured"
    assert "--suites humaneval" in rows["benchmark.humaneval.pass_at_1"].evidence
    assert record.verdict == "fail" and exit_code(record.verdict) == 1
    with pytest.raises(InputError, match="measured model sha256:"):
        run_intake(str(models["good"]), runs=[run_of("sha256:" + "0" * 64, "other", {})])


def test_the_verdict_orders_fail_before_incomplete_before_review_before_warn(models: dict[str, Path]) -> None:
    rows = run_intake(str(models["good"]), files_only=True).rows
    assert overall(rows) in ("pass", "warn")
    review = [r.model_copy(update={"outcome": "review"}) if r.id == "licence" else r for r in rows]
    assert overall(review) == "review" and exit_code("review") == 1
    missing = review + [rows[0].model_copy(update={"id": "x", "outcome": "not-measured"})]
    assert overall(missing) == "incomplete"
    assert overall(missing + [rows[0].model_copy(update={"id": "y", "outcome": "fail"})]) == "fail"
    assert exit_code("warn") == 0 and exit_code("pass") == 0


def test_the_shipped_intake_policy_carries_the_methodology_minimums() -> None:
    policy, identity = load_intake_policy("base-model-minimums")
    minimums = {b.metric: b.above for b in policy.benchmarks}
    assert minimums == {
        "mmlu.accuracy": 0.60,
        "bbh.exact_match": 0.50,
        "humaneval.pass_at_1": 0.30,
        "truthfulqa.mc2": 0.50,
    }
    checks = {c.row_id: c for c in policy.checks}
    assert (checks["context_length"].min, checks["context_length"].good) == (2048, 4096)
    assert (checks["vocabulary"].min, checks["vocabulary"].max) == (32000, 131072)
    assert (checks["chars_per_token.en"].min, checks["chars_per_token.en"].good) == (3, 4)
    assert identity.sha256 and all(c.why and c.source for c in policy.checks)


def test_an_intake_policy_with_a_setting_its_check_does_not_take_names_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text(
        "name: p\nchecks:\n  - check: chat_template\n    min: 3\n    why: w\n    source: s\n", encoding="utf-8"
    )
    with pytest.raises(PolicyError, match=r"p.yaml:3: checks.0: .*check chat_template takes no min"):
        load_intake_policy(bad)


@pytest.fixture
def intake_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """``harness intake`` as the CLI will list it (harness/cli/__init__.py COMMANDS)."""
    monkeypatch.setitem(harness.cli.COMMANDS, "intake", "harness.cli.intake:intake")


@pytest.mark.usefixtures("intake_command")
def test_intake_cli_prints_the_scorecard_writes_the_record_and_exits_by_verdict(
    models: dict[str, Path], tmp_path: Path
) -> None:
    code, stdout, stderr = invoke("intake", str(models["poor"]), "--files-only", "--out", str(tmp_path / "out"))
    assert code == 1, stderr
    assert "FAIL" in stdout and "Context length" in stdout and "verdict  FAIL" in stdout
    record = json.loads((tmp_path / "out" / "intake.json").read_text(encoding="utf-8"))
    assert record["schema"] == "harness.intake" and record["schema_version"] == "1"
    assert record["weights_loaded"] is False and record["scope"] == "files"
    assert (tmp_path / "out" / "intake.md").read_text(encoding="utf-8").startswith("# Intake: poor")
    code, stdout, _ = invoke("intake", str(models["good"]), "--files-only", "--json")
    assert code == 0 and json.loads(stdout)["verdict"] in ("pass", "warn")
    code, _, stderr = invoke("intake", str(tmp_path / "nowhere"))
    assert code == 2 and "harness: error:" in stderr


def test_an_adapter_is_named_in_the_record_with_its_rank_and_trainable_parameters(
    tiny_model: Path, tiny_adapter: Path
) -> None:
    base = run_intake(str(tiny_model), files_only=True)
    tuned = run_intake(str(tiny_model), adapter=str(tiny_adapter), files_only=True)
    assert tuned.model.adapter == str(tiny_adapter) and tuned.model.fingerprint != base.model.fingerprint
    adapter = tuned.architecture["adapter"]
    assert adapter["rank"] == 4 and adapter["target_modules"] == ["q_proj", "v_proj"]
    assert adapter["trainable_parameters"] > 0
    assert [r.outcome for r in tuned.rows] == [r.outcome for r in base.rows]  # the base's files decide the rows


def test_the_shipped_text_is_english_and_greek_and_marked_synthetic() -> None:
    from importlib.resources import files

    texts = intake_texts()
    assert set(texts) == {"en", "el"}
    greek = sum("\u0370" <= c <= "\u03ff" or "\u1f00" <= c <= "\u1fff" for c in texts["el"])
    assert greek > 0.6 * sum(c.isalpha() for c in texts["el"])
    readme = Path(str(files("harness.suites"))) / "data" / "intake" / "README.md"
    assert readme.read_text(encoding="utf-8").startswith("**Synthetic data written for harness**")
