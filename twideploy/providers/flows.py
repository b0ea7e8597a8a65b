"""Studio flows: identity by friendly_name; every write is a new revision.

Studio has no "revert": rollback writes an earlier revision's definition back as a new
revision, which is also how the journal undoes an update. Studio keeps every revision, so the
journal holds the revision number and the definition is fetched when undoing: a definition
may hold secret values (a secret `${vars.x}`), and no file may hold one.

A flow whose latest revision is a draft (a preview, or a console "Save" without "Publish")
is read as callers see it: its latest published revision, with the draft noted (`Draft`).
A draft is not deployed: plan and apply compare against the published revision, and
publishing over a draft twideploy did not make says so in the plan.

Each flow is compiled once, when planning, into `PlanContext.compiled`; apply writes that
definition, recompiling only a flow that refers to what this deploy creates (it showed
"(known after apply)"), and then only after checking that the result is the planned one with
those unknowns resolved.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from twideploy.addresses import Address
from twideploy.errors import ApplyError, NotUndoable, TwideployError, TwilioApiError
from twideploy.manifest import Environment, FlowSource, decompile_flow
from twideploy.manifest.flow_loader import normalize_flow
from twideploy.manifest.references import (
    UNKNOWN,
    AddressBook,
    FlowAddress,
    FunctionRef,
    compile_flow,
    mask_secret_strings,
    restore_secret_strings,
)
from twideploy.manifest.validation import flow_subflow_refs
from twideploy.plan.desired import Desired, Live
from twideploy.plan.flowdiff import describe, diff_shown
from twideploy.plan.model import Action, Change, WidgetChange
from twideploy.plan.scheduler import Task
from twideploy.providers.audit import (
    DRIFT,
    INFO,
    LAYOUT,
    AuditContext,
    DriftItem,
    deploy_ref,
    iso,
    revision_ref,
    written_by,
)
from twideploy.providers.base import (
    ApplyContext,
    DecompileContext,
    ExportContext,
    PlanContext,
    UndoFunction,
    Writer,
    delete_created,
    verify,
)
from twideploy.state import commits
from twideploy.state.cache import ContentCache
from twideploy.state.history import History
from twideploy.state.journal import JsonObject
from twideploy.twilio_api import studio
from twideploy.twilio_api.gateway import Gateway
from twideploy.yaml_writer import plain, read_document


@dataclass(frozen=True)
class Draft:
    """A draft revision newer than the published one: callers do not run it, Test Users do."""

    revision: int
    commit_message: str | None
    date_updated: str

    @property
    def ours(self) -> bool:
        """Whether twideploy made it (a preview)."""
        return commits.parse_preview(self.commit_message) is not None

    def describe(self) -> str:
        made = f"preview {commits.parse_preview(self.commit_message)}" if self.ours else \
            f"made outside twideploy ({self.commit_message or 'no commit message'!r}, {self.date_updated})"
        return f"draft revision {self.revision} {made}"


@dataclass
class LiveFlow(studio.Flow):
    """A live flow as the planner sees it: Twilio's record (of the published revision when a
    draft is the latest: `draft`) plus what the cache knows of it."""

    #: The definition's `definition_hash` when known without fetching it: all of it from this
    #: machine's cache, or its first `commits.HASH_DIGITS` from the commit message of the
    #: revision twideploy wrote (what a fresh CI runner, without the cache, has).
    known_hash: str | None = None
    draft: Draft | None = None

    def known_to_be(self, definition: JsonObject) -> bool:
        """Whether the definition not fetched is known to be `definition`, to the letter."""
        return self.known_hash is not None and definition_hash(definition).startswith(self.known_hash)


def read(gw: Gateway, managed_names: set[str], cache: ContentCache | None = None, *,
         skip_known: bool = False) -> dict[str, LiveFlow]:
    """Every flow of the account by friendly_name; definitions only for the managed ones.

    Twilio's list has no definitions, so managed flows are fetched, concurrently, except,
    with `skip_known`, those whose current revision's hash is known (`known_hash`): they
    come back with `definition=None`, for the planner to fetch only if that is not the hash
    of what the manifests compile to (`fetch_definitions`). A managed flow whose latest revision
    is a draft is read as its latest published revision (`read_published`).
    """
    flows = {r.friendly_name: _live(r) for r in studio.list_flows(gw)}
    drafted = [f for name, f in flows.items() if name in managed_names and f.status == "draft"]
    gw.map(lambda flow: read_published(gw, flow), drafted)
    for flow in drafted:
        remember(cache, flow)
    missing = []
    for name, flow in flows.items():
        if name in managed_names and flow.definition is None:
            if skip_known:
                flow.known_hash = _known_hash(flow, cache)
            if flow.known_hash is None:
                missing.append(flow)
    fetch_definitions(gw, missing, cache)
    return flows


def _known_hash(flow: LiveFlow, cache: ContentCache | None) -> str | None:
    cached = cache.hashes.get(revision_key(flow.sid, flow.revision)) if cache is not None else None
    commit = commits.parse_deploy(flow.commit_message)
    return cached or (commit.definition_hash if commit else None)


def fetch_definitions(gw: Gateway, missing: list[LiveFlow], cache: ContentCache | None) -> None:
    """Fill in the definitions of `missing` (concurrently), remembering their hashes."""
    fetched = gw.map(lambda f: studio.fetch_flow(gw, f.sid), missing)
    for flow, full in zip(missing, fetched, strict=True):
        flow.definition, flow.revision, flow.status = full.definition, full.revision, full.status
        remember(cache, flow)


def read_published(gw: Gateway, flow: LiveFlow) -> None:
    """Turn a flow listed with a draft as its latest revision into its latest published revision
    (Studio's `LatestPublished`), the draft kept in `flow.draft`. A flow never published has
    nothing else: it stays the draft it is."""
    try:
        published = studio.fetch_revision(gw, flow.sid, studio.LATEST_PUBLISHED)
    except TwilioApiError as error:
        if error.status != 404:
            raise
        full = studio.fetch_flow(gw, flow.sid)
        flow.definition, flow.revision, flow.status = full.definition, full.revision, full.status
        return
    flow.draft = Draft(flow.revision, flow.commit_message, flow.date_updated)
    flow.revision, flow.status, flow.definition = published.revision, published.status, published.definition
    flow.commit_message, flow.date_updated = published.commit_message, published.date_updated


def remember(cache: ContentCache | None, flow: LiveFlow) -> None:
    if cache is not None and flow.definition is not None:
        cache.hashes[revision_key(flow.sid, flow.revision)] = definition_hash(flow.definition)


def revision_key(sid: str, revision: int) -> str:
    return f"{sid}@{revision}"


def definition_hash(definition: JsonObject) -> str:
    return hashlib.sha256(json.dumps(definition, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _live(record: studio.Flow) -> LiveFlow:
    return LiveFlow(record.sid, record.friendly_name, record.status, record.revision, record.definition,
                    record.commit_message, record.webhook_url, record.date_updated)


def plan(name: str, friendly_name: str, status: str, compiled: dict[str, Any], live: LiveFlow | None,
         shown: Callable[[dict[str, Any]], dict[str, Any]] = lambda definition: definition) -> Change:
    """The change of one managed flow; `shown` masks a definition's secrets for the widget diff
    (see `diff_shown`): the plan, and so every rendering of it, never holds a definition's text."""
    address = Address.flow(name)
    after = {"friendly_name": friendly_name, "status": status}
    if live is None:
        widgets = [WidgetChange(s["name"], "added", s.get("type", "?")) for s in compiled.get("states", [])]
        return Change("flow", address, Action.CREATE, None, after, widgets)
    before = {"friendly_name": live.friendly_name, "status": live.status, "revision": live.revision, "sid": live.sid}
    if live.definition is None:  # not fetched: the revision's known hash matches the manifests
        widgets = []
    else:
        widgets = diff_shown(live.definition, compiled, shown(live.definition), shown(compiled))
    if live.status != status:
        widgets.insert(0, WidgetChange("(flow)", "flow", "status", live.status, status))
    action = Action.UPDATE if widgets else Action.NOOP
    return Change("flow", address, action, before, after, widgets, _draft_note(live.draft, action))


def _draft_note(draft: Draft | None, action: Action) -> str:
    """What the plan says of a draft on a flow: publishing replaces it as the latest revision."""
    if draft is None or action is not Action.UPDATE:
        return ""
    if draft.ours:
        return f"publishing ends its {draft.describe()} (apply clears that preview)"
    return f"{draft.describe()} is replaced as the latest revision by this publish (it stays in the revisions)"


def plan_unmanaged(name: str, live: LiveFlow, prune: bool) -> Change:
    """A live flow the environment does not deploy; `name` is its project name when it has one."""
    before = {"friendly_name": live.friendly_name, "status": live.status, "revision": live.revision, "sid": live.sid}
    return Change("flow", Address.flow(name), Action.DELETE if prune else Action.UNMANAGED, before)


def fingerprint(live: LiveFlow) -> JsonObject:
    return {"sid": live.sid, "revision": live.revision}


def studio_validate(gw: Gateway, name: str, friendly_name: str, status: str, definition: JsonObject) -> None:
    """Ask Studio to validate before writing anything, so a bad flow fails before the deploy starts.

    Validation changes nothing, so it is retried like a read. Only a 400 is Studio's verdict
    on the flow; any other error (a 500 that retries did not cure) is Twilio's, as it is."""
    try:
        studio.validate_flow(gw, friendly_name=friendly_name, status=status, definition=definition)
    except TwilioApiError as error:
        if error.status == 400:
            raise ApplyError(f"Studio rejected flow {name}: {error}") from error
        raise TwilioApiError(f"Studio could not validate flow {name}: {error}", status=error.status,
                             code=error.code) from error


def write_flow(gw: Gateway, change: Change, friendly_name: str, status: str, definition: JsonObject,
               live: LiveFlow | None, commit_message: str, write: Writer) -> LiveFlow:
    """Create a flow (`live` None) or write a new revision of it; the flow as it is then."""
    if live is None:
        result = write("flow.create", change.address, {"friendly_name": friendly_name}, lambda: _result(
            studio.create_flow(gw, friendly_name=friendly_name, status=status, definition=definition,
                               commit_message=commit_message)))
        return LiveFlow(result["sid"], friendly_name, status, result["revision"], definition, commit_message,
                        result["webhook_url"])
    undo = {"sid": live.sid, "friendly_name": live.friendly_name, "revision": live.revision, "status": live.status}
    result = write("flow.update", change.address, undo, lambda: _result(studio.update_flow(
        gw, live.sid, status=status, friendly_name=friendly_name, definition=definition,
        commit_message=commit_message)))
    return LiveFlow(live.sid, friendly_name, status, result["revision"], definition, commit_message,
                    live.webhook_url)


def delete_flow(gw: Gateway, change: Change, live: LiveFlow, write: Writer,
                holds_secret: Callable[[JsonObject], bool]) -> None:
    """Delete a flow. It loses its revisions, so undoing the delete needs its definition: it is
    journalled unless `holds_secret(definition)` says it may hold a secret value; then it is
    kept in memory only, for this run's own rollback."""
    definition = live.definition
    if definition is None:  # an unmanaged flow is listed, never fetched: undo must recreate it
        definition = live.definition = studio.fetch_flow(gw, live.sid).definition or {}
    secret = holds_secret(definition)
    undo = {"sid": live.sid, "friendly_name": live.friendly_name, "status": live.status,
            "definition": None if secret else definition, "commit_message": live.commit_message}
    write("flow.delete", change.address, undo, lambda: studio.delete_flow(gw, live.sid),
          secret_undo={"definition": definition} if secret else None)


def _result(record: studio.Flow) -> dict[str, Any]:
    return {"sid": record.sid, "revision": record.revision, "webhook_url": record.webhook_url}


def revert_to(gw: Gateway, sid: str, definition: JsonObject, status: str, commit_message: str) -> int:
    """Write an earlier definition back as a new revision; returns the new revision number."""
    return studio.update_flow(gw, sid, status=status, definition=definition, commit_message=commit_message).revision


def revert_to_revision(gw: Gateway, sid: str, number: int, commit_message: str) -> int:
    """Write revision `number`'s definition back as a new revision; returns the new revision number."""
    old = revision(gw, sid, number)
    return revert_to(gw, sid, old.definition, old.status, commit_message)


def revision(gw: Gateway, sid: str, number: int) -> studio.Revision:
    return studio.fetch_revision(gw, sid, number)


def revisions(gw: Gateway, sid: str) -> list[studio.Revision]:
    return studio.list_revisions(gw, sid)


# --------------------------------------------------------------------------- undo

def _undo_create(gw: Gateway, undo: dict, result: dict) -> str:
    delete_created(result, lambda: _sid_named(gw, undo["friendly_name"]), lambda sid: studio.delete_flow(gw, sid))
    return f"deleted flow {undo['friendly_name']}"


def _undo_update(gw: Gateway, undo: dict, result: dict) -> str:
    current = studio.fetch_flow(gw, undo["sid"])
    if current.revision == undo["revision"]:
        return f"flow {undo['friendly_name']} was not changed"
    new = revert_to_revision(gw, undo["sid"], undo["revision"],
                             commits.rollback_to_revision_message(undo['revision']))
    return f"flow {undo['friendly_name']} back to revision {undo['revision']}'s definition (as revision {new})"


def _undo_delete(gw: Gateway, undo: dict, result: dict) -> str:
    if undo.get("definition") is None:
        raise NotUndoable(f"flow {undo['friendly_name']} may hold a secret value, so its definition was not "
                          f"journalled and it cannot be recreated from here: recreate it from its manifest "
                          f"(add it to the environment's flows and apply) or by hand")
    existing = _sid_named(gw, undo["friendly_name"])
    if existing:  # an earlier rollback made it, and its answer was lost
        return f"flow {undo['friendly_name']} is there again, as {existing}"
    record = studio.create_flow(gw, friendly_name=undo["friendly_name"], status=undo["status"],
                                definition=undo["definition"], commit_message=commits.RECREATED_MESSAGE)
    return f"recreated flow {undo['friendly_name']} as {record.sid} (a new SID: rebind numbers by applying)"


def _sid_named(gw: Gateway, friendly_name: str) -> str | None:
    return next((f.sid for f in studio.list_flows(gw) if f.friendly_name == friendly_name), None)


# --------------------------------------------------------------------------- preview drafts

def write_draft(gw: Gateway, change: Change, live: LiveFlow, definition: JsonObject, commit_message: str,
                preview_id: str, write: Writer) -> int:
    """Write `definition` as a draft revision of `live` (callers keep running the published one);
    the draft's revision number. Undone by republishing the published definition."""
    undo = {"sid": live.sid, "friendly_name": live.friendly_name, "published_revision": live.revision,
            "commit_message": commit_message, "preview_id": preview_id}
    result = write("flow.draft", change.address, undo, lambda: {"revision": studio.update_flow(
        gw, live.sid, status="draft", definition=definition, commit_message=commit_message).revision})
    return int(result["revision"])


def set_test_users(gw: Gateway, change: Change, live: LiveFlow, testers: list[str], write: Writer) -> list[str]:
    """Add `testers` to the flow's Test Users (others already there stay); the list as set."""
    previous = studio.fetch_test_users(gw, live.sid)
    wanted = list(dict.fromkeys([*previous, *testers]))
    write("flow.test_users", change.address, {"sid": live.sid, "friendly_name": live.friendly_name,
                                              "previous": previous},
          lambda: {"test_users": studio.update_test_users(gw, live.sid, wanted)})
    return wanted


def _undo_draft(gw: Gateway, undo: dict, result: dict) -> str:
    """End a preview's draft: Studio has no "discard draft", so the latest published definition
    is written back as a new published revision, its commit message saying so. A flow already
    published since (apply publishes over a preview) needs nothing; a newer draft someone
    else made is left alone (it is theirs to publish or drop)."""
    name, sid = undo["friendly_name"], undo["sid"]
    current = studio.fetch_flow(gw, sid)
    if current.status == "published":
        return f"flow {name}: no draft to end (revision {current.revision} is published)"
    if current.commit_message != undo["commit_message"]:
        raise NotUndoable(f"flow {name}: its latest revision {current.revision} is a draft this preview did not "
                          f"write ({current.commit_message or 'no commit message'!r}); left as it is")
    published = studio.fetch_revision(gw, sid, studio.LATEST_PUBLISHED)
    new = studio.update_flow(gw, sid, status="published", definition=published.definition,
                             commit_message=commits.preview_cleared_message(undo["preview_id"],
                                                                            published.revision)).revision
    return f"flow {name}: draft ended, published revision {published.revision}'s definition is revision {new}"


def _undo_test_users(gw: Gateway, undo: dict, result: dict) -> str:
    previous = [str(user) for user in undo["previous"]]
    studio.update_test_users(gw, undo["sid"], previous)
    return f"flow {undo['friendly_name']}: Test Users back to {', '.join(previous) or 'none'}"


UNDO: dict[str, UndoFunction] = {
    "flow.create": _undo_create,
    "flow.update": _undo_update,
    "flow.delete": _undo_delete,
    "flow.draft": _undo_draft,
    "flow.test_users": _undo_test_users,
}


# --------------------------------------------------------------------------- drift

def _attribute(ctx: AuditContext, change: Change) -> DriftItem | None:
    name = change.address.owner
    source = ctx.project.flows.get(name)
    friendly = source.friendly_name if source else (change.before or {}).get("friendly_name", name)
    live = ctx.live.flows.get(friendly)
    actionable = change in ctx.plan.actionable
    category = (LAYOUT if change.cosmetic_only else DRIFT) if change.action in (
        Action.CREATE, Action.UPDATE, Action.DELETE) else INFO
    if change.action is Action.CREATE:
        wrote = ctx.history.last_write(change.address)
        if wrote:
            return DriftItem(change.address, "flow", DRIFT, "create",
                             f"deleted outside twideploy: twideploy last wrote it in {written_by(wrote[0])}",
                             outside_twideploy=True, details={"last_twideploy": deploy_ref(wrote[0])})
        return DriftItem(change.address, "flow", DRIFT, "create",
                         "in the manifests but not in the account (never applied, or deleted)")
    if live is None:
        return None
    # A draft after the published revision serves no caller: reported apart (`_draft_item`).
    written = sorted((r for r in revisions(ctx.gw, live.sid) if r.revision <= live.revision), key=lambda r: r.revision)
    ours = [r for r in written if commits.is_ours(r.commit_message)]
    last_ours = ours[-1] if ours else None
    outside = [r for r in written if r.revision > (last_ours.revision if last_ours else 0)
               and not commits.is_ours(r.commit_message)]
    details: dict[str, Any] = {
        "live": {"sid": live.sid, "revision": live.revision, "status": live.status,
                 "date_updated": iso(live.date_updated)},
        "outside_revisions": [{"revision": r.revision, "commit_message": r.commit_message or "",
                               "date_updated": iso(r.date_updated), "status": r.status,
                               "author_sid": r.author_sid} for r in outside],
        "last_twideploy": revision_ref(last_ours),
    }
    changes = [describe(w) for w in change.widgets] if category != INFO or change.action is Action.DELETE else []
    if change.action is Action.NOOP:
        if not outside:
            return None
        return DriftItem(change.address, "flow", INFO, "no-op",
                         f"{_revisions_text(outside)} made outside twideploy; the definition matches the "
                         f"manifests again", [], True, iso(outside[-1].date_updated), details)
    if change.action in (Action.UNMANAGED, Action.DELETE):
        made_by_hand = last_ours is None
        what = "not in the manifests" + ("; apply --prune deletes it" if change.action is Action.DELETE
                                         else "; kept (deleted only with --prune)")
        return DriftItem(change.address, "flow", category if actionable else INFO, change.action.value,
                         f"{what}; " + ("created outside twideploy" if last_ours is None else
                                        f"last written by twideploy as revision {last_ours.revision}"),
                         [], made_by_hand, iso(live.date_updated), details)
    if outside:
        summary = f"changed outside twideploy: {_revisions_text(outside)}"
        if last_ours is not None:
            summary += f", after twideploy's revision {last_ours.revision}"
        return DriftItem(change.address, "flow", category, change.action.value, summary, changes, True,
                         iso(outside[-1].date_updated), details)
    if last_ours is None:
        return DriftItem(change.address, "flow", category, change.action.value,
                         f"revision {live.revision} was not written by twideploy (made by hand?)",
                         changes, True, iso(live.date_updated), details)
    return DriftItem(change.address, "flow", category, change.action.value,
                     f"live is twideploy's revision {last_ours.revision} ({last_ours.commit_message}); "
                     f"the manifests changed since (not applied yet)", changes, False,
                     iso(live.date_updated), details)


def _draft_item(ctx: AuditContext, name: str, live: LiveFlow) -> DriftItem | None:
    """A draft is information, never drift: callers run the published revision. Twideploy's own
    is an open preview (its label, testers and start); another is someone's work in progress."""
    draft = live.draft
    if draft is None:
        return None
    details: dict[str, Any] = {"draft": {"revision": draft.revision, "commit_message": draft.commit_message or "",
                                         "date_updated": iso(draft.date_updated)}}
    if not draft.ours:
        return DriftItem(Address.flow(name), "flow", INFO, "draft",
                         f"{draft.describe()}: only its Test Users reach it, callers run published revision "
                         f"{live.revision}; twideploy never writes over it unannounced", [], True,
                         iso(draft.date_updated), details)
    record = ctx.history.open_preview()
    testers = ", ".join(record.header.testers) if record else "unknown testers"
    since = record.header.started_at if record else iso(draft.date_updated)
    details["preview"] = {"label": commits.parse_preview(draft.commit_message),
                          "testers": list(record.header.testers) if record else [], "since": since}
    return DriftItem(Address.flow(name), "flow", INFO, "preview",
                     f"in preview {commits.parse_preview(draft.commit_message)} since {since} for {testers} "
                     f"(draft revision {draft.revision}; callers run published revision {live.revision})",
                     [], False, since, details)


def _revisions_text(revisions: list[studio.Revision]) -> str:
    numbers = [str(r.revision) for r in revisions]
    return ("revision " if len(numbers) == 1 else "revisions ") + ", ".join(numbers)


# --------------------------------------------------------------------------- promotion

VAR = re.compile(r"\$\{vars\.([A-Za-z_][A-Za-z0-9_]*)\}")


def _origin(env_name: str, live: LiveFlow, history: History) -> tuple[str, dict]:
    """Where a promoted flow comes from: its revision, and the deploy (and commit) that wrote it."""
    message = live.commit_message or ""
    commit = commits.parse_deploy(message)
    detail: dict[str, Any] = {"environment": env_name, "flow_sid": live.sid, "revision": live.revision,
                              "commit_message": message}
    if commit:
        deploy_id, sha = commit.deploy_id, commit.git_sha
        record = history.find(deploy_id)
        sha = sha or (record.header.git_sha if record else None)
        detail.update(deploy_id=deploy_id, git_sha=sha)
        text = f"{env_name} revision {live.revision} (deploy {deploy_id}" + (f", git {sha}" if sha else "") + ")"
    elif commits.is_ours(message):
        text = f"{env_name} revision {live.revision} ({message})"
    else:
        text = f"{env_name} revision {live.revision}, edited outside twideploy" + (f": {message!r}" if message else "")
        detail["outside_twideploy"] = True
    return text, detail


def _check_references(name: str, definition: dict[str, Any], from_env: Environment, to_env: Environment) -> None:
    """Nothing environment-specific of the from-account may reach the to-account."""
    for state in definition.get("states") or []:
        props = state.get("properties") or {}
        widget = f"flow {name}, widget {state.get('name')}"
        if state.get("type") == "run-function" and "function" not in props:
            raise TwideployError(f"{widget}: runs function {props.get('function_sid')}, which is not a function of a "
                                 f"service {from_env.name} deploys; cannot recompile it for {to_env.name}")
        if state.get("type") == "run-subflow" and "flow" not in props:
            raise TwideployError(f"{widget}: runs subflow {props.get('flow_sid')}, which is not a flow "
                                 f"{from_env.name} deploys; cannot recompile it for {to_env.name}")
        if state.get("type") == "run-subflow" and props.get("flow") not in to_env.flows:
            raise TwideployError(f"{widget}: runs subflow {props.get('flow')}, which {to_env.name} does not deploy "
                                 f"(add it to flows: of environments/{to_env.name}.yaml)")
        if state.get("type") == "run-function":
            service = FunctionRef.parse(str(props["function"])).service
            if service not in to_env.services:
                raise TwideployError(f"{widget}: runs {props['function']}, but {to_env.name} does not deploy "
                                     f"service {service}")
    missing = sorted({m for m in VAR.findall(repr(definition)) if m not in to_env.vars})
    if missing:
        raise TwideployError(f"flow {name} uses ${{vars.{missing[0]}}} (a value of {from_env.name}'s var appears in "
                             f"it) but {to_env.name} defines no var {missing[0]}")


DEFAULT_FLAGS = {"allow_concurrent_calls": True}


class _FlowExport:
    """Export of the account's flows: the ones named (by file name or friendly name) or all,
    plus every subflow they run; a flow the manifests have keeps its name and file."""

    def __init__(self, ctx: ExportContext):
        self.live = read(ctx.gw, set())
        taken = {source.friendly_name: name for name, source in ctx.project.flows.items()}
        self.names: dict[str, str] = {}  # friendly_name -> manifest name
        used = set(ctx.project.flows)
        for friendly in sorted(self.live):
            name = taken.get(friendly)
            if name is None:
                base = name = _slug(friendly)
                n = 2
                while name in used:
                    name, n = f"{base}-{n}", n + 1
                used.add(name)
            self.names[friendly] = name
        for friendly, live in self.live.items():
            ctx.book.flows[self.names[friendly]] = FlowAddress(live.sid, live.webhook_url)
        self.symbolic: dict[str, JsonObject] = {}  # manifest name -> decompiled definition, as chosen

    def select(self, ctx: ExportContext) -> None:
        for friendly in self._chosen(ctx):
            name = self.names[friendly]
            self.symbolic[name] = self._decompile(ctx, friendly, name)
            for ref in function_refs(self.symbolic[name]):
                ctx.referred.add(Address.service(ref.service))
        ctx.kept.update(Address.flow(name) for name in [*self.symbolic, *ctx.env.flows])

    def _chosen(self, ctx: ExportContext) -> list[str]:
        """Friendly names of the flows to export."""
        if not ctx.flows:
            return sorted(self.live)
        by_name = {name: friendly for friendly, name in self.names.items()}
        chosen = []
        for name in ctx.flows:
            friendly = by_name.get(name) or (name if name in self.live else None)
            if friendly is None:
                known = ", ".join(sorted(by_name)) or "none"
                raise TwideployError(f"no flow {name!r} in the account of {ctx.env.name} (flows: {known})")
            chosen.append(friendly)
        by_sid = {f.sid: friendly for friendly, f in self.live.items()}
        queue = list(chosen)
        while queue:
            friendly = queue.pop()
            for sid in _subflow_sids(self._definition(ctx, friendly)):
                target = by_sid.get(sid)
                if target and target not in chosen:
                    chosen.append(target)
                    queue.append(target)
                    ctx.report.warnings.append(f"flow {self.names[target]} is exported too: "
                                               f"{self.names[friendly]} runs it as a subflow")
        return chosen

    def _definition(self, ctx: ExportContext, friendly: str) -> dict[str, Any]:
        live = self.live[friendly]
        if live.definition is None:
            live.definition = studio.fetch_flow(ctx.gw, live.sid).definition or {}
        return live.definition

    def _decompile(self, ctx: ExportContext, friendly: str, name: str) -> dict[str, Any]:
        live = self._definition(ctx, friendly)
        definition = decompile_flow(live, vars=ctx.env.vars, book=ctx.book)
        source = ctx.project.flows.get(name)
        if source is not None:
            for place in restore_secret_strings(definition, live, source.definition, ctx.env.vars):
                ctx.report.warnings.append(
                    f"flow {name}: {place} holds a secret var in the manifests and differs live in more than the "
                    f"secret; kept as the manifests say (a live text that may hold a secret is never written)")
        for state in definition.get("states") or []:
            props = state.get("properties") or {}
            if state.get("type") == "run-function" and "function" not in props and props.get("function_sid"):
                ctx.report.warnings.append(
                    f"flow {name}: widget {state.get('name')} runs function {props.get('function_sid')}, which no "
                    f"deployed build of this account contains; its SIDs and URL are kept as they are")
            if state.get("type") == "run-subflow" and "flow" not in props and props.get("flow_sid"):
                ctx.report.warnings.append(
                    f"flow {name}: widget {state.get('name')} runs subflow {props.get('flow_sid')}, which is not a "
                    f"flow of this account; its SID is kept as it is")
        return definition

    def write(self, ctx: ExportContext) -> None:
        friendly_of = {name: friendly for friendly, name in self.names.items()}
        for name, definition in self.symbolic.items():
            self._write_flow(ctx, name, self.live[friendly_of[name]], definition)
        merged = list(ctx.env.flows)
        wanted = merged + [n for n in self.symbolic if n not in merged]
        if wanted != merged:
            ctx.environment["flows"] = wanted
            ctx.environment_changed = True
        ctx.report.flows = list(self.symbolic)

    def _write_flow(self, ctx: ExportContext, name: str, live: LiveFlow, definition: dict[str, Any]) -> None:
        source = ctx.project.flows.get(name)
        path = source.file if source else ctx.project.root / "flows" / f"{name}.yaml"
        existing = read_document(path) if path.exists() else None
        keep = set(existing or {})
        doc: dict[str, Any] = {"friendly_name": live.friendly_name}
        if definition.get("description") or "description" in keep:
            doc["description"] = definition.get("description", "")
        doc["status"] = live.status
        triggers = [s["name"] for s in definition.get("states") or [] if s.get("type") == "trigger"]
        implied = triggers[0] if len(triggers) == 1 else None
        if "initial_state" in definition and (definition["initial_state"] != implied or "initial_state" in keep):
            doc["initial_state"] = definition["initial_state"]
        if "flags" in definition and (definition["flags"] != DEFAULT_FLAGS or "flags" in keep):
            doc["flags"] = definition["flags"]
        for key, value in definition.items():
            if key not in ("description", "initial_state", "flags", "states"):
                doc[key] = value
        doc["states"] = [_state_doc(s) for s in definition.get("states") or []]
        if existing is not None and _flow_meaning(plain(existing)) == _flow_meaning(doc):
            ctx.report.unchanged.append(ctx.rel(path))
            return
        ctx.write(path, existing, doc, json_file=path.suffix == ".json")


def _slug(text: str) -> str:
    """A file name for a flow the manifests do not have, from its friendly name."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", text.strip().lower()).strip("-.")
    return slug or "flow"


def _state_doc(state: dict[str, Any]) -> dict[str, Any]:
    """A widget as flow files write it: name, type, properties, transitions first."""
    ordered: dict[str, Any] = {k: state[k] for k in ("name", "type", "properties", "transitions") if k in state}
    ordered.update({k: v for k, v in state.items() if k not in ordered})
    return copy.deepcopy(ordered)


def _flow_meaning(doc: dict[str, Any]) -> tuple:
    """What a flow file means, so that a file already saying it is not rewritten."""
    data = copy.deepcopy(doc)
    return (data.get("friendly_name"), data.get("status", "published"), normalize_flow(data))


def _subflow_sids(definition: dict[str, Any]) -> list[str]:
    return [s["properties"]["flow_sid"] for s in definition.get("states") or []
            if s.get("type") == "run-subflow" and isinstance((s.get("properties") or {}).get("flow_sid"), str)]


def function_refs(definition: dict[str, Any]) -> list[FunctionRef]:
    refs = []
    for state in definition.get("states") or []:
        function = (state.get("properties") or {}).get("function") if state.get("type") == "run-function" else None
        if isinstance(function, str):
            refs.append(FunctionRef.parse(function))
    return refs


class FlowsProvider:
    family = "flow"
    name = "flows"
    undo = UNDO

    def read(self, gw: Gateway, desired: Desired, cache: ContentCache, *, lazy: bool = False) -> dict[str, LiveFlow]:
        return read(gw, {f.friendly_name for f in desired.flows}, cache, skip_known=lazy)

    def add_addresses(self, book: AddressBook, desired: Desired, live: Live) -> None:
        for flow in desired.flows:
            found = live.flows.get(flow.friendly_name)
            if found:
                book.flows[flow.name] = FlowAddress(found.sid, found.webhook_url)

    def plan(self, ctx: PlanContext) -> list[Change]:
        desired, live, env = ctx.desired, ctx.live, ctx.desired.env
        for flow in desired.flows:
            ctx.compiled[flow.name] = compile_flow(flow.definition, vars=env.vars, book=ctx.book)
        fetch_definitions(ctx.gw, [found for flow in desired.flows
                                   if (found := live.flows.get(flow.friendly_name)) and found.definition is None
                                   and (not found.known_to_be(ctx.compiled[flow.name])
                                        or found.status != flow.status)], ctx.cache)
        changes = [plan(flow.name, flow.friendly_name, flow.status, ctx.compiled[flow.name],
                        live.flows.get(flow.friendly_name),
                        partial(mask_secret_strings, symbolic=flow.definition, vars=env.vars))
                   for flow in desired.flows]
        managed = {flow.friendly_name for flow in desired.flows}
        project_names = {f.friendly_name: f.name for f in desired.project.flows.values()}
        return changes + [plan_unmanaged(project_names.get(name, name), f, ctx.prune)
                          for name, f in sorted(live.flows.items()) if name not in managed]

    def fingerprint(self, live: Live, plan_key: bytes) -> dict[str, object]:
        return {name: fingerprint(f) for name, f in sorted(live.flows.items())}

    def check(self, ctx: ApplyContext, changes: list[Change]) -> None:
        """Studio's own validation of every flow this deploy writes, before any write."""
        to_write = {c.address for c in changes if c.action in (Action.CREATE, Action.UPDATE)
                    and (ctx.include_layout or not c.cosmetic_only)}
        sources = [s for s in ctx.desired.flows if Address.flow(s.name) in to_write]
        ctx.gw.map(lambda s: studio_validate(ctx.gw, s.name, s.friendly_name, s.status, ctx.compiled[s.name]),
                   sources)

    def apply(self, ctx: ApplyContext, changes: list[Change]) -> list[Task]:
        """One task per flow written; each needs the subflows it runs and the services whose
        functions it runs to be live (their SIDs are compiled into it)."""
        by_address = {c.address: c for c in changes}
        return [Task(change.address, partial(self._write, ctx, source, change), needs(source))
                for source in ctx.desired.flows
                if (change := by_address[Address.flow(source.name)]).action is not Action.NOOP
                and (ctx.include_layout or not change.cosmetic_only)]

    @staticmethod
    def _write(ctx: ApplyContext, source: FlowSource, change: Change) -> None:
        definition = ctx.compiled[source.name]
        if _unknown_in(definition):  # refers to what this deploy made: known now
            resolved = compile_flow(source.definition, vars=ctx.desired.env.vars, book=ctx.book)
            verify(change.address, definition, resolved)
            definition = resolved
        current = write_flow(ctx.gw, change, source.friendly_name, source.status, definition,
                             ctx.live.flows.get(source.friendly_name),
                             revision_message(ctx, source.friendly_name, definition), ctx.write)
        ctx.live.flows[source.friendly_name] = current
        remember(ctx.cache, current)
        ctx.book.enter_flow(source.name, FlowAddress(current.sid, current.webhook_url))

    def prune(self, ctx: ApplyContext, changes: list[Change]) -> list[Task]:
        def delete(change: Change) -> None:
            found = ctx.live.flows[(change.before or {})["friendly_name"]]
            delete_flow(ctx.gw, change, found, ctx.write, partial(ctx.desired.holds_secret, found.friendly_name))

        return [Task(change.address, partial(delete, change)) for change in changes if change.action is Action.DELETE]

    def attribute(self, ctx: AuditContext, changes: list[Change]) -> list[DriftItem]:
        names = {source.friendly_name: name for name, source in ctx.project.flows.items()}
        drafts = [item for friendly, live in sorted(ctx.live.flows.items())
                  if (item := _draft_item(ctx, names.get(friendly, friendly), live)) is not None]
        return [item for change in changes if (item := _attribute(ctx, change)) is not None] + drafts

    def decompile(self, ctx: DecompileContext) -> None:
        """The flows `target_env` deploys, decompiled from what the source account runs."""
        source, target = ctx.source_env, ctx.target_env
        flows: dict[str, FlowSource] = {}
        for name in target.flows:
            manifest = ctx.project.flows[name]
            if name not in source.flows:
                raise TwideployError(f"{target.name} deploys flow {name}, which {source.name} does not; "
                                     f"nothing to promote it from")
            found = ctx.live.flows.get(manifest.friendly_name)
            if found is None or found.definition is None:
                raise TwideployError(f"flow {name} ({manifest.friendly_name!r}) is not in {source.name}'s account; "
                                     f"apply {source.name} first")
            symbolic = decompile_flow(found.definition, vars=source.vars, book=ctx.book)
            differing = restore_secret_strings(symbolic, found.definition, manifest.definition, source.vars)
            if differing:
                raise TwideployError(f"flow {name}, {differing[0]}: holds a secret var in the manifests, and what "
                                     f"{source.name} runs there differs in more than the secret, so which part is "
                                     f"{source.name}'s secret cannot be told; apply {source.name} first")
            _check_references(name, symbolic, source, target)
            flows[name] = FlowSource(name, manifest.friendly_name, manifest.file, found.status, symbolic)
            text, detail = _origin(source.name, found, ctx.history)
            ctx.origin[Address.flow(name)], ctx.details[Address.flow(name)] = text, detail
        ctx.project = dataclasses.replace(ctx.project, flows={**ctx.project.flows, **flows})

    def export(self, ctx: ExportContext) -> _FlowExport:
        return _FlowExport(ctx)


def needs(source: FlowSource) -> frozenset[Address]:
    """What writing a flow waits for: the flows it runs as subflows, and the build of each
    service it runs a function of (a function is live, and its SIDs known, once deployed)."""
    return frozenset({Address.flow(name) for _, name in flow_subflow_refs(source.definition)} |
                     {Address.service(ref.service, "build") for ref in function_refs(source.definition)})


def revision_message(ctx: ApplyContext, friendly_name: str, definition: JsonObject) -> str:
    """The deploy's commit message, with the hash of `definition` unless it may hold a secret
    (see `commits`): what lets a plan without this machine's cache skip fetching it."""
    if ctx.desired.holds_secret(friendly_name, definition):
        return ctx.commit_message
    return commits.with_definition_hash(ctx.commit_message, definition_hash(definition))


def _unknown_in(value: object) -> bool:
    """Whether a compiled definition refers to something still to be created."""
    if isinstance(value, str):
        return UNKNOWN in value
    if isinstance(value, dict):
        return any(_unknown_in(v) for v in value.values())
    return isinstance(value, list) and any(_unknown_in(v) for v in value)
