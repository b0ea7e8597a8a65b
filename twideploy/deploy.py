"""The application layer of plan, apply, rollback and history: each returns a typed result.

The CLI parses options, calls these and prints what `twideploy.render` makes of the result;
drift (`drift.audit` -> DriftReport), promote (`promote.promote` -> PromoteResult) and export
(`export.export` -> ExportReport) are the entry points of the other commands.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from twideploy.errors import StalePlanError, TwideployError
from twideploy.manifest.documents import ParseError, parse_json, read_limited
from twideploy.manifest.models import schema_problems
from twideploy.plan import rollback as rollbacks
from twideploy.plan.executor import Executor, Outcome
from twideploy.plan.model import (
    MAX_PLAN_BYTES,
    MAX_PLAN_DEPTH,
    MAX_PLAN_VALUES,
    PLAN_FORMAT_VERSION,
    Action,
    Plan,
    PlanFileSpec,
)
from twideploy.plan.planner import Planned, comparable, comparable_fingerprints, make_plan
from twideploy.providers import flows
from twideploy.providers.base import Progress
from twideploy.state.account_store import AccountStore
from twideploy.state.cache import ContentCache
from twideploy.state.history import History
from twideploy.state.local_store import LocalStore
from twideploy.state.store import Notify
from twideploy.workspace import Workspace


def plan(ws: Workspace, *, prune: bool | None = None, include_layout: bool = False,
         git_sha: str | None = None, cache: ContentCache | None = None) -> Planned:
    """`cache` is the one apply shares when it is done; a plan alone keeps only its local copy."""
    cache = cache or ws.content_cache()
    planned = make_plan(ws.gateway, ws.project, ws.env, cache=cache, plan_key=ws.plan_key(), prune=prune,
                        include_layout=include_layout, git_sha=git_sha)
    cache.save()
    return planned


def save_plan(plan_: Plan, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(plan_.to_dict(), indent=2, default=str) + "\n")
    except OSError as error:
        raise TwideployError(f"{path}: cannot save the plan ({error})") from error


def load_plan(path: Path) -> Plan:
    """A saved plan, read with the manifests' bounds (size, nesting, no NaN) and checked against
    PlanFileSpec; anything else is one `file:line: message` error."""
    file = str(path)
    try:
        raw = read_limited(path, file, MAX_PLAN_BYTES)
        doc = parse_json(raw.decode("utf-8"), file, max_depth=MAX_PLAN_DEPTH, max_values=MAX_PLAN_VALUES)
    except UnicodeDecodeError:
        raise TwideployError(f"{file}:1: not a readable twideploy plan file (not UTF-8)") from None
    except ParseError as error:
        raise TwideployError(f"{file}:{error.problem.line}: not a readable twideploy plan file "
                             f"({error.problem.message})") from None
    data = doc.data
    if not isinstance(data, dict):
        raise TwideployError(f"{file}:1: not a readable twideploy plan file (not a JSON object)")
    if data.get("format_version") != PLAN_FORMAT_VERSION:
        raise TwideployError(f"{file}: plan format version {data.get('format_version')} is not "
                             f"{PLAN_FORMAT_VERSION}; make the plan again with this twideploy")
    _, problems = schema_problems(PlanFileSpec, data, doc.lines, json_paths=True)
    if problems:
        raise TwideployError(f"{file}:{problems[0].line}: not a readable twideploy plan file ({problems[0].message})")
    return Plan.from_dict(data)


def check_saved_plan(saved: Plan, fresh: Plan) -> None:
    """A saved plan is applied only if the account and the manifests are as they were."""
    if saved.environment != fresh.environment or saved.account_sid != fresh.account_sid:
        raise StalePlanError(f"the plan was made for {saved.environment} ({saved.account_sid}), "
                             f"not {fresh.environment} ({fresh.account_sid})")
    before, after = comparable_fingerprints(saved.fingerprint, fresh.fingerprint)
    if before != after:
        moved = describe_moves(before, after)
        raise StalePlanError("the live account changed since the plan was made (" + "; ".join(moved[:5]) +
                             (f"; and {len(moved) - 5} more" if len(moved) > 5 else "") +
                             "). Make a new plan and review it.")
    if comparable(saved) != comparable(fresh):
        raise StalePlanError("the manifests changed since the plan was made; make a new plan and review it")


def describe_moves(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    moves = []
    for section in sorted(set(before) | set(after)):
        old, new = before.get(section, {}), after.get(section, {})
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                what = "appeared" if key not in old else "disappeared" if key not in new else "changed"
                moves.append(f"{section[:-1]} {key} {what}")
    return moves


@dataclass
class ApplyOptions:
    prune: bool | None = None
    include_layout: bool = False
    lock_timeout: float = 0
    abandon_unfinished: bool = False
    git_sha: str | None = None


class ApplyResult(NamedTuple):
    """The plan apply made under the lock, and what executing it did (None when the user declined)."""

    planned: Planned
    outcome: Outcome | None


def apply(ws: Workspace, options: ApplyOptions, *, saved: Plan | None = None,
          confirm: Callable[[Plan], bool] = lambda plan: True,
          progress: Progress = lambda message: None, notify: Notify = lambda message: None,
          ) -> ApplyResult:
    """Plan afresh under the lock, check a saved plan against it, confirm, execute. `notify` is
    told what the user should read (a lock taken over from an expired holder)."""
    with ws.store.lock("apply", wait_seconds=options.lock_timeout, notify=notify) as lease:
        history = ws.store.history()
        if options.abandon_unfinished:
            rollbacks.abandon_unfinished(history)
        rollbacks.check_no_unfinished(history, ws.env.name)
        prune = saved.prune if saved else options.prune
        include_layout = saved.include_layout if saved else options.include_layout
        cache = ws.content_cache()
        planned = plan(ws, prune=prune, include_layout=include_layout, git_sha=options.git_sha, cache=cache)
        if saved is not None:
            check_saved_plan(saved, planned.plan)
        if planned.plan.has_changes and not confirm(planned.plan):
            return ApplyResult(planned, None)
        executor = Executor(ws.gateway, planned, store=ws.store, history=history, lease=lease, cache=cache,
                            git_sha=options.git_sha, progress=progress)
        outcome = executor.run()
        published = {c.address.owner for c in planned.plan.actionable
                     if c.kind == "flow" and c.action in (Action.CREATE, Action.UPDATE)}
        ended = rollbacks.end_preview_of(ws.gateway, ws.store, history, ws.env.name, published)
        outcome.report += [f"preview: {line}" for line in ended] + \
            (_preview_left_open(history, ws.env.name) if ended else [])
        return ApplyResult(planned, outcome)


def _preview_left_open(history: History, environment: str) -> list[str]:
    """After apply ended part of a preview: what stays in it (a flow drafted only because it runs
    a changed Function, which apply did not publish), so the output does not read as the preview ended.
    `history` is the one apply read, which ending the preview brought up to date in memory."""
    record = history.open_preview()
    if record is None:
        return []
    left = sorted({s.address for s in record.steps if s.address.startswith("flow.") and not s.undone})
    return [f"preview: preview {record.header.label} stays open for {', '.join(left)} (not published by this "
            f"apply); end it with: twideploy preview --env {environment} --clear"]


@dataclass(frozen=True)
class RollbackResult:
    """What a rollback did, one line per undo (or the flow revision written); `cancelled` when
    the user declined and nothing was changed."""

    lines: list[str]
    cancelled: bool = False


def rollback(ws: Workspace, *, to: str | None = None, flow: str | None = None, revision: int | None = None,
             lock_timeout: float = 0, confirm: Callable[[str], bool] = lambda what: True,
             notify: Notify = lambda message: None) -> RollbackResult:
    with ws.store.lock("rollback", wait_seconds=lock_timeout, notify=notify) as lease:
        if flow is not None:
            if revision is None:
                raise TwideployError("--flow needs --revision N")
            source = ws.project.flows.get(flow)
            friendly_name = source.friendly_name if source else flow
            live = flows.read(ws.gateway, {friendly_name}).get(friendly_name)
            if live is None:
                raise TwideployError(f"flow {flow} does not exist in {ws.env.name}")
            if not confirm(f"write revision {revision} of flow {flow} back as a new revision"):
                return RollbackResult([], cancelled=True)
            return RollbackResult([rollbacks.flow_to_revision(ws.gateway, live, revision)])
        records = ws.store.history().to_undo(to, environment=ws.env.name, where=ws.store.where)
        what = ", ".join(f"{r.deploy_id} ({r.status}, {len(r.steps)} writes)" for r in records)
        if records and not confirm(f"undo deploy(s) {what}"):
            return RollbackResult([], cancelled=True)
        return RollbackResult(rollbacks.undo_deploys(ws.gateway, ws.store, lease, ws.env.name, records))


@dataclass(frozen=True)
class DeployEntry:
    """One journal (a deploy or a rollback) as `history` lists it."""

    deploy_id: str
    kind: str
    status: str
    reverted: bool
    git_sha: str | None
    tag: str | None
    started_at: str
    changes: list[str]
    reverts: list[str]
    writes: int


@dataclass(frozen=True)
class RevisionEntry:
    """One live revision of a flow."""

    revision: int
    status: str
    commit_message: str | None
    date_updated: str


@dataclass(frozen=True)
class HistoryReport:
    environment: str
    deploys: list[DeployEntry]
    flow_revisions: dict[str, list[RevisionEntry]]


def history(ws: Workspace, *, limit: int = 20) -> HistoryReport:
    """Deploys from the journals, and the live revisions of the environment's flows."""
    deploys = _deploy_entries(ws, ws.store.history())[-limit:]
    names = {f.friendly_name for f in ws.project.flows.values() if f.name in ws.env.flows}
    live = flows.read(ws.gateway, set())
    managed = sorted(names & live.keys())
    listed = ws.gateway.map(lambda name: flows.revisions(ws.gateway, live[name].sid), managed)
    revisions = {name: [RevisionEntry(r.revision, r.status, r.commit_message, str(r.date_updated))
                        for r in sorted(records, key=lambda r: r.revision, reverse=True)]
                 for name, records in zip(managed, listed, strict=True)}
    return HistoryReport(ws.env.name, deploys, revisions)


