"""Undo deploys after the fact, from their journals, or put one flow back to a revision.

An unfinished deploy (interrupted, or failed with a rollback that failed too) comes first:
`rollback` without `--to` finishes it, resuming with the undo steps not yet done, and apply
refuses to start until it is finished or abandoned.
"""

from __future__ import annotations

from functools import partial

from twideploy.errors import RollbackError, UnfinishedDeployError
from twideploy.plan.executor import rolled_back, undo_steps
from twideploy.providers import flows
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
    definition = old.definition
    new = flows.revert_to(gw, live_flow.sid, definition, old.status,
                          commits.rollback_to_revision_message(number))
    return f"flow {live_flow.friendly_name}: revision {number}'s definition is now revision {new}"
