"""`twideploy preview`: a pull request on the real number, for its testers only.

Studio keeps a flow's published revision serving every caller while a newer **draft**
revision exists, and a flow's **Test Users** (phone numbers, client identities) reach the
latest draft instead. A preview writes each flow whose compiled definition differs from the
published revision as a draft (commit message `twideploy preview <id> label <label> git
<sha>`), adds the testers to its Test Users, and never publishes or touches a number.

A Function cannot be scoped to callers, so changed Functions are deployed to a Serverless
environment of their own, `preview-<label>` (domain suffix `pv-<label>`), holding only them;
the drafts are compiled against that environment's URLs and SIDs for the changed Functions
and against the environment's normal build for the rest. A flow that only runs a changed
Function is previewed too (its draft differs in the URL).

Every write goes through the executor's journalled writer (journal kind `preview`), so a
failed preview undoes itself and a killed one is ended by `preview --clear`, which undoes
the preview's writes from its journal, newest first (journal kind `clear`): Test Users as
they were, the published definition written back as a new published revision (Studio has no
"discard draft"), the preview environment deleted. One preview per environment at a time:
the environment lock, and the open preview recorded in the journals (`History.open_preview`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from twideploy import deploy
from twideploy.addresses import Address
from twideploy.errors import PreviewError
from twideploy.manifest.contacts import tester_problem
from twideploy.manifest.references import FlowRef, FunctionRef, compile_flow
from twideploy.plan import rollback as rollbacks
from twideploy.plan.executor import Executor
from twideploy.plan.model import Action, Change
from twideploy.plan.planner import Planned
from twideploy.providers import flows, serverless
from twideploy.providers.base import ApplyContext, Progress
from twideploy.state import commits
from twideploy.state import journal as journals
from twideploy.workspace import Workspace

#: A label names the Serverless environment `preview-<label>` and its domain suffix
#: `pv-<label>`, which Twilio allows 16 characters: so 13, lowercase letters, digits and '-'.
LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,11}[a-z0-9])?")
DEFAULT_LABEL = "default"


def environment_name(label: str) -> str:
    return f"preview-{label}"


def domain_suffix(label: str) -> str:
    return f"pv-{label}"


@dataclass(frozen=True)
class PreviewedFlow:
    name: str
    friendly_name: str
    published_revision: int
    draft_revision: int
    try_it: list[str]  # how a tester reaches it: "call +15005550006", "text +15005550006"


@dataclass
class ClearResult:
    """What ending a preview did (`label` None: none was open)."""

    label: str | None
    report: list[str] = field(default_factory=list)


@dataclass
class PreviewResult:
    """A preview made (`preview_id` None: nothing to preview, or the user declined)."""

    environment: str
    label: str
    testers: list[str]
    preview_id: str | None = None
    flows: list[PreviewedFlow] = field(default_factory=list)
    changed_functions: list[str] = field(default_factory=list)  # service/path, deployed to the preview environment
    functions: dict[str, str] = field(default_factory=dict)  # service/path -> URL in the preview environment
    left_out: list[str] = field(default_factory=list)
    replaced: ClearResult | None = None  # the same label's earlier preview, ended first
    writes: int = 0
    cancelled: bool = False


def check_label(label: str) -> str:
    if not LABEL.fullmatch(label):
        raise PreviewError(f"--label {label[:40]!r}: use 1 to 13 lowercase letters, digits and '-' (it names the "
                           f"Serverless environment {environment_name('LABEL')!r}, domain suffix "
                           f"{domain_suffix('LABEL')!r}, at most 16 characters)")
    return label


def check_testers(testers: list[str], environment: str) -> list[str]:
    if not testers:
        raise PreviewError(f"no testers: pass --testers ADDRESS (a phone number or client:identity), or set "
                           f"preview.testers in environments/{environment}.yaml")
    for tester in testers:
        problem = tester_problem(tester)
        if problem:
            raise PreviewError(f"--testers: {problem}")
    return list(dict.fromkeys(testers))


def preview(ws: Workspace, *, label: str, testers: list[str], git_sha: str | None, lock_timeout: float = 0,
            confirm: Callable[[PreviewResult], bool] = lambda result: True,
            progress: Progress = lambda message: None,
            notify: Callable[[str], None] = lambda message: None) -> PreviewResult:
    """Preview the manifests on `ws`'s environment for `testers` (see the module docstring)."""
    env = ws.env.name
    result = PreviewResult(env, check_label(label), check_testers(testers or ws.env.default_testers(), env))
    with ws.store.lock(f"preview {label}", wait_seconds=lock_timeout, notify=notify) as lease:
        history = ws.store.history()
        rollbacks.check_no_unfinished(history, env)
        open_ = history.open_preview()
        if open_ is not None and open_.header.label != label:
            raise PreviewError(f"preview {open_.header.label} is open on {env} (since {open_.header.started_at}, "
                               f"for {', '.join(open_.header.testers) or 'no testers'}); one preview per "
                               f"environment at a time: end it first with "
                               f"twideploy preview --env {env} --clear --label {open_.header.label}")
        planned = deploy.plan(ws, git_sha=git_sha)
        functions, flow_changes = _what_to_preview(planned, result)
        if not flow_changes:
            return result
        _refuse_foreign_drafts(planned, flow_changes)
        result.flows = _previewed(planned, flow_changes)
        result.changed_functions = [f"{name}{path}" for name, paths in sorted(functions.items())
                                    for path in sorted(paths)]
        if not confirm(result):
            result.cancelled = True
            return result
        if open_ is not None:
            result.replaced = _clear(ws, open_)
            planned = deploy.plan(ws, git_sha=git_sha)  # the clear republished: read the account again
            result.flows = _previewed(planned, flow_changes)  # callers now run the revisions it wrote
            history = ws.store.history()
        executor = Executor(ws.gateway, planned, store=ws.store, history=history, lease=lease,
                            cache=ws.content_cache(), git_sha=git_sha, progress=progress)
        context = executor.context()
        for change in flow_changes:  # Studio's verdict before the first write
            source = ws.project.flows[change.address.owner]
            flows.studio_validate(ws.gateway, source.name, source.friendly_name, "draft", planned.compiled[source.name])
        header = journals.JournalHeader.for_preview(env, ws.gateway.account_sid, label=label, testers=result.testers,
                                                    git_sha=git_sha,
                                                    changes=[str(c.address) for c in flow_changes]
                                                    + [str(Address.service(s, "function", p))
                                                       for s, paths in functions.items() for p in paths])
        result.preview_id = header.deploy_id
        run = partial(_write_preview, planned=planned, header=header, functions=functions, flow_changes=flow_changes,
                      result=result)
        result.writes = executor.journalled(header, context, run, what="preview",
                                            finish_with=f"twideploy preview --env {env} --clear",
                                            blocks="the preview stays open until it is cleared")
    return result


