"""``harness intake``: a base model's scorecard from its files, without loading its weights.

Read: ``config.json`` (architecture, context, vocabulary), the safetensors headers (parameter
count, stored dtype, tensor names), the tokenizer files (algorithm, vocabulary, chat template,
and measurements on the shipped English and Greek text: :mod:`harness.intake.tokenizer_checks`),
the model card's front matter and the licence file (:mod:`harness.intake.licence`). Benchmark
minimums are read from stored runs of the same model (same fingerprint). Nothing imports
torch or transformers, and no tensor is read.

Each row holds the measured value, the policy's threshold, an outcome (pass, warn, fail,
review: a person must decide, not-measured, info) and why it matters. The verdict is
``fail`` when a blocking row fails, else ``incomplete`` when a row was not measured, else
``review``, else ``warn``, else ``pass``; only pass and warn exit 0.
"""

from __future__ import annotations

import json
import struct
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness import __version__
from harness.errors import InputError, ModelError
from harness.intake.licence import licence_finding
from harness.intake.policy import Check, Minimum, load_intake_policy
from harness.intake.record import (
    IntakeRecord,
    IntakeRow,
    LicenceFinding,
    ModelIdentity,
    Outcome,
    Verdict,
)
from harness.intake.tokenizer_checks import (
    SPACE_RUN,
    TokenizerFiles,
    chars_per_token,
    chat_template,
    digit_handling,
    intake_texts,
    load_tokenizer,
    unknown_rate,
    whitespace_handling,
)
from harness.schema.results import RunResult

BYTES_PER_PARAMETER = {"float32": 4.0, "bfloat16": 2.0, "int8": 1.0, "int4": 0.5}
GIB = float(1 << 30)
EXIT_OK, EXIT_FAIL = 0, 1

DEFAULT_LABELS = {
    "licence": "Licence",
    "decoder_only": "Decoder-only transformer",
    "attention": "Attention",
    "positional_encoding": "Positional encoding",
    "activation": "Activation",
    "normalisation": "Normalisation",
    "parameters": "Parameters",
    "memory": "Memory for the weights",
    "context_length": "Context length",
    "vocabulary": "Vocabulary size",
    "tokenizer_algorithm": "Tokenizer algorithm",
    "chat_template": "Chat template",
    "chars_per_token": "Characters per token",
    "digits": "Number handling",
    "whitespace": "Whitespace handling",
    "unknown_tokens": "Unknown-token rate",
}

ROPE_FAMILIES = {
    "llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma", "gemma2", "gemma3_text",
    "phi", "phi3", "stablelm", "olmo", "olmo2", "gpt_neox", "gptj", "internlm2", "deepseek_v2", "deepseek_v3",
    "cohere", "granite", "starcoder2", "codegen", "persimmon", "falcon",
}  # fmt: skip
ALIBI_FAMILIES = {"bloom", "mpt"}
ABSOLUTE_FAMILIES = {"gpt2", "opt", "gpt_bigcode", "gpt_neo", "xglm", "biogpt"}
DECODER_FAMILIES = ROPE_FAMILIES | ALIBI_FAMILIES | ABSOLUTE_FAMILIES
ENCODER_SUFFIXES = ("ForMaskedLM", "ForSequenceClassification", "ForTokenClassification", "ForQuestionAnswering")
GATED_TENSORS = ("gate_proj", "gate_up_proj", "w1.weight", "w3.weight", "dense_h_to_4h_gate", "fc1_g")
GATED_FAMILIES = {"llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma", "gemma2",
                  "gemma3_text", "phi3", "olmo", "olmo2", "internlm2", "deepseek_v2", "deepseek_v3", "cohere",
                  "granite", "stablelm"}  # fmt: skip


