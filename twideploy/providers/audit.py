"""What providers share to attribute drift (see `twideploy.drift`): the DriftItem each reports,
its categories, and an AuditContext with the deploy history and the time comparisons.

drift (fails the audit), layout (canvas moves only; fails with --include-layout), info (noted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from twideploy.addresses import Address
from twideploy.manifest import Project
from twideploy.plan.desired import Live
from twideploy.plan.model import Plan
from twideploy.state import commits
from twideploy.state.history import History
from twideploy.state.journal import DeployRecord
from twideploy.twilio_api import studio
from twideploy.twilio_api.gateway import Gateway

DRIFT, LAYOUT, INFO = "drift", "layout", "info"


@dataclass
class DriftItem:
    """One resource that differs, or something worth knowing about it.

    `category`: drift (fails the audit), layout (canvas moves only; fails with
    --include-layout), info (noted, never fails: e.g. a console edit that matches the
    manifests again, or a live resource that is not managed). `outside_twideploy`: True when
    the live state was made outside twideploy, False when twideploy made it (so the
    manifests moved), None when that cannot be told.
    """

    address: Address
    kind: str
    category: str
    action: str
    summary: str
    changes: list[str] = field(default_factory=list)
    outside_twideploy: bool | None = None
    when: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"address": str(self.address), "kind": self.kind, "category": self.category, "action": self.action,
                "summary": self.summary, "changes": self.changes, "outside_twideploy": self.outside_twideploy,
                "when": self.when, **self.details}


@dataclass
class AuditContext:
    """One drift audit: the plan (live vs manifests) and live state it was computed from, and the
    environment's deploy history (who wrote what, when)."""

    gw: Gateway
    environment: str
    project: Project
    plan: Plan
    live: Live
    history: History

    def dated(self, address: Address, updated: str | None, what: str) -> tuple[bool | None, str]:
        """Attribution by date: changed after twideploy's last write of it (or last deploy)?"""
        record = self.history.last_change(address) or self.history.last_deploy()
        if record is None:
            return None, f"{what}; changed {iso(updated) or 'at an unknown time'} (no deploy journal here to compare)"
        # twideploy's writes fall anywhere between the start and the end of the deploy
        after = later_than(updated, (record.outcome.at if record.outcome else None) or record.header.started_at)
        if after is True:
            return True, f"{what}; changed outside twideploy at {iso(updated)}, after {written_by(record)}"
        if after is False:
            return False, f"{what}; unchanged live since {written_by(record)}: the manifests changed since"
        return None, (f"{what}; changed at {iso(updated)}, in the same second as {written_by(record)}: "
                      f"cannot tell by whom")


def when_of(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso(value: datetime | str | None) -> str | None:
    moment = when_of(value)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def later_than(live: datetime | str | None, ours: datetime | str | None) -> bool | None:
    """Was the live change made after twideploy's write? None when it cannot be told."""
    a, b = when_of(live), when_of(ours)
    if a is None or b is None:
        return None
    a, b = a.replace(microsecond=0), b.replace(microsecond=0)
    return None if a == b else a > b


def deploy_ref(record: DeployRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {"deploy_id": record.deploy_id, "kind": record.kind, "git_sha": record.header.git_sha,
            "started_at": record.header.started_at, "status": record.status}


def written_by(record: DeployRecord | None) -> str:
    if record is None:
        return "twideploy"
    sha = record.header.git_sha
    return f"{record.kind} {record.deploy_id}" + (f" (git {sha[:12]})" if sha else "")


def revision_ref(revision: studio.Revision | None) -> dict[str, Any] | None:
    if revision is None:
        return None
    ref = {"revision": revision.revision, "commit_message": revision.commit_message,
           "date_updated": iso(revision.date_updated)}
    commit = commits.parse_deploy(revision.commit_message)
    if commit:
        ref.update(deploy_id=commit.deploy_id, git_sha=commit.git_sha)
    return ref
