"""The Studio commit messages twideploy writes on flow revisions, and their one parser.

Studio keeps every revision with its commit message; it is how a revision is told to be
twideploy's (and which deploy, from which git commit, made it) without any local state:

    twideploy deploy <deploy-id> git <sha>      a deploy (` git <sha>` only in a git repository)
    twideploy rollback to revision <n>          `twideploy rollback --flow F --revision n`, or an undo
    twideploy rollback: recreated               an undo that recreated a deleted flow
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "twideploy"
_DEPLOY = re.compile(rf"^{PREFIX} deploy (?P<deploy>\S+)(?: git (?P<sha>\S+))?")


@dataclass(frozen=True)
class DeployCommit:
    """What a deploy's commit message says."""

    deploy_id: str
    git_sha: str | None


def deploy_message(deploy_id: str, git_sha: str | None) -> str:
    return f"{PREFIX} deploy {deploy_id}" + (f" git {git_sha}" if git_sha else "")


def rollback_to_revision_message(revision: int | str) -> str:
    return f"{PREFIX} rollback to revision {revision}"


RECREATED_MESSAGE = f"{PREFIX} rollback: recreated"


def parse_deploy(message: str | None) -> DeployCommit | None:
    """The deploy a revision's commit message names; None for any other message."""
    match = _DEPLOY.match(message or "")
    return DeployCommit(match["deploy"], match["sha"]) if match else None


def is_ours(message: str | None) -> bool:
    """Whether twideploy wrote the revision (a deploy or a rollback)."""
    return (message or "").startswith(PREFIX)
