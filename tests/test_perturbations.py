import random
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.suites.mmlu import SUBJECTS, read_mmlu_csv
from harness.suites.perturbations import (
    PERTURBATIONS,
    ChoiceItem,
    contract,
    expand,
    extra_whitespace,
    keyboard_typos,
    perturb,
)

ITEM = ChoiceItem("It is not clear what you are asking. Do not guess.", ("red", "green", "blue", "grey"), 2)


@pytest.mark.slow  # seconds: kept out of the fast lane
def test_gold_content_is_invariant_under_every_perturbation_over_all_mmlu_test_items(data_dir: Path) -> None:
    checked = 0
    for subject in SUBJECTS:
        for row_number, row in enumerate(read_mmlu_csv(data_dir / "mmlu" / "test" / f"{subject}_test.csv", subject)):
            item = ChoiceItem(row["question"], tuple(row["choices"]), row["answer"])
            key = f"mmlu/{subject}/{row_number}"
            for name in PERTURBATIONS:
                variant = perturb(item, name, key=key)
                assert variant.gold == item.gold, (key, name)
                assert Counter(variant.choices) == Counter(item.choices), (key, name)
                if name == "choice_permutation":
                    assert variant.question == item.question
                else:
                    assert variant.choices == item.choices and variant.answer == item.answer
                checked += 1
    assert checked >= 14_000 * len(PERTURBATIONS)


def test_perturbations_are_deterministic_and_keyed_by_item() -> None:
    for name in PERTURBATIONS:
        assert perturb(ITEM, name, key="a/1") == perturb(ITEM, name, key="a/1")
    typos = {perturb(ITEM, "mild_mix", key=f"a/{i}").question for i in range(20)}
    assert len(typos) > 1  # different items draw different typos


def test_choice_permutation_never_keeps_the_original_order() -> None:
    for i in range(50):
        assert perturb(ITEM, "choice_permutation", key=f"k{i}").choices != ITEM.choices


def test_contraction_and_expansion_keep_case() -> None:
    assert contract("It is not clear. Do not guess; we are here.") == "It's not clear. Don't guess; we're here."
    assert expand("It's not clear. Don't guess; we’re here.") == "It is not clear. Do not guess; we are here."


def test_typos_hit_about_one_word_in_ten_and_only_swap_letters() -> None:
    words = ["evacuation"] * 5000
    text = " ".join(words)
    typo = keyboard_typos(text, random.Random(0))
    changed = [a != b for a, b in zip(text.split(" "), typo.split(" "), strict=True)]
    assert 0.08 < sum(changed) / len(changed) < 0.12
    assert all(len(a) == len(b) for a, b in zip(text.split(" "), typo.split(" "), strict=True))


@given(st.text(alphabet="ab .", max_size=60), st.integers(0, 10_000))
def test_extra_whitespace_changes_nothing_but_spaces(text: str, seed: int) -> None:
    out = extra_whitespace(text, random.Random(seed))
    assert out.replace(" ", "") == text.replace(" ", "")
    assert (" " in out) == (" " in text)


@given(
    st.lists(st.text(min_size=1, max_size=8), min_size=4, max_size=4, unique=True),
    st.integers(0, 3),
    st.text(max_size=40),
)
def test_every_perturbation_keeps_the_gold_answer(choices: list[str], answer: int, question: str) -> None:
    item = ChoiceItem(question, tuple(choices), answer)
    for name in PERTURBATIONS:
        assert perturb(item, name, key="h").gold == item.gold


def test_unknown_perturbation_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown perturbation"):
        perturb(ITEM, "shout", key="x")
