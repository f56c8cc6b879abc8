"""A base model's licence, from its model card's front matter and its licence file, classed for commercial fine-tuning.

The methodology's first requirement of a base model is a permissive licence for commercial
use: Apache 2.0 and MIT are acceptable; a licence with conditions (the Llama community
licences' 700 million monthly-active-users clause, use-based restrictions) is acceptable
with those conditions; non-commercial and no-derivatives licences are not (an emergency
service cannot deploy the first, nobody may fine-tune under the second). A licence harness
cannot identify is ``unknown``: a person must read it.

Sources, in order: the ``license:`` key of the model card's YAML front matter (Hugging Face
licence identifiers, mapped to SPDX ids; ``other`` defers to ``license_name``), then the
text of ``LICENSE`` (or ``LICENCE``, ``LICENSE.txt``, ``LICENSE.md``). When both name a
licence and their classes differ, the finding is ``unknown``: the files contradict each
other and a person must decide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from harness.intake.record import LicenceFinding

LICENCE_FILES = ("LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE", "LICENCE.txt", "LICENCE.md", "COPYING")
CARD_FILE = "README.md"

LLAMA_CONDITIONS = (
    "free for products with fewer than 700 million monthly active users (above that, a licence from Meta); "
    "Meta's acceptable use policy applies; attribution required"
)
RAIL_CONDITIONS = "use-based restrictions (the licence's list of prohibited uses) pass to every derivative"
GEMMA_CONDITIONS = "Google's prohibited use policy applies and passes to every derivative"
COPYLEFT_CONDITIONS = "derivatives distributed must carry the same licence (copyleft)"


Status = Literal["acceptable", "conditions", "unacceptable"]


@dataclass(frozen=True)
class KnownLicence:
    spdx: str
    status: Status
    conditions: str | None = None


def _known(spdx: str, status: Status, conditions: str | None = None) -> KnownLicence:
    return KnownLicence(spdx, status, conditions)


# Hugging Face licence identifiers (the model card's ``license:``) and common ``license_name`` values.
CARD_LICENCES: dict[str, KnownLicence] = {
    "apache-2.0": _known("Apache-2.0", "acceptable"),
    "mit": _known("MIT", "acceptable"),
    "bsd": _known("BSD-3-Clause", "acceptable"),
    "bsd-2-clause": _known("BSD-2-Clause", "acceptable"),
    "bsd-3-clause": _known("BSD-3-Clause", "acceptable"),
    "bsd-3-clause-clear": _known("BSD-3-Clause-Clear", "acceptable"),
    "isc": _known("ISC", "acceptable"),
    "unlicense": _known("Unlicense", "acceptable"),
    "cc0-1.0": _known("CC0-1.0", "acceptable"),
    "cc-by-4.0": _known("CC-BY-4.0", "acceptable"),
    "cc-by-3.0": _known("CC-BY-3.0", "acceptable"),
    "zlib": _known("Zlib", "acceptable"),
    "afl-3.0": _known("AFL-3.0", "acceptable"),
    "cc-by-sa-4.0": _known("CC-BY-SA-4.0", "conditions", COPYLEFT_CONDITIONS),
    "cc-by-sa-3.0": _known("CC-BY-SA-3.0", "conditions", COPYLEFT_CONDITIONS),
    "mpl-2.0": _known("MPL-2.0", "conditions", "changes to the licensed files must be published (file-level copyleft)"),
    "gpl-3.0": _known("GPL-3.0-only", "conditions", COPYLEFT_CONDITIONS),
    "gpl-2.0": _known("GPL-2.0-only", "conditions", COPYLEFT_CONDITIONS),
    "agpl-3.0": _known("AGPL-3.0-only", "conditions", COPYLEFT_CONDITIONS + ", also when offered over a network"),
    "lgpl-3.0": _known("LGPL-3.0-only", "conditions", COPYLEFT_CONDITIONS),
    "llama2": _known("LicenseRef-Llama-2-Community", "conditions", LLAMA_CONDITIONS),
    "llama3": _known("LicenseRef-Llama-3-Community", "conditions", LLAMA_CONDITIONS),
    "llama3.1": _known("LicenseRef-Llama-3.1-Community", "conditions", LLAMA_CONDITIONS),
    "llama3.2": _known("LicenseRef-Llama-3.2-Community", "conditions", LLAMA_CONDITIONS),
    "llama3.3": _known("LicenseRef-Llama-3.3-Community", "conditions", LLAMA_CONDITIONS),
    "llama4": _known("LicenseRef-Llama-4-Community", "conditions", LLAMA_CONDITIONS),
    "gemma": _known("LicenseRef-Gemma-Terms-of-Use", "conditions", GEMMA_CONDITIONS),
    "openrail": _known("LicenseRef-OpenRAIL", "conditions", RAIL_CONDITIONS),
    "openrail++": _known("LicenseRef-OpenRAIL++", "conditions", RAIL_CONDITIONS),
    "creativeml-openrail-m": _known("LicenseRef-CreativeML-OpenRAIL-M", "conditions", RAIL_CONDITIONS),
    "bigscience-openrail-m": _known("LicenseRef-BigScience-OpenRAIL-M", "conditions", RAIL_CONDITIONS),
    "bigscience-bloom-rail-1.0": _known("LicenseRef-BigScience-BLOOM-RAIL-1.0", "conditions", RAIL_CONDITIONS),
    "bigcode-openrail-m": _known("LicenseRef-BigCode-OpenRAIL-M", "conditions", RAIL_CONDITIONS),
    "tongyi-qianwen": _known(
        "LicenseRef-Tongyi-Qianwen",
        "conditions",
        "products with more than 100 million monthly active users need a licence from Alibaba Cloud",
    ),
    "cc-by-nc-4.0": _known("CC-BY-NC-4.0", "unacceptable"),
    "cc-by-nc-3.0": _known("CC-BY-NC-3.0", "unacceptable"),
    "cc-by-nc-2.0": _known("CC-BY-NC-2.0", "unacceptable"),
    "cc-by-nc-sa-4.0": _known("CC-BY-NC-SA-4.0", "unacceptable"),
    "cc-by-nc-sa-3.0": _known("CC-BY-NC-SA-3.0", "unacceptable"),
    "cc-by-nc-sa-2.0": _known("CC-BY-NC-SA-2.0", "unacceptable"),
    "cc-by-nc-nd-4.0": _known("CC-BY-NC-ND-4.0", "unacceptable"),
    "cc-by-nc-nd-3.0": _known("CC-BY-NC-ND-3.0", "unacceptable"),
    "cc-by-nd-4.0": _known("CC-BY-ND-4.0", "unacceptable"),
    "cc-by-nd-3.0": _known("CC-BY-ND-3.0", "unacceptable"),
    "deepfloyd-if-license": _known("LicenseRef-DeepFloyd-IF", "unacceptable"),
    "qwen-research": _known("LicenseRef-Qwen-Research", "unacceptable"),
}

WHY_UNACCEPTABLE = {
    "NC": "non-commercial only: an emergency service cannot deploy it",
    "ND": "no derivatives: fine-tuning is not allowed",
    "research": "research use only: it cannot be deployed",
}


def classify_card_licence(value: str | None, name: str | None = None) -> KnownLicence | None:
    """The known licence a model card's ``license:`` (and ``license_name`` for ``other``) names, or None."""
    for candidate in (value, name):
        if candidate is None:
            continue
        key = str(candidate).strip().lower()
        if key in CARD_LICENCES:
            return CARD_LICENCES[key]
        by_spdx = {k.spdx.lower(): k for k in CARD_LICENCES.values()}
        if key in by_spdx:
            return by_spdx[key]
    return None


