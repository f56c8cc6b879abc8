"""Behaviour under bad input: the methodology's six kinds of input and what each calls for.

Typos should still be understood; incomplete input should get a request for
clarification; contradictory input should have the contradiction named; nonsense should be
declined; a question outside emergency response should get "outside my expertise"; an
impossible scenario should be handled gracefully. 24 prompts of each kind, written by the
project; the rule-based detectors of :mod:`harness.scoring.behaviour` score the answers.

The detectors (and a model-graded judge, when a run names one with ``--judge``) are also
run on 180 reference-labelled responses, so their agreement with the project's labels is
measured on every run: Cohen's kappa with a bootstrap interval, printed beside the scores.
A scorer whose kappa is below 0.6 is flagged: its scores should not be trusted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.schema.results import ItemRecord, Metric, MetricKind
from harness.schema.tasks import TaskData, TaskSpec
from harness.stats import bootstrap_draws, percentile_interval
from harness.suites.base import PreparedSuite, SuiteOptions, SuiteScores, register_suite
from harness.suites.documents import cached_docs
from harness.suites.generated import GeneratedSuite, data_folder, failures, read_jsonl

SHOWN = MetricKind(
    direction="higher",
    unit="proportion",
    label="expected behaviour shown",
    definition="share of answers showing the behaviour their input calls for (rule-based detectors); Wilson interval",
)
KAPPA = MetricKind(
    direction="higher",
    unit="score",
    label="agreement with reference labels (Cohen's kappa)",
    definition="Cohen (1960) kappa between a scorer's verdicts and the project's reference labels on "
    "180 responses; percentile bootstrap interval",
)
TRUSTED_KAPPA = 0.6
SYSTEM = (
    "You are an emergency-response advisor for the Greek civil protection authorities. Answer emergency "
    "questions; ask for what is missing; say so when a request is contradictory, meaningless, impossible or "
    "outside emergency response."
)


def cohen_kappa(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's kappa of two binary label vectors (Cohen 1960); 0/0 (both constant and equal) is nan."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    observed = float((a == b).mean())
    pa, pb = float(a.mean()), float(b.mean())
    expected = pa * pb + (1 - pa) * (1 - pb)
    return float("nan") if expected == 1 else (observed - expected) / (1 - expected)


@register_suite
class Behaviour(GeneratedSuite):
    name = "behaviour"
    headline = "behaviour.expected_behaviour"
    scorer = "behaviour"
    system = SYSTEM
    max_tokens = 96
    headline_kind = SHOWN
    judge_question = "Does the response do what the request calls for, as described here: {expected}?"

    def sources(self) -> list[Path]:
        return [data_folder("behaviour") / "prompts.jsonl"]

    def documents(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [row | {"input": row["prompt"], "target": row["expected"]} for row in rows]

    def prepare(self, options: SuiteOptions) -> PreparedSuite:
        prepared = super().prepare(options)
        prompts = {row["id"]: row for row in read_jsonl(self.sources()[0])}
        references = [
            {
                "id": row["id"],
                "input": prompts[row["prompt_id"]]["prompt"],
                "response": row["response"],
                "label": bool(row["label"]),
                "kind": prompts[row["prompt_id"]]["kind"],
                "answer_keywords": prompts[row["prompt_id"]].get("answer_keywords", []),
                "expected": prompts[row["prompt_id"]]["expected"],
            }
            for row in read_jsonl(data_folder("behaviour") / "responses.jsonl")
        ]
        path, digest = cached_docs(options.cache_dir, self.name, "references", references)
        main = prepared.tasks[0]
        check = TaskSpec(
            name=f"harness_{self.name}_references",
            suite=self.name,
            output="generate_until",
            prompt=main.prompt,
            data=TaskData(splits={"test": str(path)}, digest=digest),
            item_prefix=f"{self.name}/reference",
            item_ids=tuple(f"{self.name}/reference/{d['id']}" for d in references),
            scorer=self.scorer,
            judge_question=self.judge_question,
            respond_with="response",
        )
        prepared.tasks.append(check)
        prepared.settings["reference_responses"] = len(references)
        return prepared

    def mine(self, records: list[ItemRecord]) -> list[ItemRecord]:
        return [r for r in records if r.suite == self.name and r.variant == "clean"]

    def score(self, records: list[ItemRecord]) -> SuiteScores:
        scores = super().score(records)
        references = [r for r in records if r.suite == self.name and r.variant == "fixed_response"]
        if not references:
            return scores
        labels = np.array([bool(r.extra.get("label")) for r in references])
        verdicts = {"behaviour.scorer_kappa": np.array([r.correct for r in references])}
        if all("judge" in r.extra for r in references):
            verdicts["behaviour.judge_kappa"] = np.array([bool(r.extra["judge"]["yes"]) for r in references])
            judged = [r for r in self.mine(records) if "judge" in r.extra]
            if judged:
                scores.metrics.append(
                    SHOWN.proportion(
                        "behaviour.expected_behaviour_judged",
                        sum(bool(r.extra["judge"]["yes"]) for r in judged),
                        len(judged),
                        suite=self.name,
                    )
                )
        flagged = []
        draws = bootstrap_draws(len(references))
        for name, verdict in verdicts.items():
            value = cohen_kappa(verdict, labels)
            low, high = percentile_interval(np.array([cohen_kappa(verdict[d], labels[d]) for d in draws]))
            scores.metrics.append(
                KAPPA.describe(
                    Metric(
                        name=name,
                        value=value,
                        n=len(references),
                        ci_low=low,
                        ci_high=high,
                        ci_method="bootstrap-percentile-1000",
                    ),
                    suite=self.name,
                )
            )
            if not value >= TRUSTED_KAPPA:
                who = "the judge" if "judge" in name else "the rule-based scorer"
                flagged.append(
                    f"{who} agrees with the reference labels at kappa {value:.2f} (< {TRUSTED_KAPPA}): "
                    "its scores should not be trusted"
                )
        scores.warnings += flagged
        scores.details |= {
            "reference_responses": len(references),
            "trusted_kappa": TRUSTED_KAPPA,
            "failures": failures(self.mine(records)),
        }
        return scores