# --------------------------------------------------------------------------- file facts
def safetensors_names(paths: list[Path]) -> list[str]:
    """Tensor names from the JSON headers of safetensors files (8-byte length, then the header)."""
    names: list[str] = []
    for path in paths:
        try:
            with open(path, "rb") as handle:
                (length,) = struct.unpack("<Q", handle.read(8))
                if length > 100_000_000:
                    raise ModelError(f"{path}: safetensors header of {length} bytes is not plausible")
                header = json.loads(handle.read(length))
        except (OSError, struct.error, ValueError) as exc:
            raise ModelError(f"{path}: cannot read its safetensors header ({exc})") from None
        names += [k for k in header if k != "__metadata__"]
    return names


def decoder_only(config: dict[str, Any]) -> tuple[bool | None, str]:
    """Whether the config describes a decoder-only transformer, and the evidence."""
    architectures = [str(a) for a in config.get("architectures") or []]
    model_type = str(config.get("model_type") or "")
    if config.get("is_encoder_decoder"):
        return False, f"config.json: is_encoder_decoder=true (model_type {model_type or '?'})"
    if any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in architectures):
        return True, f"config.json: architectures={architectures}"
    if any(a.endswith(ENCODER_SUFFIXES) for a in architectures):
        return False, f"config.json: architectures={architectures} (an encoder)"
    if model_type in DECODER_FAMILIES:
        return True, f"config.json: model_type={model_type}"
    return None, f"config.json: architectures={architectures or 'none'}, model_type={model_type or 'none'}"


def positional_encoding(config: dict[str, Any], names: list[str]) -> tuple[str | None, str]:
    """rope, alibi or absolute, and the evidence."""
    model_type = str(config.get("model_type") or "")
    attn = config.get("attn_config") if isinstance(config.get("attn_config"), dict) else {}
    assert isinstance(attn, dict)
    if config.get("alibi") or attn.get("alibi") or (model_type in ALIBI_FAMILIES and not config.get("rope_theta")):
        return "alibi", "config.json: alibi" if config.get("alibi") or attn.get("alibi") else f"model_type={model_type}"
    for key in ("rope_theta", "rope_scaling", "rope_parameters", "rotary_dim", "rotary_pct", "rotary_emb_base"):
        if config.get(key) is not None:
            return "rope", f"config.json: {key}={config[key]}"
    if any("rotary_emb" in n for n in names):
        return "rope", "safetensors: rotary_emb tensors"
    if any(n.endswith(("wpe.weight", "embed_positions.weight", "position_embeddings.weight")) for n in names):
        return "absolute", "safetensors: learned position embeddings"
    if model_type in ROPE_FAMILIES:
        return "rope", f"config.json: model_type={model_type}"
    if model_type in ABSOLUTE_FAMILIES:
        return "absolute", f"config.json: model_type={model_type}"
    return None, "no positional setting in config.json and no position tensors"


def activation(config: dict[str, Any], names: list[str]) -> tuple[str | None, str]:
    """swiglu, geglu or the plain activation's name, and the evidence."""
    act = next(
        (
            str(config[k])
            for k in ("hidden_act", "hidden_activation", "activation_function", "ffn_act")
            if config.get(k)
        ),
        None,
    )
    model_type = str(config.get("model_type") or "")
    gated_tensor = next((n for n in names if any(g in n for g in GATED_TENSORS)), None)
    gated = gated_tensor is not None or (not names and model_type in GATED_FAMILIES)
    evidence = f"config.json: activation {act or '?'}; " + (
        f"gated feed-forward ({gated_tensor})"
        if gated_tensor
        else "gated feed-forward (model type)"
        if gated
        else "no gate tensor"
    )
    if act is None:
        return None, evidence
    lowered = act.lower()
    if gated and lowered in ("silu", "swish", "swiglu"):
        return "swiglu", evidence
    if gated and lowered.startswith("gelu"):
        return "geglu", evidence
    return lowered, evidence


def normalisation(config: dict[str, Any], names: list[str]) -> tuple[str | None, str]:
    """rmsnorm or layernorm, and the evidence."""
    for key in ("rms_norm_eps", "rms_norm_epsilon"):
        if key in config:
            return "rmsnorm", f"config.json: {key}"
    for key in ("layer_norm_eps", "layer_norm_epsilon", "layernorm_epsilon", "norm_epsilon"):
        if key in config:
            return "layernorm", f"config.json: {key}"
    if any(("norm" in n or "ln_" in n) and n.endswith(".bias") for n in names):
        return "layernorm", "safetensors: normalisation tensors with a bias"
    return None, "no normalisation setting in config.json"


