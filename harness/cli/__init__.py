"""The ``harness`` command line: one module per command group, loaded when first needed.

Start-up stays light: torch, lm-eval, transformers and WeasyPrint are imported inside
the commands that need them, never at module level, so ``harness --help`` is instant.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence
from importlib import import_module
from typing import Any, NoReturn

import click

from harness import __version__
from harness.cli.app import App
from harness.errors import HarnessError

EPILOG = "Exit codes: 0 pass or success, 1 gate failed, 2 usage or input error, 3 a bug in harness (traceback shown)."

# command name -> "module:attribute"; a module is imported only when its command is.
COMMANDS: dict[str, str] = {
    "run": "harness.cli.run:run",
    "runs": "harness.cli.run:runs",
    "compare": "harness.cli.run:compare",
    "gate": "harness.cli.gate:gate",
    "report": "harness.cli.report:report",
    "dossier": "harness.cli.dossier:dossier",
    "signoff": "harness.cli.dossier:signoff",
    "audit": "harness.cli.dossier:audit",
    "data": "harness.cli.data:data",
    "train": "harness.cli.train:train",
    "model": "harness.cli.model:model",
    "demo": "harness.cli.demo:demo",
    "serve": "harness.cli.serve:serve",
    "remote": "harness.cli.remote:remote",
    "intake": "harness.cli.intake:intake",
    "select": "harness.cli.select:select",
    "monitor": "harness.cli.monitor:monitor",
}


class HarnessGroup(click.Group):
    """Loads command modules lazily and is the CLI's one error boundary.

    Every failure caused by the user's input or environment (a HarnessError, a usage
    error, a file that cannot be read or written, a full disk, input nested too deeply,
    a store URL that is not a database, ...) is one line on stderr, ``harness: error:
    <message>``, and exit code 2. Anything else is a bug in harness: its traceback,
    then a line saying so, and exit code 3. ``--debug`` lets every exception through.
    """

    store_url: str | None = None  # the --store of the command that ran, for store errors

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            module_name, _, attribute = COMMANDS[cmd_name].partition(":")
            command: click.Command = getattr(import_module(module_name), attribute)
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        """Runs the command; remembers the store URL so a store error can name it."""
        try:
            return super().invoke(ctx)
        finally:
            app = ctx.find_object(App)
            self.store_url = app.store_url if app is not None else None

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Always runs click in non-standalone mode, so errors reach the handlers below."""
        debug = "--debug" in (args if args is not None else sys.argv[1:])
        self.store_url = None
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
            sys.exit(code if isinstance(code, int) else 0)  # ctx.exit(n) comes back as n here
        except HarnessError as exc:
            if debug:
                raise
            fail(str(exc), exc.exit_code)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("harness: aborted", err=True)
            sys.exit(130)
        except click.exceptions.NoArgsIsHelpError as exc:  # `harness` or `harness data` alone: the help
            click.echo(exc.format_message(), err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            if debug:
                raise
            fail(exc.format_message(), exc.exit_code)
        except BrokenPipeError:
            _quiet_broken_pipe()
        except Exception as exc:
            if debug:
                raise
            from harness.cli.boundary import BUG_EXIT_CODE, report_bug, user_error_text

            message = user_error_text(exc, store_url=self.store_url)
            if message is None:
                report_bug(exc)
                sys.exit(BUG_EXIT_CODE)
            fail(message, 2)


def fail(message: str, code: int) -> NoReturn:
    """``harness: error: <message>`` as exactly one line on stderr, then exit with ``code``."""
    one_line = " ".join(part.strip() for part in message.splitlines() if part.strip())
    click.echo(f"harness: error: {one_line}", err=True)
    sys.exit(code)


def _quiet_broken_pipe() -> None:
    """The reader of stdout went away (``harness runs | head``): stop quietly, as other tools do."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass
    sys.exit(141)  # 128 + SIGPIPE, what a shell reports for a writer whose reader left


@click.group(cls=HarnessGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harness")
@click.option(
    "--store",
    "store_url",
    envvar="HARNESS_STORE",
    metavar="URL",
    help="Run store as an SQLAlchemy URL [default: SQLite file under HARNESS_HOME or the user data dir].",
)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.pass_context
def main(ctx: click.Context, store_url: str | None, debug: bool) -> None:
    """Evaluate fine-tuned language models and gate their release.

    \b
    Typical flow:
      harness run MODEL_DIR --suites mmlu,gsm8k --data-dir DATA   evaluate into runs/<run_id>/
      harness gate runs/<run_id> --policy baseline-minimums        verdict, exit code for CI
      harness report runs/<run_id> --out report/                    HTML and PDF report
      harness demo                                                  all of it on a tiny model, offline
    """
    ctx.obj = App(store_url=store_url, debug=debug)


if __name__ == "__main__":  # pragma: no cover
    main()
