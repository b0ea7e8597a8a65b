"""`twideploy plan`: what apply would change."""

from __future__ import annotations

from pathlib import Path

import click

from twideploy import deploy
from twideploy.cli.common import console, env_option, project_dir_option
from twideploy.gitinfo import head_sha
from twideploy.plan.pictures import flow_pictures
from twideploy.render import render_json, render_markdown, render_text
from twideploy.workspace import open_workspace

NO_CHANGES, ERROR, CHANGES = 0, 1, 2


@click.command()
@env_option
@project_dir_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Save the plan for `apply PLAN_FILE`.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 without changes, 2 with changes, 1 on error.")
@click.option("--include-layout", is_flag=True, help="Count canvas layout moves as changes.")
@click.option("--prune/--no-prune", default=None, help="Plan deletions of live resources not in the manifests.")
@click.option("--verbose", "-v", is_flag=True, help="Also list unchanged resources.")
def plan(env_name, project_dir, out, fmt, detailed_exitcode, include_layout, prune, verbose):
    """Compare the manifests with the live account and show what apply would change."""
    with open_workspace(project_dir, env_name) as ws:
        planned = deploy.plan(ws, prune=prune, include_layout=include_layout, git_sha=head_sha(project_dir))
    result = planned.plan
    if out:
        deploy.save_plan(result, out)
    if fmt == "json":
        click.echo(render_json(result))
    elif fmt == "markdown":
        click.echo(render_markdown(result, pictures=flow_pictures(planned)))
    else:
        render_text(result, console, verbose=verbose)
        if out:
            console.print(f"Saved the plan to {out}; apply it with: twideploy apply {out}")
    if detailed_exitcode and result.has_changes:
        raise SystemExit(CHANGES)