def sliding_window(config: dict[str, Any]) -> int | None:
    value = config.get("sliding_window")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


# --------------------------------------------------------------------------- judging
def _row(check: Check | Minimum, **fields: Any) -> IntakeRow:
    label = check.label if check.label else DEFAULT_LABELS.get(getattr(check, "check", ""), check.row_id)
    outcome: Outcome = fields.pop("outcome")
    if outcome == "fail" and check.severity == "warn":
        outcome = "warn"
    return IntakeRow(
        id=check.row_id,
        label=label,
        outcome=outcome,
        severity=check.severity,
        why=check.why,
        source=check.source,
        **fields,
    )


def _band(value: float, low: float, good: float | None) -> Outcome:
    """pass at or above ``good`` (or ``low`` when no good is set), warn between, fail below ``low``."""
    if value < low:
        return "fail"
    return "pass" if good is None or value >= good else "warn"


def _not_measured(check: Check, why: str, threshold: str) -> IntakeRow:
    return _row(check, value="not measured", threshold=threshold, outcome="not-measured", evidence=why)


def _fmt_int(value: int | None) -> str:
    return "unknown" if value is None else f"{value:,}"


class Facts:
    """Everything intake reads from a model's files, read once."""

    def __init__(self, base_dir: Path, adapter_dir: Path | None) -> None:
        from harness.models.architecture import model_architecture

        self.base_dir = base_dir
        self.config = _read_config(base_dir)
        self.architecture = model_architecture(base_dir, adapter_dir)
        self.names = safetensors_names(sorted(base_dir.glob("*.safetensors")))
        self.licence = licence_finding(base_dir)
        self.tokenizer = load_tokenizer(base_dir)
        self.template, self.template_file = chat_template(base_dir, self.tokenizer.config)
        self.measurements: dict[str, Any] = {}
        tok = self.tokenizer.tokenizer
        if tok is not None:
            texts = intake_texts()
            for language, text in texts.items():
                ratio, tokens = chars_per_token(tok, text)
                self.measurements[f"chars_per_token.{language}"] = {
                    "value": ratio,
                    "characters": len(text),
                    "tokens": tokens,
                }
            self.measurements["digits"] = digit_handling(tok).__dict__
            self.measurements["whitespace"] = whitespace_handling(tok).__dict__
            rate, unknown, total = unknown_rate(tok, list(texts.values()), self.tokenizer.unk_token)
            self.measurements["unknown_tokens"] = {"rate": rate, "unknown": unknown, "tokens": total}
            self.measurements["vocab_size"] = tok.get_vocab_size(with_added_tokens=True)

    def tokenizer_facts(self) -> dict[str, Any]:
        files: TokenizerFiles = self.tokenizer
        return {
            "source": files.source,
            "algorithm": files.algorithm,
            "detail": files.detail,
            "byte_level": files.byte_level,
            "unk_token": files.unk_token,
            "chat_template_file": self.template_file,
            "chat_template_sha256": _sha256(self.template) if self.template else None,
            "problem": files.problem,
            **self.measurements,
        }


def _sha256(text: str) -> str:
    from harness.files.hashing import sha256_text

    return sha256_text(text)


def _read_config(base_dir: Path) -> dict[str, Any]:
    path = base_dir / "config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{base_dir}: no config.json (is it a Hugging Face model directory?)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: expected a JSON object")
    return data


