"""`twideploy promote`: deploy what one environment runs (or a git ref) to another."""

from __future__ import annotations

import click
from rich.console import Console

from twideploy import deploy
from twideploy import promote as promotion
from twideploy.cli.common import (
    auto_approve_option,
    confirm,
    console,
    lock_timeout_option,
    notice,
    parallelism_option,
    project_dir_option,
)
from twideploy.errors import GitError
from twideploy.gitinfo import create_deploy_tag, deploy_sha
from twideploy.manifest import load_project
from twideploy.render import render_text
from twideploy.render.outcome import render_outcome
from twideploy.render.progress import ApplyProgress
from twideploy.render.promote import render_markdown, render_provenance

err_console = Console(stderr=True, highlight=False, soft_wrap=True)

@click.command()
@click.option(
    "--from", "from_env", metavar="ENV", help="The environment whose live flows and deployed code to promote."
)
@click.option("--to", "to_env", metavar="ENV", required=True, help="The environment to deploy to.")
@click.option("--ref", metavar="TAG_OR_SHA",
              help="Promote the manifests as committed at this git tag or commit instead (read from git, no checkout).")
@project_dir_option
@auto_approve_option
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text", show_default=True)
@click.option("--prune/--no-prune", default=None, help="Delete live resources of --to that are not promoted.")
@click.option("--include-layout", is_flag=True, help="Also write flows whose only change is canvas layout.")
@lock_timeout_option
@parallelism_option
@click.option("--allow-dirty", is_flag=True,
              help="Under CI (CI=true or GITHUB_ACTIONS=true), promote with uncommitted manifest changes anyway.")
@click.option("--tag", "tag", is_flag=True, help="On success, create the git tag twideploy/<to>/<deploy-id>.")
def promote(from_env, to_env, ref, project_dir, auto_approve, fmt, prune, include_layout, lock_timeout,
            parallelism, allow_dirty, tag):
    """Deploy what --from runs to --to, every SID and var recompiled for --to.

    Flows are taken live from --from (decompiled to symbolic references), function code from
    --from's deployed build; vars, service variables and number bindings from --to's
    environment file. Same safety as apply: lock, journal, rollback on failure, confirmation.
    """
    if not from_env and not ref:
        raise click.UsageError("give --from ENV (promote what it runs) or --ref GIT_REF (promote a commit)")
    project = load_project(project_dir)
    git_sha = None if ref else deploy_sha(project_dir, allow_dirty=allow_dirty)
    if tag and not ref and git_sha is None:
        raise GitError(f"--tag needs a git repository with a commit; {project_dir} has none")
    if ref and from_env:
        err_console.print(f"note: --ref {ref} given: promoting the manifests at that commit, not what {from_env} runs")
    out = err_console if fmt == "markdown" else console

    def ask(plan, source) -> bool:
        if fmt == "text" or not auto_approve:
            render_text(plan, out)
            render_provenance(plan, source, out)
        return confirm(f"Promote to {plan.environment}?", auto_approve)

    options = deploy.ApplyOptions(prune=prune, include_layout=include_layout, lock_timeout=lock_timeout)
    with ApplyProgress(out, "promoting") as progress:
        result = promotion.promote(project, to=to_env, from_env=None if ref else from_env, ref=ref, git_sha=git_sha,
                                   options=options, confirm=ask, progress=progress, parallelism=parallelism,
                                   notify=notice)
    plan, outcome = result.planned.plan, result.outcome
    if fmt == "markdown":
        click.echo(render_markdown(plan, result.source, from_name=None if ref else from_env,
                                   outcome=outcome, applied=outcome is not None), nl=False)
    if outcome is None:
        out.print("Promotion cancelled; nothing was changed.")
        return
    if outcome.deploy_id is None:
        if fmt == "text":
            render_text(plan, console)
            render_provenance(plan, result.source, console)
        return
    render_outcome(out, "Promote", outcome, to_env)
    if tag:
        out.print(f"Tagged {create_deploy_tag(project_dir, to_env, outcome.deploy_id, result.git_sha)}")
