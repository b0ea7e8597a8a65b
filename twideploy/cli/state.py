"""`twideploy state show|migrate`: where an environment's state is, and moving it into the account."""

from __future__ import annotations

import click

from twideploy import deploy
from twideploy.cli.common import console, env_option, lock_timeout_option, notice, project_dir_option
from twideploy.render.state import render_json, render_text
from twideploy.workspace import open_workspace


@click.group()
def state() -> None:
    """The environment's deploy journals, lock and content hashes (`state:` in its file)."""


@state.command()
@env_option
@project_dir_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def show(env_name, project_dir, fmt):
    """Where the state is, who holds the lock, the journals and the content hashes."""
    with open_workspace(project_dir, env_name) as ws:
        report = deploy.state_report(ws)
    if fmt == "json":
        click.echo(render_json(report))
    else:
        render_text(report, console)


@state.command()
@env_option
@project_dir_option
@lock_timeout_option
def migrate(env_name, project_dir, lock_timeout):
    """Upload this checkout's journals and content hashes to a `state: account` environment (once)."""
    with open_workspace(project_dir, env_name) as ws:
        lines = deploy.migrate_state(ws, lock_timeout=lock_timeout, notify=notice)
    for line in lines:
        console.print(line)