def judge_check(check: Check, facts: Facts) -> IntakeRow:
    """The row of one check, from the model's facts."""
    arch, config, names = facts.architecture, facts.config, facts.names
    name = check.check
    if name == "licence":
        return _licence_row(check, facts.licence)
    if name == "decoder_only":
        found, evidence = decoder_only(config)
        value = {True: "decoder-only", False: "not decoder-only", None: "unknown"}[found]
        outcome: Outcome = "pass" if found else "fail" if found is False else "review"
        return _row(check, value=value, measured=found, threshold="required", outcome=outcome, evidence=evidence)
    if name == "attention":
        heads, kv = arch.attention_heads, arch.kv_heads or arch.attention_heads
        if heads is None:
            return _not_measured(check, "config.json gives no attention head count", "grouped-query preferred")
        grouped = kv is not None and kv < heads
        return _row(
            check,
            value=arch.attention or "unknown",
            measured=grouped,
            threshold="grouped-query (fewer key/value heads than query heads) preferred",
            outcome="pass" if grouped else "fail",
            evidence=f"config.json: {heads} attention heads, {kv} key/value heads",
        )
    if name == "positional_encoding":
        kind, evidence = positional_encoding(config, names)
        accepted = [a.lower() for a in check.accept or []]
        threshold = f"one of {', '.join(accepted)}" + (f"; {check.prefer} preferred" if check.prefer else "")
        if kind is None:
            return _row(check, value="unknown", threshold=threshold, outcome="review", evidence=evidence)
        outcome = "fail" if kind not in accepted else "pass" if not check.prefer or kind == check.prefer else "warn"
        return _row(check, value=kind, measured=kind, threshold=threshold, outcome=outcome, evidence=evidence)
    if name in ("activation", "normalisation"):
        kind, evidence = (activation if name == "activation" else normalisation)(config, names)
        threshold = f"{check.prefer} preferred"
        if kind is None:
            return _row(check, value="unknown", threshold=threshold, outcome="review", evidence=evidence)
        ok = check.prefer is None or kind == check.prefer
        return _row(
            check, value=kind, measured=kind, threshold=threshold, outcome="pass" if ok else "fail", evidence=evidence
        )
    if name == "parameters":
        return _parameters_row(check, facts)
    if name == "memory":
        return _memory_row(check, facts)
    if name == "context_length":
        length = arch.context_length
        threshold = (
            f">= {check.good:,.0f} pass, {check.min:,.0f}-{check.good:,.0f} warn, < {check.min:,.0f} fail"
            if check.good
            else f">= {check.min:,.0f}"
        )
        if length is None:
            return _not_measured(check, "config.json gives no context length", threshold)
        window = sliding_window(config)
        value = f"{length:,} tokens" + (f" (sliding window {window:,})" if window else "")
        return _row(
            check,
            value=value,
            measured=length,
            threshold=threshold,
            outcome=_band(length, float(check.min or 0), check.good),
            evidence="config.json: max_position_embeddings (or its alias)",
        )
    if name == "vocabulary":
        return _vocabulary_row(check, facts)
    if name == "tokenizer_algorithm":
        files = facts.tokenizer
        accepted = check.accept or []
        threshold = " or ".join(accepted)
        if files.algorithm is None:
            return _not_measured(check, files.problem or "no tokenizer", threshold)
        ok = files.algorithm in accepted
        return _row(
            check,
            value=files.detail,
            measured=files.algorithm,
            threshold=threshold,
            outcome="pass" if ok else "fail",
            evidence=f"{files.source}: model.type {files.algorithm}",
        )
    if name == "chat_template":
        present = facts.template is not None
        return _row(
            check,
            value=f"present ({facts.template_file})" if present else "absent",
            measured=present,
            threshold="required",
            outcome="pass" if present else "fail",
            evidence=facts.template_file or "no chat_template in tokenizer_config.json, no chat_template.jinja/.json",
        )
    if name == "chars_per_token":
        return _chars_row(check, facts)
    if name == "digits":
        return _digits_row(check, facts)
    if name == "whitespace":
        return _whitespace_row(check, facts)
    return _unknown_tokens_row(check, facts)


