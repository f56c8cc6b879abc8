"""YAML inputs (policies, expectation suites) read with line numbers for one-line errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

from harness.errors import HarnessError

if TYPE_CHECKING:
    from pydantic import BaseModel

M = TypeVar("M", bound="BaseModel")


def read_yaml(path: Path, error: type[HarnessError]) -> tuple[Any, Any]:
    """The YAML node tree (for line numbers) and the parsed data; bad YAML raises ``error`` naming file and line."""
    text = path.read_text(encoding="utf-8")
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader), yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{path}{line}: not valid YAML ({problem})") from None


def line_of(node: Any, loc: tuple[Any, ...]) -> int:
    """1-based line of the YAML node at ``loc`` (or of its deepest existing parent)."""
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            child = node.value[key]
        else:
            child = None
        if child is None:
            break
        node = child
    return node.start_mark.line + 1 if node is not None else 1


def shipped_or_path(path: str | Path, folder: str, error: type[HarnessError], what: str) -> Path:
    """``path`` if it is a file, else a YAML file of that name shipped in ``harness.policies/<folder>``."""
    candidate = Path(path)
    if candidate.is_file():
        return candidate
    from importlib.resources import files

    shipped = Path(str(files("harness.policies"))) / folder
    for name in (str(path), f"{path}.yaml"):
        if (shipped / name).is_file():
            return shipped / name
    known = ", ".join(sorted(p.stem for p in shipped.glob("*.yaml")))
    raise error(f"{what} {path} does not exist (a YAML file, or a shipped name: {known})")


def dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def validate_yaml(
    model: type[M],
    data: Any,
    *,
    path: Path,
    root: Any,
    error: type[HarnessError],
    what: str,
    format_loc: Callable[[tuple[Any, ...]], str] = dotted,
) -> M:
    """``model`` validated from YAML ``data``; the first problem raises ``error`` as ``file:line: field: message``."""
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        raise error(f"{path}:{line_of(root, loc)}: {format_loc(loc) or what}: {message}") from None
