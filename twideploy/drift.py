"""Drift audit: what changed in the live account, when, by what, and whether twideploy did it.

Two comparisons:

1. **live vs manifests** - a plan; every change apply would make is drift. Canvas-only
   moves of widgets are reported apart and do not count unless `include_layout`.
2. **live vs the last deploys** - who made the live state:
   * flows: Studio keeps every revision with its commit message; twideploy writes
     `twideploy deploy <deploy-id> git <sha>` (or `twideploy rollback ...`). Revisions
     newer than the last twideploy revision are changes made outside twideploy (the
     console, the API, another tool), listed with their number, date and message;
   * services: the deployed build is compared with the build twideploy deployed last,
     found through the deploy journals (`.twideploy/journal/<env>/`) and the environment's
     deployments list; a build no journalled deployment made is "outside twideploy";
   * variables and numbers: Twilio keeps no author, only `date_updated`; it is compared
     with the end of the last deploy (or rollback) that wrote the resource.

Attribution needs the journals for services, variables and numbers; without them (e.g. a CI
runner without the cached `.twideploy/`) those items say "unknown". Flows never need them.
Variable values are never shown, only that they differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twideploy import deploy
from twideploy.plan.pictures import FlowPicture, flow_pictures
from twideploy.providers.audit import DRIFT, INFO, LAYOUT, AuditContext, DriftItem, deploy_ref
from twideploy.providers.registry import PROVIDERS
from twideploy.state.journal import now
from twideploy.workspace import Workspace

DRIFT_FORMAT_VERSION = 1


@dataclass
class DriftReport:
    environment: str
    account_sid: str
    checked_at: str
    include_layout: bool
    last_deploy: dict[str, Any] | None
    items: list[DriftItem]
    pictures: dict[str, FlowPicture] = field(default_factory=dict)
    """Drifted flows drawn for the markdown, by address; not in the JSON (it is data, not a picture)."""

    @property
    def drifted(self) -> list[DriftItem]:
        return [i for i in self.items if i.category == DRIFT or (self.include_layout and i.category == LAYOUT)]

    @property
    def drift(self) -> bool:
        return bool(self.drifted)

    def of(self, category: str) -> list[DriftItem]:
        return [i for i in self.items if i.category == category]

    def summary_line(self) -> str:
        if not self.drift:
            return "No drift: the live account matches the manifests."
        outside = sum(1 for i in self.drifted if i.outside_twideploy)
        return (f"Drift: {len(self.drifted)} resource(s) differ from the manifests"
                + (f", {outside} changed outside twideploy." if outside else "."))

    def to_dict(self) -> dict[str, Any]:
        return {"format_version": DRIFT_FORMAT_VERSION, "environment": self.environment,
                "account_sid": self.account_sid, "checked_at": self.checked_at, "drift": self.drift,
                "include_layout": self.include_layout, "last_deploy": self.last_deploy,
                "summary": {c: len(self.of(c)) for c in (DRIFT, LAYOUT, INFO)},
                "items": [i.to_dict() for i in self.items]}


# --------------------------------------------------------------------------- audit


def audit(ws: Workspace, *, include_layout: bool = False) -> DriftReport:
    """Compare the live account with the manifests and with the deploy journals."""
    planned = deploy.plan(ws, include_layout=include_layout)
    history = ws.store.history()
    context = AuditContext(ws.gateway, ws.env.name, ws.project, planned.plan, planned.live, history)
    items = [item for provider in PROVIDERS for item in provider.attribute(
        context, [c for c in planned.plan.changes if c.address.family == provider.family])]
    order = {DRIFT: 0, LAYOUT: 1, INFO: 2}
    report = DriftReport(ws.env.name, ws.gateway.account_sid, now(), include_layout,
                         deploy_ref(history.last_deploy()), sorted(items, key=lambda i: order[i.category]))
    drifted = {str(item.address) for item in report.drifted}
    report.pictures = {address: picture for address, picture in flow_pictures(planned).items() if address in drifted}
    return report
