"""Forgetting and A/B comparison: two runs, paired item by item.

A candidate run (e.g. base + adapter) is compared with a reference run (normally the
base model) on the items both evaluated with the same prompt. For every per-item
correctness metric the suites expose (:meth:`Suite.outcomes`): the change in accuracy,
its paired-bootstrap 95% interval, McNemar's exact test on the discordant pairs
(McNemar 1947; Dietterich 1998 recommends it for comparing two classifiers on one test
set), and the relative drop. The methodology's rule: general ability may not fall by
more than 5% relative; domain ability should rise.

A comparison runs one test per paired metric (each suite, each subject: about sixty for
MMLU alone), so some raw p-values fall below alpha by chance. Their p-values are adjusted
together by Holm's step-down method (Holm 1979), which holds the chance of any false
"significant" row at alpha; ``significant`` in a :class:`RunComparison` means significant
after that adjustment, and ``p_value`` keeps the test's raw p. The gate, whose rules are
single tests declared in advance, reads the raw p of the one metric each rule names.

Calibration metrics (ECE, Brier, NLL) are compared by a paired bootstrap over the same
items; other metrics that are not per-item proportions (gaps, drops) are listed with
their plain difference and no test.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from harness.errors import InputError
from harness.schema.comparison import PairedComparison, RunComparison, comparison_file_name
from harness.schema.results import ITEMS_FILE, ItemRecord, RunResult, load_results, read_items, resolve_results_path
from harness.stats import (
    DEFAULT_BOOTSTRAP,
    bootstrap_draws,
    holm_adjusted,
    mcnemar_exact_p_value,
    paired_difference_interval,
)

__all__ = [
    "PairedComparison",
    "RunComparison",
    "adjust_for_multiplicity",
    "compare_outcomes",
    "compare_run_dirs",
    "compare_runs",
    "comparison_file_name",
    "load_comparison",
    "paired_bootstrap_comparisons",
]


@runtime_checkable
class PairedStatistics(Protocol):
    """A suite whose metrics can be recomputed on any subset of its items (for a paired bootstrap)."""

    def paired_statistics(
        self, records: list[ItemRecord]
    ) -> tuple[list[str], dict[str, Callable[[np.ndarray], np.ndarray]]]:
        """Item keys, and per metric a function of an index matrix (one row a resample) to its values."""
        ...


def compare_outcomes(
    reference: dict[str, bool], candidate: dict[str, bool], metric: str, *, alpha: float = 0.05
) -> PairedComparison:
    """Paired comparison of one metric over the items present in both runs."""
    keys = sorted(set(reference) & set(candidate))
    n = len(keys)
    if n == 0:
        return PairedComparison(
            metric=metric,
            paired=True,
            n=0,
            reference=None,
            candidate=None,
            change=None,
            relative_change=None,
            relative_drop=None,
        )
    ref = [reference[k] for k in keys]
    cand = [candidate[k] for k in keys]
    ref_acc, cand_acc = sum(ref) / n, sum(cand) / n
    only_ref = sum(a and not b for a, b in zip(ref, cand, strict=True))
    only_cand = sum(b and not a for a, b in zip(ref, cand, strict=True))
    p_value = mcnemar_exact_p_value(only_ref, only_cand)
    low, high = paired_difference_interval(ref, cand)
    change = cand_acc - ref_acc
    relative = change / ref_acc if ref_acc else None
    return PairedComparison(
        metric=metric,
        paired=True,
        n=n,
        reference=ref_acc,
        candidate=cand_acc,
        change=change,
        relative_change=relative,
        relative_drop=None if relative is None else 0.0 - relative,
        ci_low=low,
        ci_high=high,
        ci_method="paired-bootstrap-4000",
        only_reference_correct=only_ref,
        only_candidate_correct=only_cand,
        p_value=p_value,
        test="mcnemar-exact",
        significant=p_value < alpha,
    )


def compare_runs(
    reference: RunResult,
    reference_items: list[ItemRecord],
    candidate: RunResult,
    candidate_items: list[ItemRecord],
    *,
    alpha: float = 0.05,
) -> RunComparison:
    """Every metric the two runs share: paired where the suites give per-item outcomes."""
    from harness.suites import registry

    suites = registry()
    ref_items, cand_items, unmatched = _matched(reference_items, candidate_items)
    comparisons: list[PairedComparison] = []
    paired_names: set[str] = set()
    for name in [s for s in candidate.suites if s in reference.suites and s in suites]:
        ref_out = suites[name].outcomes(ref_items)
        cand_out = suites[name].outcomes(cand_items)
        for metric in ref_out:
            if metric in cand_out:
                comparisons.append(compare_outcomes(ref_out[metric], cand_out[metric], metric, alpha=alpha))
                paired_names.add(metric)
    for name in [s for s in candidate.suites if s in reference.suites and s in suites]:
        suite = suites[name]
        if isinstance(suite, PairedStatistics):
            for row in paired_bootstrap_comparisons(suite, ref_items, cand_items, alpha=alpha):
                comparisons.append(row)
                paired_names.add(row.metric)
    ref_metrics = reference.metric_map()
    for measured in candidate.metrics:
        base = ref_metrics.get(measured.name)
        if measured.name in paired_names or base is None:
            continue
        change = None if measured.value is None or base.value is None else measured.value - base.value
        relative = change / base.value if change is not None and base.value else None
        comparisons.append(
            PairedComparison(
                metric=measured.name,
                paired=False,
                n=min(measured.n, base.n),
                reference=base.value,
                candidate=measured.value,
                change=change,
                relative_change=relative,
                relative_drop=None if relative is None else 0.0 - relative,
            )
        )
    described = candidate.metric_map()
    comparisons = [
        c.model_copy(update={"scope": m.scope, "direction": m.direction, "unit": m.unit})
        if (m := described.get(c.metric)) is not None
        else c
        for c in comparisons
    ]
    return RunComparison(
        reference_run=reference.run_id,
        candidate_run=candidate.run_id,
        reference_fingerprint=reference.model.fingerprint,
        candidate_fingerprint=candidate.model.fingerprint,
        alpha=alpha,
        adjustment="holm",
        unmatched_items=unmatched,
        comparisons=adjust_for_multiplicity(comparisons, alpha),
    )


def adjust_for_multiplicity(comparisons: list[PairedComparison], alpha: float) -> list[PairedComparison]:
    """Every tested row with its Holm-adjusted p (Holm 1979) and ``significant`` re-read from it.

    The family is every row with a p-value (McNemar and paired-bootstrap rows alike);
    untested rows (unpaired, or no p) are left as they are.
    """
    tested = [i for i, c in enumerate(comparisons) if c.p_value is not None]
    adjusted = holm_adjusted([comparisons[i].p_value or 0.0 for i in tested])
    out = list(comparisons)
    for i, p_adjusted in zip(tested, adjusted, strict=True):
        out[i] = out[i].model_copy(update={"p_adjusted": p_adjusted, "significant": p_adjusted < alpha})
    return out


def paired_bootstrap_comparisons(
    suite: PairedStatistics,
    reference: list[ItemRecord],
    candidate: list[ItemRecord],
    *,
    alpha: float,
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
) -> list[PairedComparison]:
    """Paired bootstrap for metrics that are not per-item proportions (ECE, Brier, NLL).

    Items are resampled once for both runs, so each draw compares the two models on the
    same items (Efron & Tibshirani 1993, ch. 16 for the paired design). The two-sided
    p-value is twice the smaller share of draws on either side of zero.
    """
    ref_keys, ref_fns = suite.paired_statistics(reference)
    cand_keys, cand_fns = suite.paired_statistics(candidate)
    cand_index = {k: i for i, k in enumerate(cand_keys)}
    common = [(i, cand_index[k]) for i, k in enumerate(ref_keys) if k in cand_index]
    if not common:
        return []
    ia = np.array([a for a, _ in common])
    ib = np.array([b for _, b in common])
    n = len(common)
    draws = bootstrap_draws(n, n_boot, seed)
    out = []
    for metric, fa in ref_fns.items():
        fb = cand_fns.get(metric)
        if fb is None:
            continue
        ref_value, cand_value = float(fa(ia[None, :])[0]), float(fb(ib[None, :])[0])
        diffs = fb(ib[draws]) - fa(ia[draws])
        p_value = float(min(1.0, 2 * min((diffs <= 0).mean(), (diffs >= 0).mean())))
        low, high = np.percentile(diffs, [2.5, 97.5])
        change = cand_value - ref_value
        relative = change / ref_value if ref_value else None
        out.append(
            PairedComparison(
                metric=metric,
                paired=True,
                n=n,
                reference=ref_value,
                candidate=cand_value,
                change=change,
                relative_change=relative,
                relative_drop=None if relative is None else 0.0 - relative,
                ci_low=float(low),
                ci_high=float(high),
                ci_method=f"paired-bootstrap-{n_boot}",
                p_value=p_value,
                test="paired-bootstrap",
                significant=p_value < alpha,
            )
        )
    return out


def compare_run_dirs(reference_ref: str | Path, candidate_ref: str | Path, *, alpha: float = 0.05) -> RunComparison:
    """:func:`compare_runs` on two stored runs (run directories or results.json paths)."""
    loaded = []
    for ref in (reference_ref, candidate_ref):
        path = resolve_results_path(ref)
        items = path.parent / ITEMS_FILE
        if not items.is_file():
            raise InputError(f"{path.parent}: no {ITEMS_FILE}; a paired comparison needs the run's item records")
        loaded.append((load_results(path), read_items(items)))
    (reference, ref_items), (candidate, cand_items) = loaded
    return compare_runs(reference, ref_items, candidate, cand_items, alpha=alpha)


def _matched(
    reference: list[ItemRecord], candidate: list[ItemRecord]
) -> tuple[list[ItemRecord], list[ItemRecord], int]:
    """Records of items both runs evaluated with the same prompt; the count of the rest."""
    ref_by_key = {(r.suite, r.item_id): r for r in reference}
    cand_by_key = {(r.suite, r.item_id): r for r in candidate}
    shared = [k for k in ref_by_key if k in cand_by_key and ref_by_key[k].prompt_hash == cand_by_key[k].prompt_hash]
    unmatched = len(ref_by_key) + len(cand_by_key) - 2 * len(shared)
    return [ref_by_key[k] for k in shared], [cand_by_key[k] for k in shared], unmatched


LEGACY_COMPARISON_FILE = "comparison.json"  # one file per run, before comparisons were kept per baseline


def comparison_path(run_dir: Path, reference_run_id: str) -> Path | None:
    """The file holding the run's comparison against ``reference_run_id``, if one was stored."""
    found = load_comparison_file(run_dir, reference_run_id)
    return found[1] if found else None


def load_comparison(run_dir: Path, reference_run_id: str) -> RunComparison | None:
    """The stored comparison of the run in ``run_dir`` against baseline ``reference_run_id``, if made."""
    found = load_comparison_file(run_dir, reference_run_id)
    return found[0] if found else None


def load_comparison_file(run_dir: Path, reference_run_id: str) -> tuple[RunComparison, Path] | None:
    for path in (run_dir / comparison_file_name(reference_run_id), run_dir / LEGACY_COMPARISON_FILE):
        if not path.is_file():
            continue
        try:
            comparison = RunComparison.model_validate_json(path.read_text(encoding="utf-8"))
        except ValueError:
            raise InputError(f"{path}: not a harness comparison file") from None
        if comparison.reference_run == reference_run_id:
            return comparison, path
    return None