def _licence_row(check: Check, finding: LicenceFinding) -> IntakeRow:
    conditions_outcome: Outcome = check.conditions or "warn"
    outcome: Outcome = {
        "acceptable": "pass",
        "conditions": conditions_outcome,
        "unacceptable": "fail",
        "unknown": "review",
    }[finding.status]
    value = finding.spdx or "unknown"
    value += {
        "acceptable": "",
        "conditions": " (acceptable with conditions)",
        "unacceptable": " (unacceptable)",
        "unknown": " (a person must read it)",
    }[finding.status]
    evidence = finding.reason + (f"; conditions: {finding.conditions}" if finding.conditions else "")
    return _row(
        check,
        value=value,
        measured=finding.status,
        threshold="permissive (Apache-2.0, MIT, BSD); with conditions warns; non-commercial or no-derivatives fails",
        outcome=outcome,
        evidence=evidence,
    )


def _parameters_row(check: Check, facts: Facts) -> IntakeRow:
    from harness.models.architecture import describe_parameters

    arch = facts.architecture
    threshold = f"<= {check.max:,.0f}" if check.max is not None else "no threshold (reported)"
    if arch.parameters is None:
        return _not_measured(check, "no safetensors weights to count", threshold)
    outcome: Outcome = "info" if check.max is None else "pass" if arch.parameters <= check.max else "fail"
    stored = f"; stored as {arch.stored_dtype}" if arch.stored_dtype else ""
    return _row(
        check,
        value=describe_parameters(arch.parameters) + stored,
        measured=arch.parameters,
        threshold=threshold,
        outcome=outcome,
        evidence=f"safetensors headers of {len(arch.weight_files)} file(s), {arch.tensors} tensors",
    )


def memory_gib(parameters: int) -> dict[str, float]:
    """GiB the weights alone take in each precision (parameters times bytes per parameter)."""
    return {dtype: parameters * size / GIB for dtype, size in BYTES_PER_PARAMETER.items()}


def _memory_row(check: Check, facts: Facts) -> IntakeRow:
    arch = facts.architecture
    dtype = check.dtype or "bfloat16"
    threshold = f"{dtype} <= {check.max:g} GiB" if check.max is not None else "no threshold (reported)"
    if arch.parameters is None:
        return _not_measured(check, "no safetensors weights to count", threshold)
    sizes = memory_gib(arch.parameters)
    value = " · ".join(f"{d} {_gib(v)}" for d, v in sizes.items()) + " (weights only)"
    outcome: Outcome = "info" if check.max is None else "pass" if sizes[dtype] <= check.max else "fail"
    return _row(
        check,
        value=value,
        measured=sizes[dtype],
        threshold=threshold,
        outcome=outcome,
        evidence="parameters x bytes per parameter (4, 2, 1, 0.5); the key/value cache and activations come on top",
    )


def _gib(value: float) -> str:
    return f"{value:.3g} GiB" if value >= 0.01 else f"{value * 1024:.3g} MiB"


def _vocabulary_row(check: Check, facts: Facts) -> IntakeRow:
    tokenizer_size = facts.measurements.get("vocab_size")
    config_size = facts.architecture.vocab_size
    size = tokenizer_size if isinstance(tokenizer_size, int) else config_size
    low, high = check.min or 0.0, check.max
    threshold = f"{low:,.0f}-{high:,.0f}" if high is not None else f">= {low:,.0f}"
    if size is None:
        return _not_measured(check, "neither the tokenizer nor config.json gives a vocabulary size", threshold)
    outcome: Outcome = "fail" if size < low else "warn" if high is not None and size > high else "pass"
    evidence = f"tokenizer: {_fmt_int(tokenizer_size if isinstance(tokenizer_size, int) else None)} tokens; config.json vocab_size {_fmt_int(config_size)}"
    return _row(check, value=f"{size:,} tokens", measured=size, threshold=threshold, outcome=outcome, evidence=evidence)


def _chars_row(check: Check, facts: Facts) -> IntakeRow:
    key = f"chars_per_token.{check.language}"
    low, good = float(check.min or 0), check.good
    threshold = f"> {good:g} pass, {low:g}-{good:g} warn, < {low:g} fail" if good is not None else f">= {low:g}"
    found = facts.measurements.get(key)
    if not found:
        why = facts.tokenizer.problem or f"no shipped text in language {check.language!r}"
        return _not_measured(check, why, threshold)
    value = float(found["value"])
    outcome: Outcome = "fail" if value < low else "pass" if good is None or value > good else "warn"
    return _row(
        check,
        value=f"{value:.2f} characters per token",
        measured=round(value, 4),
        threshold=threshold,
        outcome=outcome,
        evidence=f"{found['characters']:,} characters of the shipped {check.language} emergency-response text in {found['tokens']:,} tokens",
    )


