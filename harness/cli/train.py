"""``harness train``: gated LoRA training, promoted only when it passes its gate."""

from __future__ import annotations

from pathlib import Path

import click

from harness.cli.app import App
from harness.cli.options import PathType


@click.command()
@click.argument("config_path", metavar="CONFIG.yaml", type=PathType(dir_okay=False, path_type=Path))
@click.option("--resume", is_flag=True, help="Continue from the last checkpoint of an interrupted training.")
@click.option(
    "--data-dir",
    type=PathType(path_type=Path),
    help="Benchmark data for the gate's runs [default: $HARNESS_DATA_DIR].",
)
@click.pass_context
def train(ctx: click.Context, config_path: Path, resume: bool, data_dir: Path | None) -> None:
    """LoRA-train a model and promote it only if it passes its gate.

    \b
    preflight  data registered, hash verified, expectations passed, kappa >= min_kappa
    baseline   the base model on the gate's suites (reused when already run)
    training   transformers Trainer + peft; cosine schedule with warmup and floor,
               early stopping on eval loss, checkpoints (Ctrl-C saves one; --resume)
    gate       base + adapter against the baseline, with the config's policy
    promote    <output_dir>/registry/<name>/<version>/ with model card (exit 0),
               or reject, keeping every artefact (exit 1)
    """
    from harness.cli.printing import print_verdict
    from harness.paths import resolve_data_dir
    from harness.training.pipeline import run_pipeline

    app = ctx.find_object(App)
    assert app is not None
    resolved = resolve_data_dir(data_dir)
    result = run_pipeline(
        config_path,
        store=app.store,
        resume=resume,
        data_dir=str(resolved) if resolved else None,
        say=lambda message: app.say(message, tag="train"),
    )
    if result.decision == "interrupted":
        click.echo(
            f"interrupted at step {result.record['steps']} of {result.record['max_steps']}; checkpoint saved. "
            f"Continue with: harness train {config_path} --resume",
            err=True,
        )
        ctx.exit(130)
    if result.verdict is not None:
        print_verdict(result.verdict)
    if result.decision == "promoted":
        click.echo(f"PROMOTED  {result.registry_entry}")
        return
    click.echo(f"REJECTED  not promoted; artefacts kept in {result.work_dir}")
    for o in result.verdict.outcomes if result.verdict else []:
        if o.blocking:
            click.echo(f"  {o.rule_id}: {o.outcome}: {o.evidence}")
    ctx.exit(1)
