"""What only a person can write: the provider's input to the dossier (``provider.yaml``).

Every field is optional. A field left out renders as a visible "human input required"
placeholder where the dossier needs it, and the cover lists every open placeholder, so
nothing a regulator expects is silently dropped.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.errors import InputError
from harness.files.yaml_files import key_line, read_yaml, validate_yaml


class ResidualRisk(BaseModel):
    """The provider's judgement of one risk after its treatment (Art. 9(5))."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    treatment: str | None = None
    residual_severity: int | None = Field(default=None, ge=1, le=5)
    residual_likelihood: int | None = Field(default=None, ge=1, le=5)
    accepted: bool | None = None
    rationale: str | None = None
    owner: str | None = None
    justification: str | None = Field(
        default=None,
        description="why a residual risk left in the unacceptable zone is kept (Art. 9(5)); needs signed_by",
    )
    signed_by: str | None = Field(
        default=None, description="name, role and date of the person who signed the justification"
    )


class ProviderInput(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    system_name: str | None = Field(default=None, description="Name of the AI system or model as released")
    system_version: str | None = Field(
        default=None, description="Version as released (a promoted adapter's registry version is used when left out)"
    )
    provider: str | None = Field(default=None, description="Legal name and address of the provider (Annex IV 1(a))")
    contact: str | None = Field(default=None, description="Contact for questions about the system or model")
    intended_purpose: str | None = Field(default=None, description="Annex IV 1(a), Annex XI 1(a), Art. 13(3)(b)(i)")
    intended_users: str | None = Field(default=None, description="Who is meant to use it (Art. 13(3)(b)(v))")
    out_of_scope_use: str | None = Field(default=None, description="Uses it is not meant for (Art. 13(3)(b)(iii))")
    foreseeable_misuse: str | None = Field(default=None, description="Art. 9(2)(b), Art. 13(3)(b)(iii)")
    acceptable_use_policy: str | None = Field(default=None, description="Annex XI 1(b), Annex XII 1(b)")
    interaction_with_other_systems: str | None = Field(
        default=None,
        description="Annex IV 1(b), Annex XII 1(d): hardware, software and other AI systems it interacts with",
    )
    update_requirements: str | None = Field(
        default=None, description="Annex IV 1(c): requirements related to software and version updates"
    )
    release_date: str | None = Field(default=None, description="Annex XI 1(c), Annex XII 1(c): date of release")
    forms_of_release: str | None = Field(
        default=None, description="Annex IV 1(d), Annex XI 1(c): forms of release and methods of distribution"
    )
    intended_hardware: str | None = Field(default=None, description="Annex IV 1(e): hardware it is intended to run on")
    product_components: str | None = Field(
        default=None,
        description="Annex IV 1(f): where the system is a component of products, their external features, "
        "marking and internal layout (write 'not applicable' if it is not)",
    )
    user_interface: str | None = Field(
        default=None, description="Annex IV 1(g): basic description of the user interface provided to the deployer"
    )
    instructions_for_use: str | None = Field(default=None, description="Annex IV 1(h), Art. 13")
    design_choices: str | None = Field(
        default=None, description="Annex IV 2(b): key design choices, assumptions and trade-offs"
    )
    system_architecture: str | None = Field(
        default=None,
        description="Annex IV 2(c): how the software components build on or feed into each other around the model",
    )
    data_selection_rationale: str | None = Field(default=None, description="Annex IV 2(d), Art. 10(2)")
    human_oversight_measures: str | None = Field(default=None, description="Annex IV 2(e), Art. 14")
    predetermined_changes: str | None = Field(default=None, description="Annex IV 2(f)")
    cybersecurity_measures: str | None = Field(default=None, description="Annex IV 2(h), Art. 15(5)")
    limitations_narrative: str | None = Field(default=None, description="Annex IV 3: foreseeable unintended outcomes")
    metric_rationale: str | None = Field(default=None, description="Annex IV 4: why these metrics suit the system")
    standards_applied: list[str] | None = Field(default=None, description="Annex IV 7")
    declaration_of_conformity: str | None = Field(default=None, description="Annex IV 8, Art. 47")
    post_market_monitoring_plan: str | None = Field(default=None, description="Annex IV 9, Art. 72")
    record_keeping: str | None = Field(
        default=None, description="Art. 12: how the deployed system records events (logs) over its lifetime"
    )
    quality_management_system: str | None = Field(
        default=None, description="Art. 17: the quality management system (procedures, responsibilities)"
    )
    adversarial_testing: str | None = Field(
        default=None, description="Annex XI section 2 point 2: adversarial testing (red teaming), model adaptations"
    )
    copyright_policy: str | None = Field(
        default=None, description="Art. 53(1)(c): policy to comply with Union copyright law, incl. rights reservations"
    )
    training_content_summary: str | None = Field(
        default=None, description="Art. 53(1)(d): public summary of the content used for training"
    )
    license: str | None = Field(default=None, description="SPDX licence of the released model or adapter")
    risks: dict[str, ResidualRisk] = Field(
        default_factory=dict, description="risk_id -> treatment and residual judgement"
    )
    kind: Literal["system", "model"] | None = None


PLACEHOLDER_FIELDS: dict[str, str] = {
    "system_name": "Name of the AI system or model",
    "system_version": "Version as released (Annex IV 1(a))",
    "provider": "Provider's legal name and address (Annex IV 1(a))",
    "contact": "Contact for the system or model",
    "intended_purpose": "Intended purpose (Annex IV 1(a))",
    "intended_users": "Intended users (Art. 13(3)(b)(v))",
    "out_of_scope_use": "Uses out of scope (Art. 13(3)(b)(iii))",
    "foreseeable_misuse": "Reasonably foreseeable misuse (Art. 9(2)(b))",
    "acceptable_use_policy": "Acceptable use policy (Annex XI 1(b))",
    "interaction_with_other_systems": "Interaction with other hardware, software and AI systems (Annex IV 1(b))",
    "update_requirements": "Requirements related to version updates (Annex IV 1(c))",
    "release_date": "Date of release (Annex XI 1(c))",
    "forms_of_release": "Forms of release (Annex IV 1(d))",
    "intended_hardware": "Hardware the system is intended to run on (Annex IV 1(e))",
    "product_components": "Products the system is a component of (Annex IV 1(f))",
    "user_interface": "User interface provided to the deployer (Annex IV 1(g))",
    "instructions_for_use": "Instructions for use (Annex IV 1(h))",
    "design_choices": "Design choices and trade-offs (Annex IV 2(b))",
    "system_architecture": "System architecture around the model (Annex IV 2(c))",
    "data_selection_rationale": "Data selection rationale (Annex IV 2(d))",
    "human_oversight_measures": "Human oversight measures (Annex IV 2(e))",
    "predetermined_changes": "Pre-determined changes (Annex IV 2(f))",
    "cybersecurity_measures": "Cybersecurity measures (Annex IV 2(h))",
    "limitations_narrative": "Foreseeable unintended outcomes (Annex IV 3)",
    "metric_rationale": "Why these metrics suit the system (Annex IV 4)",
    "standards_applied": "Standards applied (Annex IV 7)",
    "declaration_of_conformity": "EU declaration of conformity (Annex IV 8)",
    "post_market_monitoring_plan": "Post-market monitoring plan (Annex IV 9)",
    "record_keeping": "Event logging of the deployed system (Art. 12)",
    "quality_management_system": "Quality management system (Art. 17)",
    "adversarial_testing": "Adversarial testing and model adaptations (Annex XI section 2)",
    "copyright_policy": "Copyright policy (Art. 53(1)(c))",
    "training_content_summary": "Summary of the content used for training (Art. 53(1)(d))",
    "license": "Licence of the released model or adapter",
}


def load_provider_input(path: str | Path | None, catalogue_ids: Collection[str] | None = None) -> ProviderInput:
    """The provider input, validated; no file means every human field is open.

    With ``catalogue_ids`` (the ids of the risk catalogue), a residual judgement of a risk
    the catalogue does not have is refused with its line, instead of being left out of the
    dossier unseen.
    """
    if path is None:
        return ProviderInput()
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a provider input file")
    if not path.is_file():
        raise InputError(f"{path}: no such provider input file (harness dossier init writes a template)")
    root, data = read_yaml(path, InputError)
    if data is None:
        return ProviderInput()
    if not isinstance(data, dict):
        raise InputError(f"{path}:1: provider input is a mapping of fields (see harness dossier init)")
    provider = validate_yaml(ProviderInput, data, path=path, root=root, error=InputError, what="provider input")
    if catalogue_ids is not None:
        validate_risk_ids(provider, catalogue_ids, path=path, root=root)
    return provider


def validate_risk_ids(
    provider: ProviderInput, catalogue_ids: Collection[str], *, path: Path | None = None, root: Any = None
) -> None:
    """Every risk id under ``risks`` must be one of ``catalogue_ids`` (the risk catalogue's ids).

    A misspelt id would otherwise attach the provider's treatment and residual judgement
    to no risk at all, and the dossier would show that risk as untreated. The error names
    the file and line when ``path`` (and the YAML node tree ``root``) are given.
    """
    known = set(catalogue_ids)
    for risk_id in provider.risks:
        if risk_id in known:
            continue
        where = f"{path}:{key_line(root, ('risks', risk_id))}: " if path is not None and root is not None else ""
        where = where or (f"{path}: " if path is not None else "provider input: ")
        listing = ", ".join(sorted(known)) or "none"
        raise InputError(f"{where}risks.{risk_id}: no such risk in the risk catalogue (its ids: {listing})")


def template_text() -> str:
    """A commented provider.yaml with every field, for ``harness dossier init``."""
    lines = [
        "# provider.yaml: what only the provider can write into the dossier.",
        "# Every field is optional: anything left out shows as 'human input required' in the",
        "# dossier, and its cover lists every open item. Validated by harness (unknown keys are errors).",
        "",
    ]
    for name, field in ProviderInput.model_fields.items():
        if name in ("risks", "kind"):
            continue
        lines.append(f"# {field.description or PLACEHOLDER_FIELDS.get(name, name.replace('_', ' '))}")
        lines.append(f"# {name}: []" if name == "standards_applied" else f"# {name}: ")
        lines.append("")
    lines += [
        "# Dossier kind: system (Annex IV, high-risk system) or model (Annex XI/XII, GPAI model).",
        "# kind: system",
        "",
        "# Residual risk per risk_id of policies/risks.yaml, after treatment (Art. 9(5)):",
        "# risks:",
        "#   confident-wrong-evacuation-advice:",
        "#     treatment: Low-confidence answers are routed to a duty officer.",
        "#     residual_severity: 4",
        "#     residual_likelihood: 2",
        "#     accepted: true",
        "#     rationale: Human confirmation before any evacuation order.",
        "#     owner: Head of operations",
        "#     # A residual position in the unacceptable zone blocks release unless justified and signed:",
        "#     # justification: Why the risk is kept, and what limits it.",
        "#     # signed_by: Name, role, date",
    ]
    return "\n".join(lines) + "\n"
