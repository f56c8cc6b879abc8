"""Check the synthetic evaluation data for generated behaviour (issue 12).

    .venv/bin/python scripts/check_behaviour_data.py

Loads every file in suites/data/structured/, oracle/, behaviour/, safety/ and quick/, checks the
fields and counts each folder's README.md states, validates every JSON reference answer against
its JSON Schema (draft 2020-12, with ``jsonschema``), recomputes the oracle's overall score, tier
and filter decision from the four dimension scores by the rule in oracle/rubric.md, runs the quick
check's code tests against reference solutions (and against wrong ones, which must fail), checks
that ids are unique and that training items do not repeat or nearly repeat evaluation items, and
prints a count table. Exits 1 and lists every problem if any check fails.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parent.parent / "suites" / "data"
FOLDERS = ("structured", "oracle", "behaviour", "safety", "quick")
MAX_PROMPT = 700  # characters: what a tiny model's context holds with room for the answer
NEAR_DUPLICATE = 0.6  # word-set Jaccard similarity at or above which two texts count as near-duplicates

ACTIONS = [
    "evacuate_now",
    "shelter_in_place",
    "isolate_area",
    "call_specialist_team",
    "dispatch_rescue",
    "monitor",
    "request_resources",
    "issue_public_warning",
]
HAZARDS = ["wildfire", "hazmat", "flood", "earthquake", "search_and_rescue", "evacuation"]
TIERS = ("critical", "high", "medium", "low")
BEHAVIOUR = {
    "typo": "answer",
    "incomplete": "clarify",
    "contradictory": "name_contradiction",
    "nonsense": "decline",
    "out_of_domain": "out_of_scope",
    "impossible": "acknowledge_impossible",
}
SAFETY_CATEGORIES = [
    "weapons_explosives",
    "chemical_biological",
    "arson",
    "cyber_attack",
    "violence_against_people",
    "self_harm",
    "fraud_deception",
    "evading_emergency_services",
]
QUICK_DOMAINS = ["math", "code", "reasoning", "factual", "problem_solving"]

# Reference solutions for the quick check's code questions (kept here, not in the data), and a
# wrong solution for each, which the tests must reject.
REFERENCE_CODE = {
    "kmh_to_ms": "def kmh_to_ms(speed_kmh: float) -> float:\n    return speed_kmh / 3.6\n",
    "buses_needed": (
        "def buses_needed(people: int, seats: int) -> int:\n    return (people + seats - 1) // seats if people > 0 else 0\n"
    ),
    "triage_tag": (
        "def triage_tag(walking: bool, breathing: bool, resp_rate: int) -> str:\n"
        "    if walking:\n        return 'green'\n"
        "    if not breathing:\n        return 'black'\n"
        "    return 'red' if resp_rate > 30 else 'yellow'\n"
    ),
}
WRONG_CODE = {
    "kmh_to_ms": "def kmh_to_ms(speed_kmh: float) -> float:\n    return speed_kmh * 3.6\n",
    "buses_needed": "def buses_needed(people: int, seats: int) -> int:\n    return people // seats\n",
    "triage_tag": (
        "def triage_tag(walking: bool, breathing: bool, resp_rate: int) -> str:\n"
        "    if walking:\n        return 'green'\n"
        "    return 'red' if resp_rate >= 30 else 'yellow'\n"
    ),
}

Row = dict[str, Any]


class Problems:
    """Collects every failed check so that one run reports them all."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def check(self, ok: bool, message: str) -> None:
        """Record ``message`` when ``ok`` is false."""
        if not ok:
            self.items.append(message)


def load_jsonl(path: Path, problems: Problems) -> list[Row]:
    """Read a JSON Lines file; a line that is not a JSON object is a problem."""
    rows: list[Row] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            problems.check(False, f"{path.name}:{number}: empty line")
            continue
        value = json.loads(line)
        problems.check(isinstance(value, dict), f"{path.name}:{number}: not a JSON object")
        if isinstance(value, dict):
            rows.append(value)
    return rows


def check_fields(rows: Iterable[Row], fields: set[str], name: str, problems: Problems) -> None:
    """Every row has exactly ``fields``."""
    for row in rows:
        problems.check(set(row) == fields, f"{name} {row.get('id')}: fields {sorted(row)} != {sorted(fields)}")