def _digits_row(check: Check, facts: Facts) -> IntakeRow:
    threshold = f"every number of a length split the same way (consistency >= {check.min or 1.0:.0%})"
    found = facts.measurements.get("digits")
    if not found:
        return _not_measured(check, facts.tokenizer.problem or "no tokenizer", threshold)
    consistency, largest = float(found["consistency"]), int(found["largest_group"])
    splits = ", ".join(f"{n}-digit {s}" for n, s in found["splits"].items())
    grouping = "one token per digit" if largest == 1 else f"up to {largest} digits per token"
    return _row(
        check,
        value=f"{consistency:.0%} consistent; {grouping}",
        measured=round(consistency, 4),
        threshold=threshold,
        outcome="pass" if consistency >= (check.min or 1.0) else "fail",
        evidence=f"{found['numbers']} numbers of 1-6 digits in a sentence; most common splits: {splits}",
    )


def _whitespace_row(check: Check, facts: Facts) -> IntakeRow:
    threshold = f"round trip exact; a run of {SPACE_RUN} spaces in fewer than {SPACE_RUN} tokens"
    found = facts.measurements.get("whitespace")
    if not found:
        return _not_measured(check, facts.tokenizer.problem or "no tokenizer", threshold)
    round_trip, run = bool(found["round_trip"]), int(found["tokens_for_space_run"])
    merged = 0 < run < SPACE_RUN
    parts = ["decodes back exactly" if round_trip else f"{len(found['failures'])} text(s) do not decode back"]
    if run == 0:
        parts.append(f"a run of {SPACE_RUN} spaces is dropped")
    else:
        parts.append(f"{SPACE_RUN} spaces in {run} token{'s' if run != 1 else ''}")
    return _row(
        check,
        value="; ".join(parts),
        measured=round_trip and merged,
        threshold=threshold,
        outcome="pass" if round_trip and merged else "fail",
        evidence="indentation, tabs, blank lines and runs of spaces encoded and decoded"
        + (f"; first failure: {found['failures'][0]!r}" if found["failures"] else ""),
    )


def _unknown_tokens_row(check: Check, facts: Facts) -> IntakeRow:
    high, warn_until = float(check.max or 0.0), check.warn_until
    threshold = f"<= {high:.2%} pass" + (f", up to {warn_until:.2%} warn" if warn_until is not None else "")
    found = facts.measurements.get("unknown_tokens")
    if not found:
        return _not_measured(check, facts.tokenizer.problem or "no tokenizer", threshold)
    rate = float(found["rate"])
    outcome: Outcome = "pass" if rate <= high else "warn" if warn_until is not None and rate <= warn_until else "fail"
    byte_note = " (byte-level: no character is unknown)" if facts.tokenizer.byte_level and rate == 0 else ""
    return _row(
        check,
        value=f"{rate:.2%} ({found['unknown']} of {found['tokens']:,} tokens){byte_note}",
        measured=rate,
        threshold=threshold,
        outcome=outcome,
        evidence=f"English and Greek shipped text; unknown token {facts.tokenizer.unk_token!r}",
    )


