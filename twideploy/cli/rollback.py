"""`twideploy rollback`: undo the last deploy, every deploy after one, or one flow."""

from __future__ import annotations

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
from twideploy.render.outcome import render_rollback
from twideploy.workspace import open_workspace


@click.command()
@env_option
@project_dir_option
@click.option("--to", "to", metavar="DEPLOY_ID", help="Undo every deploy made after DEPLOY_ID.")
@click.option("--flow", metavar="NAME", help="Put one flow back to --revision N (as a new revision).")
@click.option("--revision", type=int, metavar="N")
@auto_approve_option
@lock_timeout_option
@parallelism_option
def rollback(env_name, project_dir, to, flow, revision, auto_approve, lock_timeout, parallelism):
    """Undo the last deploy of an environment (or an interrupted one)."""
    with open_workspace(project_dir, env_name, concurrency=parallelism) as ws:
        result = deploy.rollback(ws, to=to, flow=flow, revision=revision, lock_timeout=lock_timeout,
                                 confirm=lambda what: confirm(f"Roll back: {what}?", auto_approve), notify=notice)
    render_rollback(console, result)
