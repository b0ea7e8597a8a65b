"""The Studio commit messages twideploy writes on flow revisions, and their one parser.

Studio keeps every revision with its commit message; it is how a revision is told to be
twideploy's (and which deploy, from which git commit, made it) without any local state:

    twideploy deploy <deploy-id> git <sha> definition <hash>
                                                a deploy (` git <sha>` only in a git repository)
    twideploy rollback to revision <n>          `twideploy rollback --flow F --revision n`, or an undo
    twideploy rollback: recreated               an undo that recreated a deleted flow
    twideploy preview <id> label <label> git <sha>
                                                a preview's draft revision (never published)
    twideploy preview <id> cleared: revision <n> republished
                                                the published definition written back when a
                                                preview ends (Studio has no "discard draft")

`definition <hash>` is the first 16 hex digits of the sha256 of the definition the deploy
wrote (`flows.definition_hash`), left out when it may hold a secret value (a hash of a known
text with a short secret in it gives the secret away to a brute force). Twilio's Flows list
returns each flow's current commit message, not its definition: a plan skips fetching a flow
whose message carries the hash of what the manifests compile to. A console edit makes a
revision with another message, so it is fetched, and seen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "twideploy"
HASH_DIGITS = 16
_DEPLOY = re.compile(rf"^{PREFIX} deploy (?P<deploy>\S+)(?: git (?P<sha>\S+))?"
                     rf"(?: definition (?P<definition>[0-9a-f]{{{HASH_DIGITS}}}))?$")


@dataclass(frozen=True)
class DeployCommit:
    """What a deploy's commit message says."""

    deploy_id: str
    git_sha: str | None
    definition_hash: str | None = None  # the first HASH_DIGITS of the written definition's sha256


def deploy_message(deploy_id: str, git_sha: str | None) -> str:
    return f"{PREFIX} deploy {deploy_id}" + (f" git {git_sha}" if git_sha else "")


def with_definition_hash(message: str, definition_hash: str) -> str:
    """A deploy's message for one flow revision: what it wrote, by hash (see the module doc)."""
    return f"{message} definition {definition_hash[:HASH_DIGITS]}"


def rollback_to_revision_message(revision: int | str) -> str:
    return f"{PREFIX} rollback to revision {revision}"


RECREATED_MESSAGE = f"{PREFIX} rollback: recreated"
_PREVIEW = re.compile(rf"^{PREFIX} preview (?P<preview>\S+) label (?P<label>\S+)")


def preview_message(preview_id: str, label: str, git_sha: str | None) -> str:
    return f"{PREFIX} preview {preview_id} label {label}" + (f" git {git_sha}" if git_sha else "")


def preview_cleared_message(preview_id: str, revision: int) -> str:
    return f"{PREFIX} preview {preview_id} cleared: revision {revision} republished"


def parse_preview(message: str | None) -> str | None:
    """The label of the preview whose draft a revision's commit message names; None otherwise."""
    match = _PREVIEW.match(message or "")
    return match["label"] if match else None


def parse_deploy(message: str | None) -> DeployCommit | None:
    """The deploy a revision's commit message names; None for any other message."""
    match = _DEPLOY.match(message or "")
    return DeployCommit(match["deploy"], match["sha"], match["definition"]) if match else None


def is_ours(message: str | None) -> bool:
    """Whether twideploy wrote the revision (a deploy or a rollback)."""
    return (message or "").startswith(PREFIX)
