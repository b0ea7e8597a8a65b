"""What a finished apply, promote or rollback did, for people."""

from __future__ import annotations

from rich.console import Console

from twideploy.deploy import RollbackResult
from twideploy.plan.executor import Outcome


def render_apply(out: Console, outcome: Outcome | None, env_name: str) -> None:
    """What `twideploy apply` did: nothing (declined, or no changes), or a deploy."""
    if outcome is None:
        out.print("Apply cancelled; nothing was changed.")
    elif outcome.deploy_id is None:
        out.print("No changes. The live account matches the manifests.")
    else:
        render_outcome(out, "Apply", outcome, env_name)


def render_outcome(out: Console, verb: str, outcome: Outcome, env_name: str) -> None:
    """A finished apply or promote (`verb`): its changes, and how to undo them."""
    for line in outcome.report:
        out.print(f"  {line}")
    out.print(f"[bold green]{verb} complete[/]: deploy {outcome.deploy_id} to {env_name}, {outcome.writes} write(s). "
              f"Undo with: twideploy rollback --env {env_name}")


def render_rollback(out: Console, result: RollbackResult) -> None:
    if result.cancelled:
        out.print("Rollback cancelled; nothing was changed.")
    for line in result.lines:
        out.print(f"  {line}")
