"""Seeded, deterministic perturbations of multiple-choice items (pure functions).

Text perturbations touch the question only, never the answer choices, following HELM's
robustness design (Liang et al. 2022, "Holistic Evaluation of Language Models", §5.5;
``helm.benchmark.augmentations``): lowercase, contraction, expansion, misspelling,
extra spaces, and their ``mild_mix``. Our misspelling is a keyboard-neighbour typo in a
word with probability 0.1 per word (HELM's per-word rate), with no misspelling lexicon.
Two structural perturbations are added: a permutation of the answer choices (the gold
index follows its content) and an irrelevant distractor sentence (Shi et al. 2023,
"Large Language Models Can Be Easily Distracted by Irrelevant Context").

Every random choice comes from ``random.Random`` seeded by (seed, item key, perturbation
name), so a variant is the same on every machine and in every run.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

PERTURBATIONS: tuple[str, ...] = (
    "lowercase",
    "contraction",
    "expansion",
    "typo",
    "whitespace",
    "mild_mix",
    "choice_permutation",
    "distractor",
)

TYPO_WORD_PROBABILITY = 0.1
MAX_SPACES = 3


@dataclass(frozen=True)
class ChoiceItem:
    """A multiple-choice item: question, choices and the index of the gold choice."""

    question: str
    choices: tuple[str, ...]
    answer: int

    @property
    def gold(self) -> str:
        return self.choices[self.answer]


# Contractions and their expansions; each expansion maps back to one contraction so the
# pair is reversible (HELM's ContractionPerturbation / ExpansionPerturbation use the
# same idea with a larger map).
_CONTRACTIONS: dict[str, str] = {
    "are not": "aren't",
    "cannot": "can't",
    "could not": "couldn't",
    "did not": "didn't",
    "does not": "doesn't",
    "do not": "don't",
    "had not": "hadn't",
    "has not": "hasn't",
    "have not": "haven't",
    "is not": "isn't",
    "it is": "it's",
    "let us": "let's",
    "should not": "shouldn't",
    "that is": "that's",
    "there is": "there's",
    "they are": "they're",
    "was not": "wasn't",
    "we are": "we're",
    "were not": "weren't",
    "what is": "what's",
    "will not": "won't",
    "would not": "wouldn't",
    "you are": "you're",
    "I am": "I'm",
}
_EXPANSIONS: dict[str, str] = {v.lower(): k for k, v in _CONTRACTIONS.items()}

_CONTRACTION_RE = re.compile(
    r"\b(" + "|".join(re.escape(k) for k in sorted(_CONTRACTIONS, key=len, reverse=True)) + r")\b", re.IGNORECASE
)
_EXPANSION_RE = re.compile(
    r"\b(" + "|".join(re.escape(k).replace("'", "['’]") for k in sorted(_EXPANSIONS, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)

_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _keyboard_neighbours() -> dict[str, str]:
    """Letters adjacent on a QWERTY keyboard (same row left/right, rows above and below)."""
    position = {ch: (r, c) for r, row in enumerate(_KEYBOARD_ROWS) for c, ch in enumerate(row)}
    out = {}
    for ch, (r, c) in position.items():
        near = [other for other, (r2, c2) in position.items() if other != ch and abs(r2 - r) <= 1 and abs(c2 - c) <= 1]
        out[ch] = "".join(sorted(near))
    return out


KEYBOARD_NEIGHBOURS = _keyboard_neighbours()

DISTRACTORS: tuple[str, ...] = (
    "The municipal library extended its opening hours last spring.",
    "A ferry timetable for the summer season was published on Monday.",
    "The local football club painted its stadium seats blue.",
    "Several bakeries in the town now sell sourdough bread.",
    "The museum's new wing houses a collection of old maps.",
    "Tickets for the autumn concert sold out within a day.",
    "The town council approved a new design for its street signs.",
    "An olive oil festival takes place in the region every November.",
)


def _match_case(original: str, replacement: str) -> str:
    if original.isupper() and len(original) > 1:
        return replacement.upper()
    if original[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def lowercase(text: str) -> str:
    return text.lower()


def contract(text: str) -> str:
    """Replace expanded forms by their contraction ("do not" -> "don't"), keeping case."""

    def swap(match: re.Match[str]) -> str:
        found = match.group(0)
        key = next(k for k in _CONTRACTIONS if k.lower() == found.lower())
        return _match_case(found, _CONTRACTIONS[key])

    return _CONTRACTION_RE.sub(swap, text)


def expand(text: str) -> str:
    """Replace contractions by their expanded form ("don't" -> "do not"), keeping case."""

    def swap(match: re.Match[str]) -> str:
        found = match.group(0)
        return _match_case(found, _EXPANSIONS[found.lower().replace("’", "'")])

    return _EXPANSION_RE.sub(swap, text)


def keyboard_typos(text: str, rng: random.Random, probability: float = TYPO_WORD_PROBABILITY) -> str:
    """In each word with at least one letter, with ``probability``, swap one letter for a keyboard neighbour."""

    def maybe_typo(match: re.Match[str]) -> str:
        word = match.group(0)
        if rng.random() >= probability:
            return word
        letters = [i for i, ch in enumerate(word) if ch.lower() in KEYBOARD_NEIGHBOURS]
        if not letters:
            return word
        i = rng.choice(letters)
        new = rng.choice(KEYBOARD_NEIGHBOURS[word[i].lower()])
        return word[:i] + (new.upper() if word[i].isupper() else new) + word[i + 1 :]

    return re.sub(r"[^\W\d_]+", maybe_typo, text)


def extra_whitespace(text: str, rng: random.Random, max_spaces: int = MAX_SPACES) -> str:
    """Each run of spaces becomes 1 to ``max_spaces`` spaces (HELM's SpacePerturbation)."""
    return re.sub(r" +", lambda _: " " * rng.randint(1, max_spaces), text)


def mild_mix(text: str, rng: random.Random) -> str:
    """HELM's ``mild_mix``: lowercase, contraction, misspelling (p=0.1 a word) and extra spaces."""
    return extra_whitespace(keyboard_typos(contract(lowercase(text)), rng), rng)


def permute_choices(item: ChoiceItem, rng: random.Random) -> ChoiceItem:
    """The choices in a new order (never the original one); the gold index follows its content."""
    order = list(range(len(item.choices)))
    if len(set(item.choices)) > 1:
        while order == sorted(order):
            rng.shuffle(order)
    choices = tuple(item.choices[i] for i in order)
    return ChoiceItem(item.question, choices, order.index(item.answer))


def add_distractor(text: str, rng: random.Random) -> str:
    """Put one irrelevant sentence before the question."""
    return f"{rng.choice(DISTRACTORS)} {text}"


_TEXT_PERTURBATIONS: dict[str, Callable[[str, random.Random], str]] = {
    "lowercase": lambda text, rng: lowercase(text),
    "contraction": lambda text, rng: contract(text),
    "expansion": lambda text, rng: expand(text),
    "typo": keyboard_typos,
    "whitespace": extra_whitespace,
    "mild_mix": mild_mix,
    "distractor": add_distractor,
}


def perturb(item: ChoiceItem, name: str, *, key: str, seed: int = 0) -> ChoiceItem:
    """Variant ``name`` of ``item``; ``key`` (the item id) and ``seed`` fix every random choice."""
    rng = random.Random(f"{seed}:{key}:{name}")
    if name == "choice_permutation":
        return permute_choices(item, rng)
    try:
        transform = _TEXT_PERTURBATIONS[name]
    except KeyError:
        raise ValueError(f"unknown perturbation {name!r}; known: {', '.join(PERTURBATIONS)}") from None
    return replace(item, question=transform(item.question, rng))