def check_ids(rows: list[Row], pattern: str, name: str, problems: Problems) -> None:
    """Ids match ``pattern`` and are unique within the file."""
    ids = [str(row.get("id")) for row in rows]
    for id_ in ids:
        problems.check(re.fullmatch(pattern, id_) is not None, f"{name}: id {id_!r} does not match {pattern}")
    dupes = [id_ for id_, n in Counter(ids).items() if n > 1]
    problems.check(not dupes, f"{name}: duplicate ids {dupes}")


def words(text: str) -> set[str]:
    """Lower-case word set of ``text``, for the near-duplicate test."""
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def jaccard(a: set[str], b: set[str]) -> float:
    """Jaccard similarity |a & b| / |a | b| of two word sets."""
    return len(a & b) / len(a | b) if a | b else 1.0


def check_distinct(train: list[str], held_out: list[str], name: str, problems: Problems, within: bool = True) -> float:
    """Training texts repeat no held-out text, nor nearly (Jaccard >= NEAR_DUPLICATE); returns the highest."""
    held = [words(t) for t in held_out]
    tr = [words(t) for t in train]
    highest = 0.0
    for i, t in enumerate(tr):
        for j, h in enumerate(held):
            s = jaccard(t, h)
            highest = max(highest, s)
            problems.check(
                s < NEAR_DUPLICATE, f"{name}: training text {i + 1} nearly repeats held-out text {j + 1} ({s:.2f})"
            )
        if within:
            for k in range(i + 1, len(tr)):
                s = jaccard(t, tr[k])
                problems.check(
                    s < NEAR_DUPLICATE, f"{name}: training texts {i + 1} and {k + 1} nearly repeat ({s:.2f})"
                )
    return highest


def check_readme(folder: Path, problems: Problems) -> None:
    """The README's first line says, in bold, that the folder holds synthetic data written for harness."""
    readme = folder / "README.md"
    problems.check(readme.is_file(), f"{folder.name}: README.md missing")
    if readme.is_file():
        first = readme.read_text(encoding="utf-8").splitlines()[0]
        problems.check(
            "**synthetic data written for harness**" in first.lower(),
            f"{folder.name}/README.md: first line lacks **synthetic data written for harness**",
        )


def schema_validator(path: Path, problems: Problems) -> Draft202012Validator:
    """Load a JSON Schema, check it is a valid draft 2020-12 schema and closed to extra fields."""
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    problems.check(
        schema.get("$schema") == "https://json-schema.org/draft/2020-12/schema", f"{path.name}: not draft 2020-12"
    )
    problems.check(schema.get("additionalProperties") is False, f"{path.name}: allows additional properties")
    problems.check(set(schema.get("required", [])) == set(schema["properties"]), f"{path.name}: not all required")
    return Draft202012Validator(schema)


def schema_errors(validator: Draft202012Validator, value: object) -> list[str]:
    """Messages of every schema violation in ``value``."""
    return [e.message for e in validator.iter_errors(value)]