def judge_minimum(minimum: Minimum, runs: list[RunResult]) -> IntakeRow:
    """A benchmark minimum from the newest run that measured the metric: pass only when clearly above."""
    threshold = f"> {minimum.above:.0%}"
    measured = sorted(
        ((r, m) for r in runs if (m := r.metric(minimum.metric)) is not None and m.value is not None),
        key=lambda pair: pair[0].created_at,
    )
    if not measured:
        return _row(
            minimum,
            value="not measured",
            threshold=threshold,
            outcome="not-measured",
            evidence=f"no run given measured {minimum.metric}: harness run MODEL --suites {minimum.suite}",
        )
    run, metric = measured[-1]
    value = float(metric.value or 0.0)
    interval = ""
    if metric.ci_low is not None and metric.ci_high is not None:
        interval = f" [{metric.ci_low:.1%}, {metric.ci_high:.1%}]"
    if value <= minimum.above:
        outcome: Outcome = "fail"
        note = "at or below the minimum"
    elif metric.ci_low is not None and metric.ci_low <= minimum.above:
        outcome, note = "warn", "above the minimum, but its 95% interval reaches it"
    else:
        outcome, note = "pass", "above the minimum, its 95% interval too"
    return _row(
        minimum,
        value=f"{value:.1%}{interval} n={metric.n}",
        measured=value,
        ci_low=metric.ci_low,
        ci_high=metric.ci_high,
        n=metric.n,
        threshold=threshold,
        outcome=outcome,
        evidence=f"run {run.run_id} ({metric.ci_method or 'no interval'}): {note}",
    )


def overall(rows: list[IntakeRow]) -> Verdict:
    """fail > incomplete > review > warn > pass (see the module docstring)."""
    outcomes = {r.outcome for r in rows}
    if "fail" in outcomes:
        return "fail"
    if "not-measured" in outcomes:
        return "incomplete"
    if "review" in outcomes:
        return "review"
    return "warn" if "warn" in outcomes else "pass"


def exit_code(verdict: Verdict) -> int:
    return EXIT_OK if verdict in ("pass", "warn") else EXIT_FAIL


def model_name(base: str) -> str:
    path = Path(base)
    return path.name if path.name else base


def run_intake(
    base: str,
    *,
    adapter: str | None = None,
    policy: str | Path = "base-model-minimums",
    runs: list[RunResult] | None = None,
    files_only: bool = False,
) -> IntakeRecord:
    """The scorecard of ``base`` (and ``adapter``) under ``policy``; ``runs`` fill the benchmark rows.

    Every run must have measured exactly this model (the same fingerprint); ``files_only``
    leaves the benchmark rows out, so the verdict covers the files alone.
    """
    from harness.models.modelref import ModelRef

    started = time.process_time()
    loaded_policy, identity = load_intake_policy(policy)
    ref = ModelRef(base, adapter=adapter)
    ref.check()
    fingerprint = ref.fingerprint()
    runs = list(runs or [])
    for run in runs:
        if run.model.fingerprint != fingerprint:
            raise InputError(
                f"run {run.run_id} measured model {run.model.fingerprint}, not {base} ({fingerprint}): "
                "give runs of this model"
            )
    facts = Facts(ref.base_dir, ref.adapter_dir)
    rows = [judge_check(check, facts) for check in loaded_policy.checks]
    if not files_only:
        rows += [judge_minimum(minimum, runs) for minimum in loaded_policy.benchmarks]
    return IntakeRecord(
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        harness_version=__version__,
        model=ModelIdentity(
            name=model_name(base), base=base, adapter=adapter, fingerprint=fingerprint, vouches_for=ref.vouches_for
        ),
        policy=identity,
        scope="files" if files_only else "files+benchmarks",
        verdict=overall(rows),
        rows=rows,
        licence=facts.licence,
        architecture=_architecture_facts(facts),
        tokenizer=facts.tokenizer_facts(),
        runs=[r.run_id for r in runs],
        cpu_seconds=round(time.process_time() - started, 4),
    )


def _architecture_facts(facts: Facts) -> dict[str, Any]:
    out = facts.architecture.to_dict()
    sizes = memory_gib(facts.architecture.parameters) if facts.architecture.parameters else {}
    out |= {
        "decoder_only": decoder_only(facts.config)[0],
        "positional_encoding": positional_encoding(facts.config, facts.names)[0],
        "activation": activation(facts.config, facts.names)[0],
        "normalisation": normalisation(facts.config, facts.names)[0],
        "sliding_window": sliding_window(facts.config),
        "memory_gib": {k: round(v, 4) for k, v in sizes.items()},
    }
    return out
