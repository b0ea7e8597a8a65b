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
from datetime import datetime, timezone
from typing import Any

from twideploy import deploy
from twideploy.addresses import Address
from twideploy.plan.flowdiff import describe
from twideploy.plan.model import Action, Change
from twideploy.providers import flows
from twideploy.state import commits
from twideploy.state.history import History
from twideploy.state.journal import DeployRecord, now
from twideploy.twilio_api import numbers as numbers_api
from twideploy.twilio_api import serverless as serverless_api
from twideploy.workspace import Workspace

DRIFT_FORMAT_VERSION = 1

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
class DriftReport:
    environment: str
    account_sid: str
    checked_at: str
    include_layout: bool
    last_deploy: dict[str, Any] | None
    items: list[DriftItem]

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


# --------------------------------------------------------------------------- time


def _when(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _iso(value: Any) -> str | None:
    moment = _when(value)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _after(live: Any, ours: Any) -> bool | None:
    """Was the live change made after twideploy's write? None when it cannot be told."""
    a, b = _when(live), _when(ours)
    if a is None or b is None:
        return None
    a, b = a.replace(microsecond=0), b.replace(microsecond=0)
    return None if a == b else a > b


# --------------------------------------------------------------------------- journals


def _deploy_ref(record: DeployRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {"deploy_id": record.deploy_id, "kind": record.kind, "git_sha": record.header.git_sha,
            "started_at": record.header.started_at, "status": record.status}


def _by(record: DeployRecord | None) -> str:
    if record is None:
        return "twideploy"
    sha = record.header.git_sha
    return f"{record.kind} {record.deploy_id}" + (f" (git {sha[:12]})" if sha else "")


# --------------------------------------------------------------------------- audit


def audit(ws: Workspace, *, include_layout: bool = False) -> DriftReport:
    """Compare the live account with the manifests and with the deploy journals."""
    planned = deploy.plan(ws, include_layout=include_layout)
    history = History.of(ws.paths, ws.env.name, ws.gateway.account_sid)
    auditor = _Auditor(ws, planned, history)
    items = auditor.run()
    return DriftReport(ws.env.name, ws.gateway.account_sid, now(), include_layout,
                       _deploy_ref(history.last_deploy()), items)


class _Auditor:
    def __init__(self, ws: Workspace, planned: Any, history: History):
        self.ws, self.gw, self.planned, self.history = ws, ws.gateway, planned, history
        self.plan = planned.plan
        self._builds: dict[str, dict[str, Any]] = {}

    def run(self) -> list[DriftItem]:
        items: list[DriftItem] = []
        by_service: dict[str, list[Change]] = {}
        for change in self.plan.changes:
            if change.kind == "flow":
                item = self.flow(change)
            elif change.kind == "number":
                item = self.number(change)
            else:
                name = change.address.owner
                by_service.setdefault(name, []).append(change)
                continue
            if item is not None:
                items.append(item)
        for name, changes in by_service.items():
            items += self.service(name, changes)
        order = {DRIFT: 0, LAYOUT: 1, INFO: 2}
        return sorted(items, key=lambda i: order[i.category])

    # ---------------------------------------------------------------- flows

    def flow(self, change: Change) -> DriftItem | None:
        name = change.address.owner
        source = self.ws.project.flows.get(name)
        friendly = source.friendly_name if source else (change.before or {}).get("friendly_name", name)
        live = self.planned.live.flows.get(friendly)
        actionable = change in self.plan.actionable
        category = (LAYOUT if change.cosmetic_only else DRIFT) if change.action in (
            Action.CREATE, Action.UPDATE, Action.DELETE) else INFO
        if change.action is Action.CREATE:
            wrote = self.history.last_write(change.address)
            if wrote:
                return DriftItem(change.address, "flow", DRIFT, "create",
                                 f"deleted outside twideploy: twideploy last wrote it in {_by(wrote[0])}",
                                 outside_twideploy=True, details={"last_twideploy": _deploy_ref(wrote[0])})
            return DriftItem(change.address, "flow", DRIFT, "create",
                             "in the manifests but not in the account (never applied, or deleted)")
        if live is None:
            return None
        revisions = sorted(flows.revisions(self.gw, live.sid), key=lambda r: r.revision)
        ours = [r for r in revisions if commits.is_ours(r.commit_message)]
        last_ours = ours[-1] if ours else None
        outside = [r for r in revisions if r.revision > (last_ours.revision if last_ours else 0)
                   and not commits.is_ours(r.commit_message)]
        details: dict[str, Any] = {
            "live": {"sid": live.sid, "revision": live.revision, "status": live.status,
                     "date_updated": _iso(live.date_updated)},
            "outside_revisions": [{"revision": r.revision, "commit_message": r.commit_message or "",
                                   "date_updated": _iso(r.date_updated), "status": r.status,
                                   "author_sid": r.author_sid} for r in outside],
            "last_twideploy": _revision_ref(last_ours),
        }
        changes = [describe(w) for w in change.widgets] if category != INFO or change.action is Action.DELETE else []
        if change.action is Action.NOOP:
            if not outside:
                return None
            return DriftItem(change.address, "flow", INFO, "no-op",
                             f"{_revisions_text(outside)} made outside twideploy; the definition matches the "
                             f"manifests again", [], True, _iso(outside[-1].date_updated), details)
        if change.action in (Action.UNMANAGED, Action.DELETE):
            made_by_hand = last_ours is None
            what = "not in the manifests" + ("; apply --prune deletes it" if change.action is Action.DELETE
                                             else "; kept (deleted only with --prune)")
            return DriftItem(change.address, "flow", category if actionable else INFO, change.action.value,
                             f"{what}; " + ("created outside twideploy" if made_by_hand else
                                            f"last written by twideploy as revision {last_ours.revision}"),
                             [], made_by_hand, _iso(live.date_updated), details)
        if outside:
            summary = f"changed outside twideploy: {_revisions_text(outside)}"
            if last_ours is not None:
                summary += f", after twideploy's revision {last_ours.revision}"
            return DriftItem(change.address, "flow", category, change.action.value, summary, changes, True,
                             _iso(outside[-1].date_updated), details)
        if last_ours is None:
            return DriftItem(change.address, "flow", category, change.action.value,
                             f"revision {live.revision} was not written by twideploy (made by hand?)",
                             changes, True, _iso(live.date_updated), details)
        return DriftItem(change.address, "flow", category, change.action.value,
                         f"live is twideploy's revision {last_ours.revision} ({last_ours.commit_message}); "
                         f"the manifests changed since (not applied yet)", changes, False,
                         _iso(live.date_updated), details)

    # ---------------------------------------------------------------- services

    def service(self, name: str, changes: list[Change]) -> list[DriftItem]:
        items = []
        build = None
        unverified = [c for c in changes if _unverified_asset(c)]
        if unverified and self.build_attribution(name)["outside"] is not True:
            # Asset content has no API: without this machine's cache it cannot be compared. Only
            # when twideploy may have deployed the live build is that a note, not drift.
            only_assets = not any(c.kind in ("function", "asset") and c not in unverified
                                  and c.action not in (Action.NOOP, Action.UNMANAGED) for c in changes)
            for change in unverified:
                items.append(DriftItem(change.address, "asset", INFO, "no-op", UNVERIFIED_ASSET))
            changes = [c for c in changes if c not in unverified
                       and not (only_assets and c.kind == "build" and _only_code_changed(c))]
        for change in changes:
            if change.action is Action.NOOP:
                continue
            if change.action is Action.UNMANAGED:
                items.append(DriftItem(change.address, change.kind, INFO, "unmanaged",
                                       "live but not in the manifests; kept (deleted only with --prune)"))
                continue
            if change.kind in ("service", "environment") and change.action is Action.CREATE:
                items.append(DriftItem(change.address, change.kind, DRIFT, "create",
                                       "in the manifests but not in the account (never applied, or deleted)"))
                continue
            if change.kind == "variable":
                items.append(self.variable(name, change))
                continue
            build = build or self.build_attribution(name)
            lines = []
            if change.kind in ("function", "asset"):
                before, after = change.before or {}, change.after or {}
                if change.action is Action.DELETE:
                    lines.append(f"{before.get('path')}: live but not in the manifests (apply --prune deletes it)")
                elif change.action is Action.CREATE:
                    lines.append(f"{after.get('path')}: not deployed")
                else:
                    if before.get("sha256") != after.get("sha256"):
                        lines.append(f"{after.get('path')}: content differs (sha256 live "
                                     f"{_short_hash(before.get('sha256'))}, manifests {_short_hash(after.get('sha256'))})")
                    if before.get("visibility") != after.get("visibility"):
                        lines.append(f"{after.get('path')}: visibility {before.get('visibility')} -> {after.get('visibility')}")
            elif change.kind == "build":
                before, after = change.before or {}, change.after or {}
                for key in ("runtime", "dependencies"):
                    if before.get(key) != after.get(key):
                        lines.append(f"{key}: live {before.get(key)!r}, manifests {after.get(key)!r}")
                if change.reason:
                    lines.append(change.reason)
            else:
                lines += [f"{k}: live {(change.before or {}).get(k)!r}, manifests {v!r}"
                          for k, v in (change.after or {}).items() if (change.before or {}).get(k) != v]
            items.append(DriftItem(change.address, change.kind, DRIFT, change.action.value, build["summary"], lines,
                                   build["outside"], build.get("when"), {"build": build["details"]}))
        if build is None:
            # Nothing differs from the manifests; still say so if the build was swapped by hand.
            attribution = self.build_attribution(name)
            if attribution["outside"]:
                items.append(DriftItem(Address.service(name, "build"), "build", INFO, "no-op",
                                       attribution["summary"] + "; its code matches the manifests",
                                       [], True, attribution.get("when"), {"build": attribution["details"]}))
        return items

    def build_attribution(self, name: str) -> dict[str, Any]:
        if name in self._builds:
            return self._builds[name]
        live = self.planned.live.services.get(name)
        env = live.environment if live else None
        result: dict[str, Any] = {"outside": None, "summary": "", "details": {}}
        if env is None or not env.build_sid:
            result["summary"] = "no build is deployed"
            self._builds[name] = result
            return result
        deployments = sorted(serverless_api.list_deployments(self.gw, live.sid, env.sid), key=lambda d: (_when(d.date_created) or datetime.min.replace(tzinfo=timezone.utc)))
        build_of = {d.sid: d.build_sid for d in deployments}
        ours = self.history.our_deployments(name)
        expected, by = self.history.expected_build(name, build_of)
        current = [d for d in deployments if d.build_sid == env.build_sid]
        made_by = current[-1] if current else None
        details = {"live_build_sid": env.build_sid, "deployment_sid": made_by.sid if made_by else None,
                   "deployed_at": _iso(made_by.date_created) if made_by else None,
                   "twideploy_build_sid": expected, "twideploy_deploy": _deploy_ref(by)}
        result.update(details=details, when=details["deployed_at"])
        if not self.history.records:
            result["summary"] = (f"deployed build {env.build_sid}; no deploy journal of {self.ws.env.name} here, "
                                 f"so who deployed it is unknown")
        elif made_by is not None and made_by.sid in ours and env.build_sid == expected:
            result.update(outside=False, summary=f"live build {env.build_sid} is the one twideploy deployed "
                                                 f"({_by(ours[made_by.sid])}); the manifests changed since")
        elif env.build_sid == expected:
            result.update(outside=False, summary=f"live build {env.build_sid} is the one twideploy left deployed "
                                                 f"({_by(by)}); the manifests changed since")
        elif made_by is not None and made_by.sid in ours:
            result.update(outside=True, summary=f"build {env.build_sid} (from twideploy {_by(ours[made_by.sid])}) was "
                                                f"redeployed outside twideploy; twideploy last deployed {expected}")
        else:
            result.update(outside=True, summary=f"build {env.build_sid} was deployed outside twideploy"
                                                + (f" at {details['deployed_at']}" if details["deployed_at"] else "")
                                                + (f"; twideploy last deployed {expected} ({_by(by)})" if expected else
                                                   "; no twideploy deploy made it"))
        self._builds[name] = result
        return result

    def variable(self, name: str, change: Change) -> DriftItem:
        key = change.address.name
        if change.action is Action.CREATE:
            return DriftItem(change.address, "variable", DRIFT, "create", f"{key} is not set live",
                             [f"{key}: missing live (value masked)"])
        if change.action is Action.DELETE:
            return DriftItem(change.address, "variable", DRIFT, "delete",
                             f"{key} is set live but not in the manifests (apply --prune deletes it)",
                             [f"{key}: set live (value masked)"])
        live = self.planned.live.services[name]
        record = next((v for v in serverless_api.list_variables(self.gw, live.sid, live.environment.sid)
                       if v.key == key), None)
        updated = record.date_updated if record else None
        outside, summary = self._dated(change.address, updated, f"value of {key} differs from the manifests")
        return DriftItem(change.address, "variable", DRIFT, change.action.value, summary,
                         [f"{key}: value differs (values masked)"], outside, _iso(updated))

    # ---------------------------------------------------------------- numbers

    def number(self, change: Change) -> DriftItem | None:
        if change.action is Action.NOOP:
            return None
        number = change.address.owner
        live = self.planned.live.numbers.get(number)
        before, after = change.before or {}, change.after or {}
        if change.action is Action.UNMANAGED:
            return DriftItem(change.address, "number", INFO, "unmanaged",
                             "not in the manifests but points at a managed flow or function "
                             "(unbound only with --prune)", [f"{k}: {v}" for k, v in before.items()])
        lines = [f"{k}: live {before.get(k) or '(empty)'}, manifests {after.get(k) or '(empty)'}"
                 for k in after if before.get(k) != after.get(k)]
        record = numbers_api.fetch_number(self.gw, live.sid) if live else None
        updated = record.date_updated if record else None
        outside, summary = self._dated(change.address, updated, "number URLs differ from the manifests")
        return DriftItem(change.address, "number", DRIFT, change.action.value, summary, lines, outside, _iso(updated))

    def _dated(self, address: Address, updated: Any, what: str) -> tuple[bool | None, str]:
        """Attribution by date: changed after twideploy's last write of it (or last deploy)?"""
        record = self.history.last_change(address) or self.history.last_deploy()
        if record is None:
            return None, f"{what}; changed {_iso(updated) or 'at an unknown time'} (no deploy journal here to compare)"
        # twideploy's writes fall anywhere between the start and the end of the deploy
        after = _after(updated, (record.outcome.at if record.outcome else None) or record.header.started_at)
        if after is True:
            return True, f"{what}; changed outside twideploy at {_iso(updated)}, after {_by(record)}"
        if after is False:
            return False, f"{what}; unchanged live since {_by(record)}: the manifests changed since"
        return None, f"{what}; changed at {_iso(updated)}, in the same second as {_by(record)}: cannot tell by whom"


def _revision_ref(revision: Any) -> dict[str, Any] | None:
    if revision is None:
        return None
    ref = {"revision": revision.revision, "commit_message": revision.commit_message,
           "date_updated": _iso(revision.date_updated)}
    commit = commits.parse_deploy(revision.commit_message)
    if commit:
        ref.update(deploy_id=commit.deploy_id, git_sha=commit.git_sha)
    return ref


UNVERIFIED_ASSET = ("content not verified: Twilio has no API to read asset content and this machine's "
                    "`.twideploy/cache` does not know the live version (apply would upload it again)")


def _unverified_asset(change: Change) -> bool:
    """An asset that differs only in that its live content hash is unknown."""
    before, after = change.before or {}, change.after or {}
    return (change.kind == "asset" and change.action is Action.UPDATE and before.get("sha256") is None
            and before.get("path") == after.get("path") and before.get("visibility") == after.get("visibility"))


def _only_code_changed(change: Change) -> bool:
    """A build change caused by code alone (same runtime and dependencies)."""
    before, after = change.before or {}, change.after or {}
    return all(before.get(k) == after.get(k) for k in ("runtime", "dependencies"))


def _revisions_text(revisions: list[Any]) -> str:
    numbers = [str(r.revision) for r in revisions]
    return ("revision " if len(numbers) == 1 else "revisions ") + ", ".join(numbers)


def _short_hash(value: Any) -> str:
    return f"{value[:8]}..." if isinstance(value, str) else "unknown"
