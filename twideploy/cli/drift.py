"""`twideploy drift`: what changed live since the last apply, and who changed it. Exit 2 on drift."""

from __future__ import annotations

import click

from twideploy import drift as drifts
from twideploy.cli.common import env_option, project_dir_option
from twideploy.render.drift_report import render_json, render_markdown, render_text
from twideploy.workspace import open_workspace

CLEAN, ERROR, DRIFT = 0, 1, 2


@click.command()
@env_option
@project_dir_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--include-layout", is_flag=True, help="Count canvas layout moves of widgets as drift.")
def drift(env_name, project_dir, fmt, include_layout):
    """Audit the live account against the manifests and the last deploys.

    Reports per resource what changed live, when, in which flow revision or build, and
    whether it was made outside twideploy. Exit 0 clean, 2 drift, 1 error.
    """
    with open_workspace(project_dir, env_name) as ws:
        report = drifts.audit(ws, include_layout=include_layout)
    if fmt == "json":
        click.echo(render_json(report))
    elif fmt == "markdown":
        click.echo(render_markdown(report), nl=False)
    else:
        click.echo(render_text(report), nl=False)
    raise SystemExit(DRIFT if report.drift else CLEAN)