_TEXT_RULES: tuple[tuple[re.Pattern[str], KnownLicence], ...] = (
    (re.compile(r"NonCommercial-NoDerivatives", re.I), _known("CC-BY-NC-ND-4.0", "unacceptable")),
    (re.compile(r"NonCommercial-ShareAlike", re.I), _known("CC-BY-NC-SA-4.0", "unacceptable")),
    (re.compile(r"Attribution-NonCommercial|NonCommercial\s+4\.0", re.I), _known("CC-BY-NC-4.0", "unacceptable")),
    (re.compile(r"Attribution-NoDerivatives|NoDerivs", re.I), _known("CC-BY-ND-4.0", "unacceptable")),
    (
        re.compile(r"\bnon-?commercial (?:use|purposes?|research)|research (?:use )?only|not for commercial use", re.I),
        _known("LicenseRef-Non-Commercial", "unacceptable"),
    ),
    (re.compile(r"LLAMA 4 COMMUNITY LICENSE", re.I), CARD_LICENCES["llama4"]),
    (re.compile(r"LLAMA 3\.3 COMMUNITY LICENSE", re.I), CARD_LICENCES["llama3.3"]),
    (re.compile(r"LLAMA 3\.2 COMMUNITY LICENSE", re.I), CARD_LICENCES["llama3.2"]),
    (re.compile(r"LLAMA 3\.1 COMMUNITY LICENSE", re.I), CARD_LICENCES["llama3.1"]),
    (re.compile(r"(?:META )?LLAMA 3 COMMUNITY LICENSE", re.I), CARD_LICENCES["llama3"]),
    (re.compile(r"LLAMA 2 COMMUNITY LICENSE", re.I), CARD_LICENCES["llama2"]),
    (re.compile(r"Gemma Terms of Use", re.I), CARD_LICENCES["gemma"]),
    (re.compile(r"Responsible AI License|OpenRAIL", re.I), CARD_LICENCES["openrail"]),
    (re.compile(r"Apache License[\s,]+Version 2\.0", re.I), CARD_LICENCES["apache-2.0"]),
    (re.compile(r"GNU AFFERO GENERAL PUBLIC LICENSE", re.I), CARD_LICENCES["agpl-3.0"]),
    (re.compile(r"GNU LESSER GENERAL PUBLIC LICENSE", re.I), CARD_LICENCES["lgpl-3.0"]),
    (re.compile(r"GNU GENERAL PUBLIC LICENSE\s+Version 3", re.I), CARD_LICENCES["gpl-3.0"]),
    (re.compile(r"GNU GENERAL PUBLIC LICENSE\s+Version 2", re.I), CARD_LICENCES["gpl-2.0"]),
    (re.compile(r"Mozilla Public License,?\s+(?:Version|v\.?)\s*2\.0", re.I), CARD_LICENCES["mpl-2.0"]),
    (
        re.compile(r"Permission is hereby granted, free of charge, to any person obtaining a copy", re.I),
        CARD_LICENCES["mit"],
    ),
    (re.compile(r"\bMIT License\b", re.I), CARD_LICENCES["mit"]),
)