def check_structured(problems: Problems, table: list[tuple[str, int, str]]) -> None:
    """structured/: the two schemas, 60 evaluation items and 240 training items."""
    folder = ROOT / "structured"
    decision = schema_validator(folder / "decision.schema.json", problems)
    compliance = schema_validator(folder / "compliance.schema.json", problems)
    props = decision.schema["properties"]
    problems.check(props["action"]["enum"] == ACTIONS, "decision.schema.json: action enum differs from the brief")
    problems.check(props["hazard"]["enum"] == HAZARDS, "decision.schema.json: hazard enum differs from the brief")
    problems.check((props["priority"]["minimum"], props["priority"]["maximum"]) == (1, 5), "decision: priority range")
    problems.check((props["reason"]["minLength"], props["reason"]["maxLength"]) == (10, 300), "decision: reason length")
    regs: list[str] = compliance.schema["properties"]["regulations"]["items"]["enum"]
    problems.check(10 <= len(regs) <= 12, f"compliance.schema.json: {len(regs)} regulations, want 10-12")
    problems.check(compliance.schema["properties"]["regulations"]["minItems"] == 1, "compliance: regulations minItems")
    problems.check(
        compliance.schema["properties"]["risk"]["enum"] == ["low", "medium", "high"], "compliance: risk enum"
    )
    validators = {"decision": decision, "compliance": compliance}
    enums = {"decision": ACTIONS + HAZARDS, "compliance": regs}

    items = load_jsonl(folder / "items.jsonl", problems)
    check_fields(items, {"id", "kind", "prompt", "schema", "reference"}, "items.jsonl", problems)
    check_ids(items, r"st-\d{3}", "items.jsonl", problems)
    kinds = Counter(str(row["kind"]) for row in items)
    problems.check(kinds == Counter({"decision": 40, "compliance": 20}), f"items.jsonl: kinds {dict(kinds)}")
    for row in items:
        kind = str(row["kind"])
        problems.check(row["schema"] == kind, f"{row['id']}: schema {row['schema']} != kind {kind}")
        for message in schema_errors(validators[kind], row["reference"]):
            problems.check(False, f"{row['id']}: reference invalid: {message}")
        prompt = str(row["prompt"])
        problems.check(len(prompt) < MAX_PROMPT, f"{row['id']}: prompt has {len(prompt)} characters")
        problems.check("ONLY" in prompt or "only" in prompt, f"{row['id']}: prompt does not ask for JSON only")
        for field in validators[kind].schema["required"]:
            problems.check(field in prompt, f"{row['id']}: prompt does not name field {field}")
        for value in enums[kind]:
            problems.check(value in prompt, f"{row['id']}: prompt does not name allowed value {value}")

    train = load_jsonl(folder / "train.jsonl", problems)
    check_fields(train, {"id", "instruction", "input", "output", "kind", "hazard"}, "structured/train.jsonl", problems)
    check_ids(train, r"st-train-\d{3}", "structured/train.jsonl", problems)
    problems.check(len(train) == 240, f"structured/train.jsonl: {len(train)} rows, want 240")
    for row in train:
        kind = str(row["kind"])
        problems.check(kind in validators, f"{row['id']}: kind {kind}")
        problems.check(row["hazard"] in HAZARDS, f"{row['id']}: hazard {row['hazard']}")
        output = str(row["output"])
        problems.check("\n" not in output, f"{row['id']}: output is not one line")
        value = json.loads(output)
        for message in schema_errors(validators.get(kind, decision), value):
            problems.check(False, f"{row['id']}: output invalid: {message}")
        if kind == "decision":
            problems.check(value.get("hazard") == row["hazard"], f"{row['id']}: hazard differs from output")
        size = len(str(row["instruction"])) + len(str(row["input"]))
        problems.check(size < MAX_PROMPT, f"{row['id']}: instruction and input have {size} characters")
    situations = [str(row["prompt"]).split("\n\n")[0] for row in items]
    highest = check_distinct([str(r["input"]) for r in train], situations, "structured", problems)
    tkinds = Counter(str(row["kind"]) for row in train)
    table.append(("structured/decision.schema.json", 1, f"{len(ACTIONS)} actions, {len(HAZARDS)} hazards"))
    table.append(("structured/compliance.schema.json", 1, f"{len(regs)} regulations"))
    table.append(("structured/items.jsonl", len(items), ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))))
    table.append(
        (
            "structured/train.jsonl",
            len(train),
            ", ".join(f"{k} {n}" for k, n in sorted(tkinds.items())) + f"; max similarity to items {highest:.2f}",
        )
    )


def oracle_overall(ls: int, sr: int, rn: int, pi: int) -> float:
    """overall = round(0.4*life_safety + 0.3*spread_risk + 0.15*resource_need + 0.15*public_impact, 1) (oracle/rubric.md)."""
    return round(0.4 * ls + 0.3 * sr + 0.15 * rn + 0.15 * pi, 1)


def tier_of(overall: float, life_safety: int) -> str:
    """Tier by the rubric's thresholds (7.5, 5.0, 2.5) and its gatekeeper rule (life_safety >= 8: at least high)."""
    tier = "critical" if overall >= 7.5 else "high" if overall >= 5.0 else "medium" if overall >= 2.5 else "low"
    if life_safety >= 8 and tier in ("medium", "low"):
        tier = "high"
    return tier


def exact_tiers(ls: int, sr: int, rn: int, pi: int) -> set[str]:
    """Tiers the exact weighted sum gives when a half at the first decimal rounds down or up."""
    hundredths = 40 * ls + 30 * sr + 15 * rn + 15 * pi
    low, high = hundredths // 10, -(-hundredths // 10)
    return {tier_of(low / 10, ls), tier_of(high / 10, ls)}


def sentences(report: str) -> int:
    """Sentences in a report, not counting a leading log header such as '14:30, Kapandriti.'."""
    body = re.sub(r"^\d{1,2}:\d{2}, [^.]+\.\s*", "", report)
    return len(re.findall(r"[.!?](?:\s|$)", body))


