"""`twideploy preview`: the manifests as Studio drafts on the real numbers, for testers only."""

from __future__ import annotations

import click

from twideploy import preview as previews
from twideploy.cli.common import (
    auto_approve_option,
    confirm,
    console,
    env_option,
    lock_timeout_option,
    notice,
    project_dir_option,
)
from twideploy.errors import PreviewError
from twideploy.gitinfo import deploy_sha
from twideploy.render.preview import render_clear, render_preview, render_preview_plan
from twideploy.render.progress import ApplyProgress
from twideploy.workspace import open_workspace


@click.command()
@env_option
@project_dir_option
@click.option("--testers", multiple=True, metavar="ADDRESS",
              help="Who reaches the preview: +E.164 or client:IDENTITY (repeat; default: preview.testers).")
@click.option("--label", metavar="NAME", help=f"Names the preview (default {previews.DEFAULT_LABEL!r}; with "
                                              f"--clear, the open one).")
@click.option("--clear", "clear", is_flag=True, help="End the open preview: drafts, Test Users and its "
                                                     "Serverless environment back as they were.")
@auto_approve_option
@lock_timeout_option
@click.option("--allow-dirty", is_flag=True,
              help="Under CI (CI=true or GITHUB_ACTIONS=true), preview uncommitted manifest changes anyway.")
def preview(env_name, project_dir, testers, label, clear, auto_approve, lock_timeout, allow_dirty):
    """Write the changed flows as Studio drafts that only the testers reach (never published)."""
    if clear and testers:
        raise PreviewError("--testers: --clear ends the preview for every tester; run it without --testers")
    if label is not None:
        previews.check_label(label)
    if testers:
        previews.check_testers(list(testers), env_name or "")
    if clear:
        with open_workspace(project_dir, env_name) as ws:
            render_clear(console, previews.clear(ws, label=label, lock_timeout=lock_timeout, notify=notice))
        return
    git_sha = deploy_sha(project_dir, allow_dirty=allow_dirty)

    def ask(result: previews.PreviewResult) -> bool:
        render_preview_plan(console, result)
        return confirm("Start this preview?", auto_approve)

    with open_workspace(project_dir, env_name) as ws, ApplyProgress(console, "previewing") as progress:
        result = previews.preview(ws, label=label or previews.DEFAULT_LABEL, testers=list(testers),
                                  git_sha=git_sha, lock_timeout=lock_timeout, confirm=ask, progress=progress,
                                  notify=notice)
    render_preview(console, result)
