"""`twideploy apply`: make the planned changes, or roll them all back."""

from __future__ import annotations

from pathlib import Path

import click

from twideploy import deploy
from twideploy.cli.common import (
    auto_approve_option,
    confirm,
    console,
    env_option,
    lock_timeout_option,
    notice,
    parallelism_option,
    project_dir_option,
)
from twideploy.errors import GitError
from twideploy.gitinfo import create_deploy_tag, deploy_sha
from twideploy.render import render_text
from twideploy.render.outcome import render_apply
from twideploy.render.progress import ApplyProgress
from twideploy.workspace import open_workspace


@click.command()
@click.argument("plan_file", required=False, type=click.Path(path_type=Path))  # load_plan says what is wrong
@env_option
@project_dir_option
@auto_approve_option
@click.option(
    "--prune/--no-prune", default=None, help="Delete live flows, functions and variables not in the manifests."
)
@click.option("--include-layout", is_flag=True, help="Also write flows whose only change is canvas layout.")
@lock_timeout_option
@parallelism_option
@click.option("--abandon-unfinished", is_flag=True,
              help="Mark an unfinished deploy (interrupted, or its rollback failed) as abandoned and carry on.")
@click.option("--allow-dirty", is_flag=True,
              help="Under CI (CI=true or GITHUB_ACTIONS=true), deploy uncommitted manifest changes anyway.")
@click.option("--tag", "tag", is_flag=True, help="On success, create the git tag twideploy/<env>/<deploy-id>.")
def apply(plan_file, env_name, project_dir, auto_approve, prune, include_layout, lock_timeout, parallelism,
          abandon_unfinished, allow_dirty, tag):
    """Apply the manifests to an environment (or a saved PLAN_FILE after checking it is still current)."""
    saved = deploy.load_plan(plan_file) if plan_file else None
    if env_name is None and saved is not None:
        env_name = saved.environment
    options = deploy.ApplyOptions(prune=prune, include_layout=include_layout, lock_timeout=lock_timeout,
                                  abandon_unfinished=abandon_unfinished,
                                  git_sha=deploy_sha(project_dir, allow_dirty=allow_dirty))
    if tag and options.git_sha is None:
        raise GitError(f"--tag needs a git repository with a commit; {project_dir} has none")

    def ask(plan) -> bool:
        render_text(plan, console)
        return confirm("Apply these changes?", auto_approve or saved is not None)

    with open_workspace(project_dir, env_name, concurrency=parallelism) as ws, ApplyProgress(console) as progress:
        outcome = deploy.apply(ws, options, saved=saved, confirm=ask, progress=progress, notify=notice).outcome
    render_apply(console, outcome, ws.env.name)
    if tag and outcome is not None and outcome.deploy_id:
        console.print(f"Tagged {create_deploy_tag(project_dir, ws.env.name, outcome.deploy_id, options.git_sha)}")