def check_oracle(problems: Problems, table: list[tuple[str, int, str]]) -> None:
    """oracle/: the rubric, 120 held-out items with oracle labels and 200 training items."""
    folder = ROOT / "oracle"
    rubric = (folder / "rubric.md").read_text(encoding="utf-8")
    for phrase in ("0.4", "0.3", "0.15", "7.5", "5.0", "2.5", "life_safety >= 8", "actionable", "synthetic"):
        problems.check(phrase.lower() in rubric.lower(), f"rubric.md: does not state {phrase!r}")
    hold = load_jsonl(folder / "holdout.jsonl", problems)
    check_fields(hold, {"id", "report", "oracle"}, "holdout.jsonl", problems)
    check_ids(hold, r"or-\d{3}", "holdout.jsonl", problems)
    problems.check(len(hold) == 120, f"holdout.jsonl: {len(hold)} rows, want 120")
    dims = ("life_safety", "spread_risk", "resource_need", "public_impact")
    tiers: Counter[str] = Counter()
    gated = 0
    for row in hold:
        o = row["oracle"]
        problems.check(set(o) == {*dims, "overall", "tier", "actionable"}, f"{row['id']}: oracle fields {sorted(o)}")
        scores = [o[d] for d in dims]
        problems.check(
            all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= 10 for s in scores),
            f"{row['id']}: scores {scores} not integers 0-10",
        )
        ls, sr, rn, pi = (int(s) for s in scores)
        overall = oracle_overall(ls, sr, rn, pi)
        tier = tier_of(overall, ls)
        problems.check(o["overall"] == overall, f"{row['id']}: overall {o['overall']} != {overall}")
        problems.check(o["tier"] == tier, f"{row['id']}: tier {o['tier']} != {tier}")
        problems.check(o["actionable"] is (tier in ("critical", "high")), f"{row['id']}: actionable wrong")
        problems.check(exact_tiers(ls, sr, rn, pi) == {tier}, f"{row['id']}: tier depends on how a half rounds")
        gated += int(tier_of(overall, 0) != tier)
        tiers[tier] += 1
        report = str(row["report"])
        problems.check(2 <= sentences(report) <= 5, f"{row['id']}: {sentences(report)} sentences, want 2-5")
        problems.check(re.search(r"\d", report) is not None, f"{row['id']}: report has no time or number")
    for tier in TIERS:
        problems.check(0.20 <= tiers[tier] / len(hold) <= 0.30, f"holdout.jsonl: {tiers[tier]} items are {tier}")

    train = load_jsonl(folder / "train.jsonl", problems)
    check_fields(train, {"id", "instruction", "input", "output"}, "oracle/train.jsonl", problems)
    check_ids(train, r"or-train-\d{3}", "oracle/train.jsonl", problems)
    problems.check(len(train) == 200, f"oracle/train.jsonl: {len(train)} rows, want 200")
    ttiers: Counter[str] = Counter()
    for row in train:
        output = str(row["output"])
        problems.check("\n" not in output, f"{row['id']}: output is not one line")
        value = json.loads(output)
        problems.check(list(value) == [*dims, "tier"], f"{row['id']}: output fields {list(value)}")
        ls, sr, rn, pi = (int(value[d]) for d in dims)
        tier = tier_of(oracle_overall(ls, sr, rn, pi), ls)
        problems.check(value["tier"] == tier, f"{row['id']}: tier {value['tier']} != {tier}")
        problems.check(exact_tiers(ls, sr, rn, pi) == {tier}, f"{row['id']}: tier depends on how a half rounds")
        problems.check(2 <= sentences(str(row["input"])) <= 5, f"{row['id']}: report is not 2-5 sentences")
        problems.check(len(str(row["instruction"])) + len(str(row["input"])) < MAX_PROMPT, f"{row['id']}: too long")
        ttiers[tier] += 1
    highest = check_distinct([str(r["input"]) for r in train], [str(r["report"]) for r in hold], "oracle", problems)
    table.append(("oracle/rubric.md", 1, "rubric"))
    table.append(
        (
            "oracle/holdout.jsonl",
            len(hold),
            ", ".join(f"{t} {tiers[t]}" for t in TIERS) + f"; {gated} raised to high by the gatekeeper rule",
        )
    )
    table.append(
        (
            "oracle/train.jsonl",
            len(train),
            ", ".join(f"{t} {ttiers[t]}" for t in TIERS) + f"; max similarity to holdout {highest:.2f}",
        )
    )


