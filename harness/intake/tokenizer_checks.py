"""A base model's tokenizer, measured from its files with the ``tokenizers`` library (no transformers, no torch).

The methodology's tokenizer-efficiency check asks for a vocabulary of 32k-128k tokens built by
BPE or SentencePiece, more than 4 characters per token on the text the model will read (under
3 is wasteful), and good handling of numbers, whitespace and punctuation; Greek where the
deployment needs it. What harness measures:

- characters per token: code points of the shipped English and Greek emergency-response
  text (``suites/data/intake/texts.jsonl``) divided by the tokens encoding it without special
  tokens;
- digit handling: 40 numbers of each length from 1 to 6 digits (seeded), each inside a
  sentence; the split of a number is the tuple of digit counts of the tokens covering it. The
  split is *consistent* when every number of one length is split the same way (a rule such as
  one digit per token or groups of three), which is the share reported; the methodology counts
  one token per digit as poor number handling, so the largest group is reported as well;
- whitespace: texts with runs of spaces, tabs, blank lines and indentation must decode back to
  themselves exactly, and a run of eight spaces should take fewer than eight tokens (the
  methodology's red flag: each space one token);
- unknown tokens: the share of tokens of the English and Greek text that are the tokenizer's
  unknown token (a byte-level or byte-fallback tokenizer has none by construction).
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import DataError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

CHAT_TEMPLATE_FILES = ("chat_template.jinja", "chat_template.json")
NUMBER_LENGTHS = range(1, 7)
NUMBERS_PER_LENGTH = 40
NUMBER_SEED = 1234
WHITESPACE_TEXTS = (
    "Step 1:\n    call 112 and wait\n\tthen report",
    "wind  35 km/h,   gusts   60",
    "first line\n\nthird line\n\n\nsixth line",
    "if smoke:\n        evacuate()\n    else:\n        hold()",
    "trailing spaces   \nnext line",
)
SPACE_RUN = 8


@dataclass
class TokenizerFiles:
    """The tokenizer as its files give it: the loaded ``tokenizers`` object (if any) and its settings."""

    tokenizer: Tokenizer | None
    source: str | None  # the file it was built from
    algorithm: str | None  # BPE, Unigram, WordPiece, WordLevel
    detail: str  # e.g. "BPE, byte-level" / "Unigram (SentencePiece)"
    config: dict[str, Any] = field(default_factory=dict)  # tokenizer_config.json
    unk_token: str | None = None
    byte_level: bool = False
    problem: str | None = None  # why nothing could be measured


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a readable JSON file ({exc})") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object")
    return data


def _token_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return str(value["content"])
    return None


def load_tokenizer(model_dir: Path) -> TokenizerFiles:
    """The tokenizer of ``model_dir`` from ``tokenizer.json`` (or GPT-2 style ``vocab.json`` + ``merges.txt``)."""
    from tokenizers import Tokenizer

    config_path = model_dir / "tokenizer_config.json"
    config = _read_json(config_path) if config_path.is_file() else {}
    unk = _token_text(config.get("unk_token"))
    path = model_dir / "tokenizer.json"
    if path.is_file():
        described = _read_json(path)
        model = described.get("model") if isinstance(described.get("model"), dict) else {}
        assert isinstance(model, dict)
        algorithm = str(model.get("type") or "unknown")
        byte_level = _uses_byte_level(described) or bool(model.get("byte_fallback"))
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # the Rust library raises its own exception types
            raise DataError(f"{path}: the tokenizers library cannot read it ({str(exc).splitlines()[0]})") from None
        model_unk = model.get("unk_token")
        if unk is None and isinstance(model_unk, str):
            unk = model_unk
        if unk is None and algorithm == "Unigram" and isinstance(model.get("unk_id"), int):
            unk = tokenizer.id_to_token(int(model["unk_id"]))
        return TokenizerFiles(
            tokenizer, path.name, algorithm, _detail(algorithm, described, model), config, unk, byte_level
        )
    vocab, merges = model_dir / "vocab.json", model_dir / "merges.txt"
    if vocab.is_file() and merges.is_file():
        from tokenizers.implementations import ByteLevelBPETokenizer

        built = ByteLevelBPETokenizer(str(vocab), str(merges))
        return TokenizerFiles(
            built._tokenizer, "vocab.json + merges.txt", "BPE", "BPE, byte-level (GPT-2 style files)", config, unk, True
        )
    if (model_dir / "tokenizer.model").is_file():
        return TokenizerFiles(
            None,
            "tokenizer.model",
            "Unigram",
            "SentencePiece model (tokenizer.model)",
            config,
            unk,
            problem="only a SentencePiece tokenizer.model: save the tokenizer as tokenizer.json "
            "(transformers AutoTokenizer ... save_pretrained) to measure it",
        )
    return TokenizerFiles(None, None, None, "no tokenizer files", config, unk, problem="no tokenizer files found")


def _uses_byte_level(described: dict[str, Any]) -> bool:
    def walk(node: Any) -> bool:
        if isinstance(node, dict):
            return node.get("type") == "ByteLevel" or any(walk(v) for v in node.values())
        if isinstance(node, list):
            return any(walk(v) for v in node)
        return False

    return walk(described.get("pre_tokenizer")) or walk(described.get("decoder"))


def _detail(algorithm: str, described: dict[str, Any], model: dict[str, Any]) -> str:
    if algorithm == "Unigram":
        return "Unigram (SentencePiece)"
    if algorithm == "BPE":
        if _uses_byte_level(described):
            return "BPE, byte-level"
        if model.get("byte_fallback"):
            return "BPE with byte fallback (SentencePiece)"
        return "BPE"
    return algorithm


def chat_template(model_dir: Path, config: dict[str, Any]) -> tuple[str | None, str | None]:
    """(the chat template, the file holding it), from tokenizer_config.json or a chat_template file."""
    value = config.get("chat_template")
    if isinstance(value, str) and value.strip():
        return value, "tokenizer_config.json"
    if isinstance(value, list):  # named templates: [{"name": "default", "template": "..."}]
        named = {str(t.get("name")): t.get("template") for t in value if isinstance(t, dict)}
        chosen = named.get("default") or next(iter(named.values()), None)
        if isinstance(chosen, str) and chosen.strip():
            return chosen, "tokenizer_config.json"
    jinja = model_dir / "chat_template.jinja"
    if jinja.is_file():
        text = jinja.read_text(encoding="utf-8", errors="replace")
        if text.strip():
            return text, jinja.name
    as_json = model_dir / "chat_template.json"
    if as_json.is_file():
        template = _read_json(as_json).get("chat_template")
        if isinstance(template, str) and template.strip():
            return template, as_json.name
    return None, None


def intake_texts() -> dict[str, str]:
    """The shipped emergency-response text per language (``en``, ``el``), paragraphs joined by blank lines."""
    from importlib.resources import files

    path = Path(str(files("harness.suites"))) / "data" / "intake" / "texts.jsonl"
    by_language: dict[str, list[str]] = defaultdict(list)
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise DataError(f"{path}:{lineno}: expected an object with language and text")
        by_language[str(row["language"])].append(row["text"])
    return {language: "\n\n".join(parts) for language, parts in by_language.items()}


def chars_per_token(tokenizer: Tokenizer, text: str) -> tuple[float, int]:
    """(characters per token, tokens) of ``text`` encoded without special tokens."""
    tokens = len(tokenizer.encode(text, add_special_tokens=False).ids)
    return (len(text) / tokens if tokens else 0.0), tokens


@dataclass(frozen=True)
class DigitFinding:
    consistency: float  # share of numbers split like most numbers of their length
    largest_group: int  # most digits one token held
    splits: dict[int, str]  # digits -> the most common split, e.g. {4: "3+1"}
    numbers: int


def sample_numbers() -> list[str]:
    """40 numbers of each length from 1 to 6 digits (no leading zero), the same on every machine."""
    draw = random.Random(NUMBER_SEED)
    numbers = []
    for length in NUMBER_LENGTHS:
        low, high = (0 if length == 1 else 10 ** (length - 1)), 10**length - 1
        numbers += [str(draw.randint(low, high)) for _ in range(NUMBERS_PER_LENGTH)]
    return numbers


def digit_split(tokenizer: Tokenizer, number: str) -> tuple[int, ...]:
    """Digits held by each token covering ``number`` written in a sentence."""
    prefix = "The gauge reads "
    text = f"{prefix}{number} cm today."
    start, end = len(prefix), len(prefix) + len(number)
    encoding = tokenizer.encode(text, add_special_tokens=False)
    split = []
    for low, high in encoding.offsets:
        overlap = text[max(low, start) : min(high, end)]
        digits = sum(c.isdigit() for c in overlap)
        if digits:
            split.append(digits)
    return tuple(split)


def digit_handling(tokenizer: Tokenizer) -> DigitFinding:
    """How numbers are split (see the module docstring)."""
    by_length: dict[int, list[tuple[int, ...]]] = defaultdict(list)
    numbers = sample_numbers()
    for number in numbers:
        by_length[len(number)].append(digit_split(tokenizer, number))
    consistent, largest, splits = 0, 0, {}
    for length, found in sorted(by_length.items()):
        common, count = Counter(found).most_common(1)[0]
        consistent += count
        largest = max(largest, *(max(s, default=0) for s in found))
        splits[length] = "+".join(str(d) for d in common)
    return DigitFinding(consistent / len(numbers), largest, splits, len(numbers))


@dataclass(frozen=True)
class WhitespaceFinding:
    round_trip: bool
    failures: list[str]
    tokens_for_space_run: int  # tokens covering a run of SPACE_RUN spaces between two words


def whitespace_handling(tokenizer: Tokenizer) -> WhitespaceFinding:
    """Whether whitespace survives encode + decode, and how many tokens a run of eight spaces takes."""
    failures = []
    for text in WHITESPACE_TEXTS:
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        if tokenizer.decode(ids, skip_special_tokens=False) != text:
            failures.append(text)
    text = "a" + " " * SPACE_RUN + "b"
    encoding = tokenizer.encode(text, add_special_tokens=False)
    covering = sum(1 for low, high in encoding.offsets if any(text[i] == " " for i in range(low, high)))
    return WhitespaceFinding(not failures, failures, covering)


def unknown_rate(tokenizer: Tokenizer, texts: list[str], unk_token: str | None) -> tuple[float, int, int]:
    """(share of unknown tokens, unknown tokens, tokens) over ``texts``."""
    unk_id = tokenizer.token_to_id(unk_token) if unk_token else None
    total = unknown = 0
    for text in texts:
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        total += len(ids)
        if unk_id is not None:
            unknown += sum(1 for i in ids if i == unk_id)
    return (unknown / total if total else 0.0), unknown, total
