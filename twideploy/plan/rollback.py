"""Undo deploys after the fact, from their journals, or put one flow back to a revision.

An unfinished deploy (interrupted, or failed with a rollback that failed too) comes first:
`rollback` without `--to` finishes it, resuming with the undo steps not yet done, and apply
refuses to start until it is finished or abandoned.
"""

from __future__ import annotations

from pathlib import Path

from twideploy.errors import RollbackError, TwideployError, UnfinishedDeployError
from twideploy.gateway import Gateway
from twideploy.plan import journal as journals
from twideploy.plan.executor import rolled_back, undo_steps
from twideploy.resources import flows


def check_no_unfinished(state_dir: Path, environment: str, account_sid: str) -> None:
    """Refuse to start while a deploy has left the account half-applied."""
    for record in journals.unfinished(state_dir / "journal", environment, account_sid):
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


def abandon_unfinished(state_dir: Path, environment: str, account_sid: str) -> list[str]:
    ids = []
    for record in journals.unfinished(state_dir / "journal", environment, account_sid):
        journals.append_outcome(record, "abandoned")
        ids.append(record.deploy_id)
    return ids


def reverted_ids(records: list[journals.DeployRecord]) -> set[str]:
    """Deploys undone by a rollback that finished; one that failed midway leaves them to retry."""
    return {deploy_id for r in records if r.header.get("kind") == "rollback" and r.status == "applied"
            for deploy_id in r.header.get("reverts", [])}


def deploys_to_undo(state_dir: Path, environment: str, account_sid: str,
                    to: str | None) -> list[journals.DeployRecord]:
    """Newest first: the unfinished deploys if any, else the last applied one; or every
    applied or unfinished deploy after `to`."""
    records = journals.deploys(state_dir / "journal", environment, account_sid)
    unfinished = [r for r in records if r.unfinished]
    if unfinished and not to:
        return unfinished[::-1]
    reverted = reverted_ids(records)
    applied = [r for r in records if r.header.get("kind") == "deploy" and r.status == "applied"
               and r.deploy_id not in reverted]
    if not to:
        if not applied:
            raise TwideployError(f"no deploy of {environment} to roll back (journals under {state_dir / 'journal'})")
        return [applied[-1]]
    ids = [r.deploy_id for r in applied]
    if to not in ids:
        raise TwideployError(f"deploy {to} is not an applied, un-reverted deploy of {environment}; "
                             f"see `twideploy history --env {environment}`")
    return sorted(applied[ids.index(to) + 1:] + [r for r in unfinished if r.deploy_id > to],
                  key=lambda r: r.deploy_id, reverse=True)


def undo_deploys(gw: Gateway, state_dir: Path, environment: str, records: list[journals.DeployRecord]) -> list[str]:
    if not records:
        return ["nothing to roll back"]
    journal = journals.Journal.start(state_dir / "journal", environment, kind="rollback",
                                     account_sid=gw.account_sid, reverts=[r.deploy_id for r in records])
    report: list[str] = []
    for record in records:
        report.append(f"rolling back deploy {record.deploy_id}")
        lines = undo_steps(gw, record.steps,
                           lambda step, r=record: journals.append_undone(r, step, by=journal.deploy_id))
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
                          f"{flows.COMMIT_PREFIX} rollback to revision {number}")
    return f"flow {live_flow.friendly_name}: revision {number}'s definition is now revision {new}"