def check_behaviour(problems: Problems, table: list[tuple[str, int, str]]) -> None:
    """behaviour/: 6 kinds x 24 prompts and 180 reference-labelled responses."""
    folder = ROOT / "behaviour"
    prompts = load_jsonl(folder / "prompts.jsonl", problems)
    check_ids(
        prompts, r"bh-(typo|incomplete|contradictory|nonsense|out-of-domain|impossible)-\d{2}", "prompts", problems
    )
    kinds = Counter(str(p["kind"]) for p in prompts)
    problems.check(kinds == Counter(dict.fromkeys(BEHAVIOUR, 24)), f"prompts.jsonl: kinds {dict(kinds)}")
    for p in prompts:
        kind = str(p["kind"])
        fields = {"id", "kind", "prompt", "expected"} | ({"answer_keywords"} if kind == "typo" else set())
        problems.check(set(p) == fields, f"{p['id']}: fields {sorted(p)}")
        problems.check(p["expected"] == BEHAVIOUR.get(kind), f"{p['id']}: expected {p['expected']}")
        problems.check(str(p["id"]).startswith("bh-" + kind.replace("_", "-") + "-"), f"{p['id']}: id/kind mismatch")
        problems.check(len(str(p["prompt"])) < MAX_PROMPT, f"{p['id']}: prompt too long")
        if kind == "typo":
            kw = p["answer_keywords"]
            problems.check(
                isinstance(kw, list) and 1 <= len(kw) <= 3 and all(k == str(k).lower() and " " not in k for k in kw),
                f"{p['id']}: answer_keywords {kw} not 1-3 lower-case words",
            )
    texts = [str(p["prompt"]).lower() for p in prompts]
    problems.check(len(set(texts)) == len(texts), "prompts.jsonl: repeated prompt")
    kind_of = {str(p["id"]): str(p["kind"]) for p in prompts}

    responses = load_jsonl(folder / "responses.jsonl", problems)
    check_fields(responses, {"id", "prompt_id", "response", "label", "rater"}, "responses.jsonl", problems)
    check_ids(responses, r"bh-r-\d{3}", "responses.jsonl", problems)
    problems.check(len(responses) == 180, f"responses.jsonl: {len(responses)} rows, want 180")
    per_kind: Counter[str] = Counter()
    true_kind: Counter[str] = Counter()
    for r in responses:
        problems.check(r["prompt_id"] in kind_of, f"{r['id']}: unknown prompt_id {r['prompt_id']}")
        problems.check(isinstance(r["label"], bool), f"{r['id']}: label is not a boolean")
        problems.check(r["rater"] == "harness-reference", f"{r['id']}: rater {r['rater']}")
        kind = kind_of.get(str(r["prompt_id"]), "?")
        per_kind[kind] += 1
        true_kind[kind] += int(r["label"] is True)
    for kind in BEHAVIOUR:
        problems.check(25 <= per_kind[kind] <= 35, f"responses.jsonl: {per_kind[kind]} responses for {kind}")
        share = true_kind[kind] / max(per_kind[kind], 1)
        problems.check(0.35 <= share <= 0.65, f"responses.jsonl: {share:.0%} of {kind} responses are true")
    table.append(("behaviour/prompts.jsonl", len(prompts), ", ".join(f"{k} {n}" for k, n in kinds.items())))
    table.append(
        (
            "behaviour/responses.jsonl",
            len(responses),
            ", ".join(f"{k} {true_kind[k]}/{per_kind[k]} true" for k in BEHAVIOUR),
        )
    )


def check_safety(problems: Problems, table: list[tuple[str, int, str]]) -> None:
    """safety/: 48 harmful requests and 48 contrast requests, 8 categories x 6 each."""
    folder = ROOT / "safety"
    for name, prefix, expected in (("harmful.jsonl", "sf-h", "refuse"), ("contrast.jsonl", "sf-c", "answer")):
        rows = load_jsonl(folder / name, problems)
        check_fields(rows, {"id", "category", "prompt", "expected"}, name, problems)
        check_ids(rows, prefix + r"-\d{2}", name, problems)
        cats = Counter(str(r["category"]) for r in rows)
        problems.check(cats == Counter(dict.fromkeys(SAFETY_CATEGORIES, 6)), f"{name}: categories {dict(cats)}")
        for r in rows:
            problems.check(r["expected"] == expected, f"{r['id']}: expected {r['expected']}")
            problems.check(len(str(r["prompt"])) < MAX_PROMPT, f"{r['id']}: prompt too long")
            problems.check(
                str(r["prompt"]).rstrip().endswith("?") or expected == "refuse", f"{r['id']}: not a question"
            )
        problems.check(len({str(r["prompt"]) for r in rows}) == len(rows), f"{name}: repeated prompt")
        table.append((f"safety/{name}", len(rows), f"{len(cats)} categories x {min(cats.values(), default=0)}"))


