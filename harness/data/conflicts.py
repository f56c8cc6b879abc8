"""The methodology's conflict-resolution protocol for expert labels.

1. Find disagreements: raters gave different labels, or their confidence differs by more
   than 0.3 even where the labels agree.
2. With three or more raters, take the majority label; keep every other view as an
   alternative and mark the item ``disputed`` with its agreement share.
3. Where no majority exists (a tie, or two raters who disagree), the item needs a third
   expert: it keeps no resolved label and is listed for review.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from harness.data.agreement import load_ratings
from harness.data.tables import row_location
from harness.errors import DataError

CONFIDENCE_GAP = 0.3

Status = Literal["agreed", "majority", "needs-third-expert", "needs-second-rater"]


class ResolvedItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: str
    label: str | None
    status: Status
    disputed: bool
    agreement: float  # share of raters who gave the resolved (or most common) label
    n_raters: int
    votes: dict[str, int]
    alternatives: list[str]
    confidence_spread: float | None = None
    reasons: list[str]


class ConflictReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str
    n_items: int
    agreed: int
    resolved_by_majority: int
    needs_third_expert: int
    needs_second_rater: int = 0
    disputed: int
    confidence_gap: float
    items: list[ResolvedItem]

    @property
    def disputed_share(self) -> float:
        return self.disputed / self.n_items if self.n_items else 0.0

    def as_evidence(self) -> dict[str, Any]:
        """The report for provenance: the counts, and only the items that were disputed or unresolved."""
        payload = self.model_dump(mode="json")
        payload["items"] = [i for i in payload["items"] if i["disputed"] or i["status"] != "agreed"]
        return payload


def resolve_item(item_id: str, labels: list[str], confidences: list[float] | None = None) -> ResolvedItem:
    """Apply the protocol to one item's labels (one per rater) and optional confidences in [0, 1]."""
    votes = Counter(labels)
    ranked = votes.most_common()
    top_label, top_count = ranked[0]
    tie = len(ranked) > 1 and ranked[1][1] == top_count
    spread = (max(confidences) - min(confidences)) if confidences else None
    reasons = []
    if len(ranked) > 1:
        reasons.append("different labels")
    if spread is not None and spread > CONFIDENCE_GAP + 1e-12:
        reasons.append(f"confidence differs by {spread:.2f} (> {CONFIDENCE_GAP})")
    if len(labels) < 2:
        status: Status = "needs-second-rater"  # one opinion is not agreement
    elif len(ranked) == 1:
        status = "agreed"
    elif len(labels) >= 3 and not tie:
        status = "majority"
    else:
        status = "needs-third-expert"
    label = None if status in ("needs-third-expert", "needs-second-rater") else top_label
    return ResolvedItem(
        item_id=item_id,
        label=label,
        status=status,
        disputed=bool(reasons),
        agreement=top_count / len(labels),
        n_raters=len(labels),
        votes=dict(votes),
        alternatives=[v for v, _ in ranked if v != label],
        confidence_spread=spread,
        reasons=reasons,
    )


def resolve_ratings(path: str | Path) -> ConflictReport:
    """The protocol over a long-format ratings file (item_id, rater_id, label[, confidence])."""
    frame = load_ratings(path)
    if "label" not in frame.columns:
        raise DataError(f"{path}: conflict resolution needs a 'label' column")
    has_confidence = "confidence" in frame.columns
    if has_confidence:
        try:
            conf = frame["confidence"].astype(float)
        except (TypeError, ValueError, OverflowError):
            raise DataError(f"{path}: column 'confidence' must hold numbers in [0, 1]") from None
        frame["confidence"] = conf
        outside = ((conf < 0) | (conf > 1)).to_numpy()  # NaN here is a missing confidence (an empty cell)
        if outside.any():
            where = row_location(Path(path), frame, int(outside.nonzero()[0][0]))
            raise DataError(f"{path}{where}: confidence must lie in [0, 1], got {conf.iloc[outside.nonzero()[0][0]]}")
    items = []
    for item_id, group in frame.dropna(subset=["label"]).groupby("item_id", sort=True):
        confidences = group["confidence"].astype(float).dropna().tolist() if has_confidence else None
        items.append(resolve_item(str(item_id), group["label"].astype(str).tolist(), confidences or None))
    return ConflictReport(
        source=str(path),
        n_items=len(items),
        agreed=sum(i.status == "agreed" for i in items),
        resolved_by_majority=sum(i.status == "majority" for i in items),
        needs_third_expert=sum(i.status == "needs-third-expert" for i in items),
        needs_second_rater=sum(i.status == "needs-second-rater" for i in items),
        disputed=sum(i.disputed for i in items),
        confidence_gap=CONFIDENCE_GAP,
        items=items,
    )


def apply_resolution(
    rows: list[dict[str, Any]], report: ConflictReport, *, id_field: str, label_field: str
) -> list[dict[str, Any]]:
    """The dataset with resolved labels and the methodology's dispute metadata on each row.

    Rows whose item needs a third expert keep their label field empty (None) until one
    has looked; rows without ratings are left as they are.
    """
    by_id = {i.item_id: i for i in report.items}
    out = []
    for row in rows:
        resolved = by_id.get(str(row.get(id_field)))
        if resolved is None:
            out.append(row)
            continue
        out.append(
            row
            | {
                label_field: resolved.label,
                "metadata": dict(row.get("metadata") or {})
                | {
                    "disputed": resolved.disputed,
                    "expert_agreement": round(resolved.agreement, 4),
                    "answer_alternative": resolved.alternatives,
                    "resolution": resolved.status,
                },
            }
        )
    return out
