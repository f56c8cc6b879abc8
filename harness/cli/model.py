"""``harness model``: build the tiny model, fingerprint a model without loading it."""

from __future__ import annotations

from pathlib import Path

import click

from harness.cli.options import SEED, PathType, Text


@click.group()
def model() -> None:
    """Build or inspect models."""


@model.command("tiny")
@click.argument("directory", type=PathType(file_okay=False, path_type=Path))
@click.option(
    "--adapter",
    "adapter_dir",
    type=PathType(file_okay=False, path_type=Path),
    help="Also write a LoRA adapter (non-zero weights) for the tiny model here.",
)
@click.option("--seed", default=0, show_default=True, type=SEED, help="Seed of the model weights.")
@click.option(
    "--bos",
    "add_bos",
    is_flag=True,
    help="Give the model a tokenizer that adds BOS (<s>), as llama.cpp's server expects of a served model.",
)
def tiny(directory: Path, adapter_dir: Path | None, seed: int, add_bos: bool) -> None:
    """Build a tiny seeded Llama-architecture model with its own BPE tokenizer.

    A few MB, built in seconds; the model of the demo and the tests. Its answers are
    noise: use it to exercise the pipeline, not to judge anything.
    """
    from harness.models.modelref import ModelRef
    from harness.models.tiny import build_tiny_adapter, build_tiny_model

    build_tiny_model(directory, seed=seed, add_bos=add_bos)
    click.echo(f"model    {directory}  {ModelRef(str(directory)).fingerprint()}")
    if adapter_dir is not None:
        build_tiny_adapter(directory, adapter_dir, seed=seed + 1)
        ref = ModelRef(str(directory), adapter=str(adapter_dir))
        click.echo(f"adapter  {adapter_dir}  {ref.fingerprint()}")


@model.command("fingerprint")
@click.argument("base", type=Text())
@click.option("--adapter", type=Text(), help="PEFT adapter directory.")
@click.option("--allow-pickle", is_flag=True, help="Accept pickle weights (*.bin), which can run code when loaded.")
def fingerprint(base: str, adapter: str | None, allow_pickle: bool) -> None:
    """Print the SHA-256 fingerprint of a model (and adapter) without loading it."""
    from harness.models.modelref import ModelRef

    ref = ModelRef(base, adapter=adapter, allow_pickle=allow_pickle)
    ref.check()
    click.echo(ref.fingerprint())