def run_tests(source: str, tests: str) -> bool:
    """True if ``tests`` (asserts) pass against ``source``, both run in one fresh namespace."""
    namespace: dict[str, object] = {}
    try:
        exec(source, namespace)  # reference code written in this file
        exec(tests, namespace)  # the data set's own tests
    except AssertionError:
        return False
    return True


def check_quick(problems: Problems, table: list[tuple[str, int, str]]) -> None:
    """quick/: 15 questions, 3 per domain, with gradeable answers; code tests pass on the reference only."""
    rows = load_jsonl(ROOT / "quick" / "questions.jsonl", problems)
    check_ids(rows, r"qc-\d{2}", "questions.jsonl", problems)
    domains = Counter(str(r["domain"]) for r in rows)
    problems.check(domains == Counter(dict.fromkeys(QUICK_DOMAINS, 3)), f"questions.jsonl: domains {dict(domains)}")
    passed = 0
    extra: dict[str, set[str]] = {
        "number": {"answer", "tolerance"},
        "text": {"accept"},
        "code": {"entry_point", "tests"},
    }
    for r in rows:
        kind = str(r["answer_type"])
        problems.check(kind in extra, f"{r['id']}: answer_type {kind}")
        problems.check(
            set(r) == {"id", "domain", "prompt", "answer_type"} | extra.get(kind, set()), f"{r['id']}: fields"
        )
        problems.check(len(str(r["prompt"])) < MAX_PROMPT, f"{r['id']}: prompt too long")
        if kind == "number":
            problems.check(isinstance(r["answer"], int | float), f"{r['id']}: answer is not a number")
            problems.check(isinstance(r["tolerance"], int | float) and r["tolerance"] >= 0, f"{r['id']}: tolerance")
        elif kind == "text":
            accept = r["accept"]
            problems.check(
                isinstance(accept, list) and bool(accept) and all(a == str(a).lower() for a in accept),
                f"{r['id']}: accept must be a non-empty list of lower-case answers",
            )
        elif kind == "code":
            entry = str(r["entry_point"])
            problems.check(entry in str(r["prompt"]), f"{r['id']}: prompt does not name {entry}")
            tests = str(r["tests"])
            imports = re.findall(r"^\s*(?:import|from)\s+(\w+)", tests, flags=re.M)
            problems.check(all(m in sys.stdlib_module_names for m in imports), f"{r['id']}: non-stdlib import")
            ok = entry in REFERENCE_CODE and run_tests(REFERENCE_CODE[entry], tests)
            problems.check(ok, f"{r['id']}: tests fail against the reference solution")
            problems.check(
                entry in WRONG_CODE and not run_tests(WRONG_CODE[entry], tests),
                f"{r['id']}: tests also pass a wrong solution",
            )
            passed += int(ok)
    table.append(
        (
            "quick/questions.jsonl",
            len(rows),
            ", ".join(f"{d} {n}" for d, n in domains.items()) + f"; code tests pass on reference: {passed}/3",
        )
    )


def main() -> int:
    """Run every check, print the count table, and return 1 if anything failed."""
    problems = Problems()
    table: list[tuple[str, int, str]] = []
    for name in FOLDERS:
        check_readme(ROOT / name, problems)
    checks: list[Callable[[Problems, list[tuple[str, int, str]]], None]] = [
        check_structured,
        check_oracle,
        check_behaviour,
        check_safety,
        check_quick,
    ]
    for check in checks:
        check(problems, table)
    all_ids: list[str] = []
    for name in FOLDERS:
        for path in sorted((ROOT / name).glob("*.jsonl")):
            all_ids += [str(row["id"]) for row in load_jsonl(path, problems)]
    dupes = [i for i, n in Counter(all_ids).items() if n > 1]
    problems.check(not dupes, f"ids repeated across files: {dupes}")
    width = max(len(f) for f, _, _ in table)
    print(f"{'file':<{width}}  {'rows':>5}  breakdown")
    for file, rows, note in table:
        print(f"{file:<{width}}  {rows:>5}  {note}")
    print(f"{'all files':<{width}}  {len(all_ids):>5}  ids unique across files: {'yes' if not dupes else 'no'}")
    if problems.items:
        print(f"\n{len(problems.items)} problem(s):", file=sys.stderr)
        for item in problems.items:
            print(f"  {item}", file=sys.stderr)
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
