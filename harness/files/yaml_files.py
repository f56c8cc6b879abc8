"""YAML inputs (policies, expectation suites, risk files, provider input, training configs).

Read strictly, with line numbers for one-line errors: a file that cannot be read, is not
UTF-8 or is not YAML names file and line; so do what YAML would otherwise accept silently:
a key given twice in one mapping (YAML keeps the last one, the spec forbids it), NaN or
infinity where a number belongs, nesting deeper than ``MAX_DEPTH`` levels, and aliases
that expand to more than ``MAX_VALUES`` values.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

from harness.errors import HarnessError, os_error_text
from harness.files.shipped import shipped_files

if TYPE_CHECKING:
    from pydantic import BaseModel

M = TypeVar("M", bound="BaseModel")

MAX_DEPTH = 50  # policies and configs nest four or five levels
MAX_VALUES = 1_000_000  # values after aliases are expanded

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Refused(yaml.YAMLError):
    """YAML that parses but that harness refuses; ``problem`` says why, ``problem_mark`` where."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses duplicated mapping keys and nesting deeper than ``MAX_DEPTH``."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self._depth >= MAX_DEPTH:
            raise _Refused(f"nested deeper than {MAX_DEPTH} levels", self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            check_unique_keys(node)
        return super().construct_mapping(node, deep=deep)


def check_unique_keys(node: Any) -> None:
    """Refuse a key written twice in one mapping (merged ``<<`` keys may be overridden, as YAML says)."""
    seen: dict[tuple[str, str], Any] = {}
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE_TAG:
            continue
        first = seen.setdefault((key.tag, key.value), key)
        if first is not key:
            raise _Refused(
                f"key {key.value!r} appears twice in one mapping (first on line {first.start_mark.line + 1}); "
                "YAML would silently keep only the last",
                key.start_mark,
            )


def read_yaml(path: Path, error: type[HarnessError]) -> tuple[Any, Any]:
    """The YAML node tree (for line numbers) and the parsed data; any problem raises ``error`` naming file and line."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise error(os_error_text(exc, path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        root, data = _compose(text), _load(text)
    except _Refused as exc:
        raise error(f"{path}:{exc.problem_mark.line + 1}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{path}{line}: not valid YAML ({' '.join(str(problem).split())})") from None
    except RecursionError:
        raise error(f"{path}: nested too deeply to read") from None
    check_values(data, path=path, root=root, error=error)
    return root, data


def _compose(text: str) -> Any:
    loader = StrictLoader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _load(text: str) -> Any:
    loader = StrictLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def check_values(data: Any, *, path: Path, root: Any, error: type[HarnessError]) -> None:
    """Refuse NaN and infinity anywhere in ``data``, naming field and line, and alias bombs.

    IEEE 754 NaN compares false with every bound, so a NaN bound would pass everything;
    YAML writes them ``.nan`` and ``.inf``. Shared (aliased) values are visited once, so the
    walk is linear in the file while the expanded size is still counted.
    """
    sizes: dict[int, int] = {}

    def visit(value: Any, loc: tuple[Any, ...]) -> int:
        if isinstance(value, float) and not math.isfinite(value):
            raise error(f"{path}:{line_of(root, loc)}: {field_name(loc)}: {value} is not a finite number")
        if not isinstance(value, (dict, list)):
            return 1
        if id(value) in sizes:
            return sizes[id(value)]
        children = value.items() if isinstance(value, dict) else enumerate(value)
        size = 1 + sum(visit(child, (*loc, key)) for key, child in children)
        if size > MAX_VALUES:
            raise error(f"{path}: expands to more than {MAX_VALUES:,} values (YAML aliases); write the values out")
        sizes[id(value)] = size
        return size

    visit(data, ())


def field_name(loc: tuple[Any, ...]) -> str:
    """``rules[2].min`` for the location ``("rules", 2, "min")``; ``value`` for the whole document."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "value"


def line_of(node: Any, loc: tuple[Any, ...]) -> int:
    """1-based line of the YAML node at ``loc`` (or of its deepest existing parent)."""
    for key in loc:
        child = _child(node, key)
        if child is None:
            break
        node = child
    return node.start_mark.line + 1 if node is not None else 1


def key_line(node: Any, loc: tuple[Any, ...]) -> int:
    """1-based line of the key that ends ``loc`` (a mapping key's own line, not its value's)."""
    parent = node
    for key in loc[:-1]:
        parent = _child(parent, key)
        if parent is None:
            return line_of(node, loc)
    if isinstance(parent, yaml.MappingNode):
        for key_node, _ in parent.value:
            if key_node.value == loc[-1]:
                return int(key_node.start_mark.line) + 1
    return line_of(node, loc)


def _child(node: Any, key: Any) -> Any:
    if isinstance(node, yaml.MappingNode):
        return next((v for k, v in node.value if k.value == key), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        return node.value[key]
    return None


def shipped_or_path(
    path: str | Path,
    folder: str,
    error: type[HarnessError],
    what: str,
    accepts: Callable[[Path], bool] | None = None,
) -> Path:
    """``path`` if it is a file, else a YAML file of that name shipped in ``harness.policies/<folder>``.

    ``accepts`` narrows which shipped files count as a ``what`` (policies share their folder
    with the risk catalogue and criteria); the error lists exactly the names it accepts.
    """
    if str(path) == "":
        raise error(f"{what}: an empty path was given")
    candidate = Path(path)
    if candidate.is_file():
        return candidate
    shipped = shipped_files(folder, accepts)
    # A bare name is the shipped file's even where a folder of that name sits in the working
    # directory (`harness monitor --out monitoring/`, then `--policy monitoring`).
    bare = len(candidate.parts) == 1 and not str(path).endswith(("/", "\\"))
    for name in (str(path), f"{path}.yaml"):
        if name in shipped and (bare or not candidate.is_dir()):
            return shipped[name]
    if candidate.is_dir():
        raise error(f"{path}: is a folder, not a {what} file")
    known = ", ".join(sorted(p.stem for p in shipped.values()))
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
        message = " ".join(str(err["msg"]).removeprefix("Value error, ").split())
        raise error(f"{path}:{line_of(root, loc)}: {format_loc(loc) or what}: {message}") from None
