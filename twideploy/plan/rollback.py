"""Undo deploys after the fact, from their journals, or put one flow back to a revision."""

from __future__ import annotations

from pathlib import Path

from twideploy.errors import TwideployError, UnfinishedDeployError
from twideploy.gateway import Gateway
from twideploy.plan import journal as journals
from twideploy.plan.executor import undo_steps
from twideploy.resources import flows


def check_no_unfinished(state_dir: Path, environment: str, account_sid: str) -> None:
    """Refuse to start while an interrupted deploy's journal is still open."""
    for record in journals.unfinished(state_dir / "journal", environment, account_sid):
        last = record.steps[-1] if record.steps else None
        made = sum(1 for s in record.steps if s.done)
        where = f"; its last write was {last.op} {last.address}{'' if last.done else ' (may or may not have happened)'}" \
            if last else ""
        raise UnfinishedDeployError(
            f"deploy {record.deploy_id} on {environment} was interrupted after {made} completed write(s){where}.\n"
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
    """Newest first: the interrupted deploy if any, else the last applied one, or all after `to`."""
    records = journals.deploys(state_dir / "journal", environment, account_sid)
    interrupted = journals.unfinished(state_dir / "journal", environment, account_sid)
    if interrupted and not to:
        return interrupted[::-1]
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
    return applied[ids.index(to) + 1:][::-1]


def undo_deploys(gw: Gateway, state_dir: Path, environment: str, records: list[journals.DeployRecord]) -> list[str]:
    if not records:
        return ["nothing to roll back"]
    journal = journals.Journal.start(state_dir / "journal", environment, kind="rollback",
                                     account_sid=gw.account_sid, reverts=[r.deploy_id for r in records])
    report: list[str] = []
    for record in records:
        report.append(f"rolling back deploy {record.deploy_id}")
        lines = undo_steps(gw, [(s.op, s.address, s.undo, s.result or {}) for s in record.steps])
        report += lines
        if not record.finished and not any(line.startswith("FAILED") for line in lines):
            journals.append_outcome(record, "rolled_back", by=journal.deploy_id)
    failed = any(line.startswith("FAILED") for line in report)
    journal.finish("rollback_failed" if failed else "applied", report=report)
    if failed:
        raise TwideployError("rollback incomplete:\n  " + "\n  ".join(report))
    return report


def flow_to_revision(gw: Gateway, live_flow: flows.LiveFlow, number: int) -> str:
    old = flows.revision(gw, live_flow.sid, number)
    definition = old.definition
    new = flows.revert_to(gw, live_flow.sid, definition, old.status,
                          f"{flows.COMMIT_PREFIX} rollback to revision {number}")
    return f"flow {live_flow.friendly_name}: revision {number}'s definition is now revision {new}"
