"""The one error family the CLI knows: each carries a one-line, user-facing message."""

from __future__ import annotations


class HarnessError(Exception):
    """A problem the user can fix; the CLI prints it as one line and exits with 2."""

    exit_code = 2


class InputError(HarnessError):
    """Malformed or missing input: a file, a directory, a field."""


class ModelError(HarnessError):
    """A model or adapter that cannot be loaded safely."""


class DataError(HarnessError):
    """Benchmark data that cannot be found or read."""


class PolicyError(HarnessError):
    """A policy file that does not match the policy schema."""
