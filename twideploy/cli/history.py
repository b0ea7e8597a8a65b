"""`twideploy history`: deploys and flow revisions, with the git SHAs they came from."""

from __future__ import annotations

import click

from twideploy import deploy
from twideploy.cli.common import console, env_option, project_dir_option
from twideploy.render.history import render_json, render_text
from twideploy.workspace import open_workspace


@click.command()
@env_option
@project_dir_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--limit", type=int, default=20, show_default=True)
def history(env_name, project_dir, fmt, limit):
    """List deploys (from the journals) and the live flows' revisions (from Studio)."""
    with open_workspace(project_dir, env_name) as ws:
        report = deploy.history(ws, limit=limit)
    if fmt == "json":
        click.echo(render_json(report))
    else:
        render_text(report, console)