def _what_to_preview(planned: Planned, result: PreviewResult) -> tuple[dict[str, set[str]], list[Change]]:
    """The changed Functions (service -> paths) and the flows to draft: those that differ from
    the published revision, and those that run a changed Function. What a preview cannot
    carry (a new flow or service, a number binding, a variable) is noted in `result.left_out`."""
    functions: dict[str, set[str]] = {}
    changed_flows: set[str] = set()
    for change in planned.plan.actionable:
        address = change.address
        if change.kind == "function" and change.action in (Action.CREATE, Action.UPDATE):
            functions.setdefault(address.owner, set()).add(address.name or "")
        elif change.kind == "flow" and change.action is Action.UPDATE:
            changed_flows.add(address.owner)
        elif change.kind in ("flow", "number", "variable", "asset", "service", "environment"):
            result.left_out.append(f"{change.action.value} {address} (only apply makes it)")
    runs_changed = {source.name for source in planned.desired.flows
                    if any(ref.service in functions and ref.path in functions[ref.service]
                           for ref in flows.function_refs(source.definition))}
    by_address = {c.address: c for c in planned.plan.changes}
    flow_changes = [by_address[Address.flow(source.name)] for source in planned.desired.flows
                    if source.name in changed_flows | runs_changed
                    and by_address[Address.flow(source.name)].action is not Action.CREATE]
    return functions, flow_changes