def classify_licence_text(text: str) -> KnownLicence | None:
    """The licence a licence file's text reads as (restrictive wordings are matched first), or None."""
    for pattern, known in _TEXT_RULES:
        if pattern.search(text):
            return known
    if re.search(r"Redistribution and use in source and binary forms", text, re.I):
        three = re.search(r"Neither the name", text, re.I) is not None
        return CARD_LICENCES["bsd-3-clause" if three else "bsd-2-clause"]
    return None


def card_front_matter(text: str) -> dict[str, object]:
    """The YAML front matter of a model card (between the first two ``---`` lines); {} when there is none."""
    match = re.match(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", text, re.DOTALL)
    if not match:
        return {}
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def _card_value(front: dict[str, object], key: str) -> str | None:
    value = front.get(key)
    if isinstance(value, list):  # a card may list several; the first is the model's own
        value = value[0] if value else None
    return None if value is None else str(value)


def licence_finding(model_dir: Path) -> LicenceFinding:
    """Read the card and the licence file of ``model_dir`` and class the licence (see the module docstring)."""
    card_value = card_name = None
    card_known: KnownLicence | None = None
    card = model_dir / CARD_FILE
    if card.is_file():
        front = card_front_matter(card.read_text(encoding="utf-8", errors="replace"))
        card_value, card_name = _card_value(front, "license"), _card_value(front, "license_name")
        card_known = classify_card_licence(card_value, card_name)
    file_name = next((n for n in LICENCE_FILES if (model_dir / n).is_file()), None)
    file_known = None
    if file_name is not None:
        file_known = classify_licence_text((model_dir / file_name).read_text(encoding="utf-8", errors="replace"))
    common = {
        "card": card_value,
        "card_name": card_name,
        "file": file_name,
        "file_spdx": file_known.spdx if file_known else None,
    }
    if card_known and file_known and card_known.status != file_known.status:
        return LicenceFinding(
            spdx=None,
            status="unknown",
            reason=f"the model card says {card_known.spdx} ({card_known.status}), {file_name} reads as "
            f"{file_known.spdx} ({file_known.status}): the files disagree, a person must decide",
            **common,
        )
    known = card_known or file_known
    if known is None:
        said = []
        if card_value:
            said.append(f"the model card says license: {card_value}" + (f" ({card_name})" if card_name else ""))
        if file_name:
            said.append(f"{file_name} matches no licence harness knows")
        where = "; ".join(said) or f"no {CARD_FILE} with a license: key and no LICENSE file"
        return LicenceFinding(spdx=None, status="unknown", reason=f"{where}: a person must read the terms", **common)
    origin = "the model card" if card_known else file_name
    reason = f"{known.spdx} read from {origin}"
    if known.status == "unacceptable":
        reason += ": " + _why_unacceptable(known.spdx)
    return LicenceFinding(
        spdx=known.spdx,
        status=known.status,
        conditions=known.conditions,
        reason=reason,
        **common,
    )


def _why_unacceptable(spdx: str) -> str:
    if "-ND" in spdx:
        return WHY_UNACCEPTABLE["ND"]
    if "Research" in spdx:
        return WHY_UNACCEPTABLE["research"]
    return WHY_UNACCEPTABLE["NC"]
