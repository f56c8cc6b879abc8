"""Agreement coefficients against published worked examples and independent formulas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.data.agreement import (
    agreement_report,
    fleiss_kappa,
    intraclass_correlations,
    krippendorff_alpha,
    mean_pairwise_kappa,
    pairwise_cohen_kappa,
)
from harness.data.conflicts import resolve_item
from tests.helpers import invoke


def long_csv(path: Path, table: dict[str, list], column: str = "label") -> Path:
    rows = [
        {"item_id": f"i{j}", "rater_id": rater, column: value}
        for rater, values in table.items()
        for j, value in enumerate(values)
        if value is not None
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_cohen_kappa_of_a_two_by_two_worked_example() -> None:
    # 50 items: both yes 20, A yes B no 5, A no B yes 10, both no 15 -> po = 0.70, pe = 0.50, kappa = 0.40
    a = ["y"] * 20 + ["y"] * 5 + ["n"] * 10 + ["n"] * 15
    b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    labels = pd.DataFrame({"A": a, "B": b})
    (pair,) = pairwise_cohen_kappa(labels)
    assert pair.kappa == pytest.approx(0.40) and pair.n == 50


def test_fleiss_kappa_equals_fleiss_1971_worked_example() -> None:
    # Fleiss (1971), as reproduced in the Wikipedia article "Fleiss' kappa": 10 subjects,
    # 14 raters, 5 categories; P-bar = 0.378, Pe-bar = 0.213, kappa = 0.210.
    counts = [
        [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
    ]
    rows = [[f"c{k}" for k, c in enumerate(row) for _ in range(c)] for row in counts]
    labels = pd.DataFrame(rows, columns=[f"r{i}" for i in range(14)])
    assert fleiss_kappa(labels) == pytest.approx(0.2099, abs=5e-4)


def test_krippendorff_alpha_equals_krippendorff_2011_example() -> None:
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C:
    # 4 observers, 12 units, nominal data with missing values: alpha = 0.743.
    nan = None
    table = {
        "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        "C": [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    }
    values = pd.DataFrame(table, dtype=float)
    assert krippendorff_alpha(values, "nominal") == pytest.approx(0.743, abs=5e-4)


def test_icc_equals_shrout_and_fleiss_1979_table() -> None:
    # Shrout & Fleiss (1979), Psychological Bulletin 86(2), Table 2 (6 targets x 4 judges):
    # ICC(2,1) = 0.29, ICC(3,1) = 0.71.
    scores = pd.DataFrame(
        [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], dtype=float
    )
    icc2, icc3 = intraclass_correlations(scores)
    assert icc2 == pytest.approx(0.29, abs=0.005)
    assert icc3 == pytest.approx(0.71, abs=0.005)


def test_missing_ratings_use_what_each_coefficient_can() -> None:
    labels = pd.DataFrame({"A": ["x", "y", "x", "y", None], "B": ["x", "y", "y", "y", "x"], "C": ["x", "y", "x", None, "x"]})
    pairs = {(p.rater_a, p.rater_b): p.n for p in pairwise_cohen_kappa(labels)}
    assert pairs == {("A", "B"): 4, ("A", "C"): 3, ("B", "C"): 4}
    assert not np.isnan(mean_pairwise_kappa(labels))
    assert not np.isnan(krippendorff_alpha(labels, "nominal"))


def test_agreement_report_has_every_coefficient_with_an_interval(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, size=120)
    table = {r: [f"L{t if rng.uniform() < 0.85 else (t + 1) % 3}" for t in truth] for r in ("a", "b", "c")}
    path = long_csv(tmp_path / "ratings.csv", table)
    frame = pd.read_csv(path)
    frame["score"] = frame["label"].str[1].astype(int) + 1
    frame.to_csv(path, index=False)
    report = agreement_report(path, n_boot=200)
    names = {m.name for m in report.metrics}
    assert names == {"kappa", "fleiss_kappa", "krippendorff_alpha", "krippendorff_alpha_ordinal", "icc2_1", "icc3_1"}
    for m in report.metrics:
        assert m.n == 120 and m.ci_low is not None and m.ci_low <= m.ci_high
    assert report.metric("kappa").value == pytest.approx(np.mean([p.kappa for p in report.pairwise]))
    assert 0.3 < report.metric("kappa").value < 0.9


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("item_id,rater_id,label\ni1,a,x\ni2,a,y\n", "at least two raters"),
        ("", "empty"),
        ("item,rater,label\ni1,a,x\n", "missing column 'item_id'"),
        (b"item_id,rater_id,label\ni1,a,\xff\n", "not UTF-8"),
        ("item_id,rater_id,label\ni1,a,x\ni1,a,y\ni1,b,x\n", "rated item 'i1' twice"),
    ],
)
def test_bad_ratings_files_are_one_line_errors(tmp_path: Path, content: str | bytes, message: str) -> None:
    path = tmp_path / "ratings.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    code, stdout, stderr = invoke("data", "agreement", str(path))
    assert code == 2, stdout
    assert message in stderr and len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr


def test_conflict_protocol() -> None:
    agreed = resolve_item("a", ["evacuate", "evacuate", "evacuate"], [0.9, 0.8, 0.85])
    assert agreed.status == "agreed" and not agreed.disputed and agreed.label == "evacuate"
    doubtful = resolve_item("b", ["evacuate", "evacuate", "evacuate"], [0.9, 0.5, 0.85])
    assert doubtful.status == "agreed" and doubtful.disputed and "confidence differs" in doubtful.reasons[0]
    majority = resolve_item("c", ["evacuate", "shelter", "evacuate"])
    assert (majority.status, majority.label, majority.alternatives) == ("majority", "evacuate", ["shelter"])
    assert majority.disputed and majority.agreement == pytest.approx(2 / 3)
    tie = resolve_item("d", ["evacuate", "shelter"])
    assert tie.status == "needs-third-expert" and tie.label is None and set(tie.alternatives) == {"evacuate", "shelter"}
    three_way = resolve_item("e", ["a", "b", "c"])
    assert three_way.status == "needs-third-expert"


def test_a_single_rating_is_not_agreement() -> None:
    single = resolve_item("f", ["evacuate"])
    assert single.status == "needs-second-rater" and single.label is None


def test_non_numeric_confidence_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "ratings.csv"
    path.write_text("item_id,rater_id,label,confidence\ni1,a,x,high\ni1,b,x,0.5\n")
    code, _, err = invoke("data", "resolve", str(path), "--out", str(tmp_path / "out"))
    assert code == 2 and "'confidence' must hold numbers" in err


def test_resolve_writes_items_back_unchanged_but_for_labels(tmp_path: Path) -> None:
    import json

    items = tmp_path / "items.jsonl"
    items.write_text('{"id": "i1", "decision": "x", "meta": {"n": 1}}\n{"id": "i2", "decision": "y"}\n')
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("item_id,rater_id,label\ni1,a,x\ni1,b,x\ni1,c,z\ni2,a,y\ni2,b,y\n")
    code, _, err = invoke("data", "resolve", str(ratings), "--out", str(tmp_path / "out"), "--items", str(items))
    assert code == 0, err
    rows = [json.loads(line) for line in (tmp_path / "out" / "resolved.jsonl").read_text().splitlines()]
    assert rows[0]["meta"] == {"n": 1} and "meta" not in rows[1]  # no pandas coercion, no added keys
    assert rows[0]["metadata"]["disputed"] and rows[0]["metadata"]["answer_alternative"] == ["z"]
