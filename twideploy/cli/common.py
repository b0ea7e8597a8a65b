"""Options and helpers every command shares; errors become messages and exit codes here."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from twideploy.errors import ApplyError, ManifestError, RollbackError, TwideployError
from twideploy.twilio_api.gateway import DEFAULT_CONCURRENCY

console = Console(highlight=False, soft_wrap=True)


class TwideployGroup(click.Group):
    """Turns every TwideployError into `error: message` on stderr and its exit code.

    A failed apply or rollback prints its rollback report first and the `error:` line last,
    so the last line says what happened and ends with the command to run next, if any."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ManifestError as error:
            for problem in error.problems:
                click.echo(str(problem), err=True)
            ctx.exit(error.exit_code)
        except (ApplyError, RollbackError) as error:
            for line in error.rollback_report:
                click.echo(f"  rollback: {line}", err=True)
            click.echo(f"error: {error}", err=True)
            ctx.exit(error.exit_code)
        except TwideployError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(error.exit_code)


project_dir_option = click.option(
    "--project-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
    envvar="TWIDEPLOY_PROJECT_DIR", show_default=True, help="Folder holding twideploy.yaml.")
env_option = click.option("--env", "env_name", help="Environment (default: the project's default_environment).")
auto_approve_option = click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")


def _seconds(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """`nan` would wait forever without saying so (no time is ever past it), a negative not at all."""
    if not (math.isfinite(value) and value >= 0):
        raise TwideployError(f"--{param.name.replace('_', '-')}: expected a number of seconds, 0 or more; got {value}")
    return value


def _at_least_one(ctx: click.Context, param: click.Parameter, value: int) -> int:
    if value < 1:
        raise TwideployError(f"--{param.name}: expected a number of requests in flight, 1 or more; got {value}")
    return value


parallelism_option = click.option(
    "--parallelism", type=int, default=DEFAULT_CONCURRENCY, show_default=True, callback=_at_least_one,
    envvar="TWIDEPLOY_PARALLELISM",
    help="Requests in flight at most: independent writes run side by side, in dependency waves (1: one at a time).")
lock_timeout_option = click.option("--lock-timeout", type=float, default=0, show_default=True, callback=_seconds,
                                   help="Seconds to wait for another run's lock on the environment.")


def notice(message: str) -> None:
    """What the user should read while a command runs (a lock taken over), on stderr."""
    click.echo(f"note: {message}", err=True)


def confirm(question: str, auto_approve: bool) -> bool:
    if auto_approve:
        return True
    if not sys.stdin.isatty():
        raise TwideployError("refusing to make changes without confirmation: stdin is not a terminal; "
                             "pass --auto-approve")
    return click.confirm(question, default=False)
