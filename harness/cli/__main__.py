"""``python -m harness.cli``: the harness command line."""

from harness.cli import main

main()