def _deploy_entries(ws: Workspace, journalled: History) -> list[DeployEntry]:
    from twideploy.gitinfo import deploy_tags

    reverted = journalled.reverted_ids()
    tags = deploy_tags(ws.project.root, ws.env.name)
    return [DeployEntry(r.deploy_id, r.kind, r.status, r.deploy_id in reverted, r.header.git_sha,
                        tags.get(r.deploy_id), r.header.started_at, list(r.header.changes),
                        list(r.header.reverts), len(r.steps))
            for r in journalled.records]


@dataclass(frozen=True)
class StateReport:
    """What `twideploy state show` prints: where the state is, the lock, the journals, the hashes."""

    environment: str
    kind: str
    where: str
    lock: str
    deploys: list[DeployEntry]
    unfinished: list[str]
    content_hashes: int


def state_report(ws: Workspace) -> StateReport:
    journalled = ws.store.history()
    return StateReport(ws.env.name, ws.store.kind, ws.store.where, ws.store.describe_lock(),
                       _deploy_entries(ws, journalled), [r.deploy_id for r in journalled.unfinished()],
                       len(ws.store.content_cache().hashes))


def migrate_state(ws: Workspace, *, lock_timeout: float = 0, notify: Notify = lambda message: None) -> list[str]:
    """Upload this checkout's journals and content hashes of a `state: account` environment, once."""
    if not isinstance(ws.store, AccountStore):
        raise TwideployError(f"environment {ws.env.name} keeps its state in this checkout (state: local); "
                             f"set `state: account` in {ws.env.file.name} to keep it in the account, then migrate")
    with ws.store.lock("migrate", wait_seconds=lock_timeout, notify=notify):
        return ws.store.migrate(LocalStore(ws.paths, ws.env.name, ws.gateway.account_sid))