def _previewed(planned: Planned, flow_changes: list[Change]) -> list[PreviewedFlow]:
    """The flows to draft as the account has them now (the draft revision is not known yet)."""
    return [PreviewedFlow(c.address.owner, planned.live.flows[_friendly(planned, c)].friendly_name,
                          planned.live.flows[_friendly(planned, c)].revision, 0, _ways_in(planned, c.address.owner))
            for c in flow_changes]


def _friendly(planned: Planned, change: Change) -> str:
    return planned.desired.project.flows[change.address.owner].friendly_name


def _ways_in(planned: Planned, flow_name: str) -> list[str]:
    """How a tester reaches a flow: a call to a number whose voice URL runs it, a text to one
    whose SMS URL does (a subflow has none of its own)."""
    verbs = {"voice": "call", "sms": "text"}
    return [f"{verbs[field]} {number}" for number, binding in sorted(planned.desired.env.numbers.items())
            for field, target in binding.targets().items() if field in verbs and target == FlowRef(flow_name)]


def _refuse_foreign_drafts(planned: Planned, flow_changes: list[Change]) -> None:
    """A draft twideploy did not make is someone's work in progress: never overwritten."""
    for change in flow_changes:
        draft = planned.live.flows[_friendly(planned, change)].draft
        if draft is not None and not draft.ours:
            raise PreviewError(f"flow {change.address.owner} has a {draft.describe()}; a preview would replace it "
                               f"as the latest revision. Publish or discard it in the Studio console first")


def _write_preview(context: ApplyContext, *, planned: Planned, header: journals.JournalHeader,
                   functions: dict[str, set[str]], flow_changes: list[Change], result: PreviewResult) -> None:
    """The preview's writes: the preview environment of each service with changed Functions,
    then each flow's draft compiled against it, then each flow's Test Users."""
    book = planned.book.copy()
    for name, paths in sorted(functions.items()):
        service = serverless.deploy_preview(context, name, paths, environment_name(result.label),
                                            domain_suffix(result.label), book)
        result.functions.update({f"{name}{path}": book.function(FunctionRef(name, path)).url for path in sorted(paths)
                                 if service.environment is not None})
    message = commits.preview_message(header.deploy_id, result.label, header.git_sha)
    drafted = []
    for change, shown in zip(flow_changes, result.flows, strict=True):
        source = planned.desired.project.flows[change.address.owner]
        live = planned.live.flows[source.friendly_name]
        definition = compile_flow(source.definition, vars=planned.desired.env.vars, book=book)
        revision = flows.write_draft(context.gw, change, live, definition, message, header.deploy_id, context.write)
        drafted.append(PreviewedFlow(shown.name, shown.friendly_name, shown.published_revision, revision,
                                     shown.try_it))
        flows.set_test_users(context.gw, change, live, result.testers, context.write)
    result.flows = drafted


# --------------------------------------------------------------------------- clear

def clear(ws: Workspace, *, label: str | None = None, lock_timeout: float = 0,
          notify: Callable[[str], None] = lambda message: None) -> ClearResult:
    """End the environment's open preview (idempotent: none open, nothing to do)."""
    env = ws.env.name
    with ws.store.lock("preview --clear", wait_seconds=lock_timeout, notify=notify):
        record = ws.store.history().open_preview()
        if record is None:
            return ClearResult(None, [f"no preview is open on {env}: nothing to clear"])
        if label is not None and record.header.label != label:
            raise PreviewError(f"the preview open on {env} is {record.header.label}, not {label} "
                               f"(clear it with --label {record.header.label})")
        return _clear(ws, record)


def _clear(ws: Workspace, record: journals.DeployRecord) -> ClearResult:
    return ClearResult(record.header.label, rollbacks.end_preview(ws.gateway, ws.store, ws.env.name, record))
