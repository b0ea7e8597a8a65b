"""Undo deploys after the fact, from their journals, or put one flow back to a revision; end
a preview the same way (`end_preview`).

An unfinished deploy (interrupted, or failed with a rollback that failed too) comes first:
`rollback` without `--to` finishes it, resuming with the undo steps not yet done, and apply
refuses to start until it is finished or abandoned. Rollback writes only published
revisions: a draft (a preview's, or a console one) is never made live by it.
"""

from __future__ import annotations

from functools import partial

from twideploy.addresses import Address
from twideploy.errors import RollbackError, TwideployError, UnfinishedDeployError
from twideploy.plan.executor import rolled_back, undo_steps
from twideploy.providers import flows
from twideploy.providers.registry import undo_table
from twideploy.state import commits
from twideploy.state import journal as journals
from twideploy.state.history import History
from twideploy.state.store import Lease, StateStore
from twideploy.twilio_api.gateway import Gateway


def check_no_unfinished(history: History, environment: str) -> None:
    """Refuse to start while a deploy has left the account half-applied."""
    for record in history.unfinished():
        last = record.steps[-1] if record.steps else None
        made = sum(1 for s in record.steps if s.done)
        if record.status == "rollback_failed":
            left = sum(1 for s in record.steps if not s.undone)
            what = f"failed and its rollback was incomplete ({left} of {len(record.steps)} write(s) not undone)"
        else:
            where = f"; its last write was {last.op} {last.address}" \
                    f"{'' if last.done else ' (may or may not have happened)'}" if last else ""
            what = f"was interrupted after {made} completed write(s){where}"
        raise UnfinishedDeployError(
            f"deploy {record.deploy_id} on {environment} {what}.\n"
            f"  To undo it:               twideploy rollback --env {environment}\n"
            f"  To keep it and carry on:  twideploy apply --env {environment} --abandon-unfinished "
            f"(apply converges the account to the manifests)")


def abandon_unfinished(history: History) -> list[str]:
    ids = []
    for record in history.unfinished():
        journals.append_outcome(record, "abandoned")
        ids.append(record.deploy_id)
    return ids


def undo_deploys(gw: Gateway, store: StateStore, lease: Lease, environment: str,
                 records: list[journals.DeployRecord]) -> list[str]:
    """Undo `records` newest first, journalled in `store`; a run that loses its `lease` stops
    between deploys (what it undid is journalled, the rest is left to resume)."""
    if not records:
        return ["nothing to roll back"]
    journal = store.start_journal(journals.JournalHeader.for_rollback(environment, gw.account_sid,
                                                                     [r.deploy_id for r in records]))
    report: list[str] = []
    for record in records:
        lease.check()
        report.append(f"rolling back deploy {record.deploy_id}")
        lines = undo_steps(gw, record.steps, partial(journals.append_undone, record, by=journal.deploy_id))
        report += lines
        if record.unfinished and not any(line.startswith("FAILED") for line in lines):
            journals.append_outcome(record, "rolled_back", by=journal.deploy_id)
    failed = [line.removeprefix("FAILED ") for line in report if line.startswith("FAILED")]
    journal.finish("rollback_failed" if failed else "applied", report=report)
    if failed:
        raise RollbackError(f"rollback incomplete, {len(failed)} undo step(s) failed: {'; '.join(failed)}. "
                            f"The steps that succeeded are journalled; once the cause is fixed, finish with: "
                            f"twideploy rollback --env {environment}", report)
    if any(line.startswith("NOT UNDONE ") for line in report):
        raise RollbackError(f"rollback finished: {rolled_back(report)}", report)
    return report


def flow_to_revision(gw: Gateway, live_flow: flows.LiveFlow, number: int) -> str:
    old = flows.revision(gw, live_flow.sid, number)
    if old.status != "published":
        raise TwideployError(f"revision {number} of flow {live_flow.friendly_name} is a draft, never published "
                             f"({old.commit_message or 'no commit message'!r}); rollback puts back only what callers "
                             f"once ran: choose a published revision (twideploy history)")
    definition = old.definition
    new = flows.revert_to(gw, live_flow.sid, definition, old.status,
                          commits.rollback_to_revision_message(number))
    return f"flow {live_flow.friendly_name}: revision {number}'s definition is now revision {new}"


def end_preview(gw: Gateway, store: StateStore, environment: str, record: journals.DeployRecord,
                only: set[str] | None = None) -> list[str]:
    """Undo a preview's writes (those at the addresses `only`, or all), in reverse order, journalled
    as a clear (each undo also marked on the preview's journal, so a clear killed midway
    resumes); the preview is closed once every write is undone. A clear of a clear is
    idempotent: what is undone is skipped, what is gone is gone."""
    journal = store.start_journal(journals.JournalHeader.for_clear(environment, gw.account_sid, record.header))
    steps = [s for s in record.steps if only is None or s.address in only]
    report = undo_steps(gw, steps, partial(journals.append_undone, record, by=journal.deploy_id))
    failed = [line.removeprefix("FAILED ") for line in report if line.startswith("FAILED ")]
    undoable = undo_table()
    if not failed and all(s.undone for s in record.steps if s.op in undoable):
        journals.append_outcome(record, "cleared", by=journal.deploy_id)
        report.append(f"preview {record.header.label} ended")
    journal.finish("rollback_failed" if failed else "applied", report=report)
    if failed:
        raise RollbackError(f"preview {record.header.label} not fully cleared, {len(failed)} step(s) failed: "
                            f"{'; '.join(failed)}. The steps that succeeded are journalled; finish with: "
                            f"twideploy preview --env {environment} --clear", report)
    return report


def end_preview_of(gw: Gateway, store: StateStore, history: History, environment: str,
                   published: set[str]) -> list[str]:
    """After apply published the flows `published`: end their part of the open preview (their
    Test Users back; publishing already replaced the drafts), and the whole preview (its
    Serverless environment too) when no previewed flow is left in it. `history`: the journals
    as apply found them (an apply journals no preview, so the open one is the same after it)."""
    record = history.open_preview()
    if record is None:
        return []
    ours = {str(Address.flow(name)) for name in published}
    previewed = [s for s in record.steps if s.address.startswith("flow.") and not s.undone]
    if not any(s.address in ours for s in previewed):
        return []
    whole = all(s.address in ours for s in previewed)
    return end_preview(gw, store, environment, record, None if whole else ours)
