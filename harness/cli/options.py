"""Option types that validate at the edge: a bad value is a usage error naming the option, before any work.

Each message reads ``--limit must be a positive number of items (at most 1000000000), got -3``:
the option, the rule, the value given. Exit code 2, like every usage error.
"""

from __future__ import annotations

import math
import os
from typing import Any, NoReturn

import click


class OptionError(click.BadParameter):
    """A bad option value, printed as ``<option> <rule>, got <value>``."""

    def format_message(self) -> str:
        return f"{option_name(self.param)} {self.message}"


def option_name(param: click.Parameter | None) -> str:
    """``--limit`` for an option (its longest flag), the metavar for an argument."""
    if param is None:
        return "value"
    if isinstance(param, click.Option) and param.opts:
        return max(param.opts, key=len)
    return param.human_readable_name


class Count(click.ParamType[int, Any]):
    """A whole number within ``[low, high]``; ``rule`` says in words what it counts."""

    name = "integer"

    def __init__(self, low: int, high: int, rule: str) -> None:
        self.low, self.high, self.rule = low, high, rule

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, bool):
            self.fail_option(value, param, ctx)
        if isinstance(value, int):
            number = value
        else:
            try:
                number = int(str(value).strip())
            except ValueError:
                self.fail_option(value, param, ctx)
        if not self.low <= number <= self.high:
            self.fail_option(value, param, ctx)
        return number

    def fail_option(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> NoReturn:
        raise OptionError(f"must be {self.rule}, got {shown(value)}", ctx, param)

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "INTEGER"


class Probability(click.ParamType[float, Any]):
    """A finite number strictly between 0 and 1 (a significance level); NaN and infinity are refused."""

    name = "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not (math.isfinite(number) and 0 < number < 1):
            raise OptionError(f"must be a number between 0 and 1 (exclusive), got {shown(value)}", ctx, param)
        return number


class Device(click.ParamType[str, Any]):
    """A torch device harness runs on: cpu, cuda, cuda:N or mps."""

    name = "device"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from harness.models.modelref import DEVICES, valid_device

        text = str(value).strip()
        if not valid_device(text):
            raise OptionError(f"must be one of {DEVICES}, got {shown(value)}", ctx, param)
        return text


def shown(value: Any) -> str:
    """A value as the user typed it; quoted when it is empty or holds spaces."""
    text = str(value)
    return text if text and not any(c.isspace() for c in text) else repr(text)


def empty_value(
    param: click.Parameter | None, ctx: click.Context | None, what: str, hint: str | None = None
) -> OptionError:
    """The usage error for an empty value, which is most often a shell variable that is not set."""
    cause = hint or "is a shell variable unset?"
    remedy = f"give {what} or leave the option out" if isinstance(param, click.Option) else f"give {what}"
    return OptionError(f"is empty ({cause}): {remedy}", ctx, param)


class Text(click.ParamType[str, Any]):
    """A non-empty string: an empty value (often an unset shell variable) is a usage error."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if not text.strip():
            raise empty_value(param, ctx, "a value")
        return text


class PathType(click.Path):
    """``click.Path`` that refuses an empty value, which would otherwise mean the current folder."""

    def __init__(self, *, empty_hint: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.empty_hint = empty_hint

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, (str, bytes, os.PathLike)) and not os.fsdecode(value).strip():
            raise empty_value(param, ctx, "a path", self.empty_hint)
        return super().convert(value, param, ctx)


class SuiteLimit(click.ParamType[tuple[str, int | None], Any]):
    """``SUITE=N`` or ``SUITE=all``: one suite's own item limit, as (suite, limit or None for all)."""

    name = "SUITE=N|all"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, int | None]:
        if isinstance(value, tuple):
            return value
        suite, sep, number = str(value).partition("=")
        suite, number = suite.strip(), number.strip().lower()
        if not sep or not suite or not number:
            self.fail(f"{value!r}: expected SUITE=N or SUITE=all (e.g. structured=all)", param, ctx)
        if number == "all":
            return suite, None
        if not number.isdigit() or not 1 <= int(number) <= 10**9:
            self.fail(f"{value!r}: the limit is a positive number of items (at most 1000000000) or 'all'", param, ctx)
        return suite, int(number)


CI_SUMMARY_HINT = "is $GITHUB_STEP_SUMMARY unset? GitHub Actions sets it, other shells do not"

LIMIT = Count(1, 10**9, "a positive number of items (at most 1000000000)")
NUM_FEWSHOT = Count(0, 100, "a number of few-shot examples from 0 to 100")
MAX_GEN_TOKS = Count(1, 10**6, "a positive number of tokens (at most 1000000)")
BATCH_SIZE = Count(1, 65536, "a positive batch size (at most 65536)")
BOOTSTRAP = Count(100, 100_000, "a number of resamples from 100 to 100000")
SEED = Count(0, 2**32 - 1, "a whole number from 0 to 4294967295")
RUN_LIMIT = Count(1, 10**9, "a positive number of runs (at most 1000000000)")
