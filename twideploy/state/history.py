"""The questions asked of an environment's deploy journals, answered in one place.

Rollback asks which deploys to undo (the unfinished ones, the last applied one, or every one
after a given deploy); drift asks who last wrote a resource, which build twideploy left
deployed and which deployments it made; promote asks which deploy made a live build; history
lists them all. Every answer is a pure function of the records (a state store's `history()`),
oldest first, so each is unit-tested on records built in memory.

A rollback journal holds no steps of its own: it names the deploys it `reverts`, and once it
is `applied` those deploys no longer count as active (a rollback that failed midway leaves
them to retry).

Previews (and the clears that end them) are journalled in the same folder but are not
deploys: they wrote drafts, Test Users and a preview Serverless environment, nothing callers
run, so every question about what is deployed looks at deploys and rollbacks only
(`deploys`); `open_preview` and `previews` answer for them.
"""

from __future__ import annotations

from dataclasses import dataclass

from twideploy.addresses import Address
from twideploy.errors import TwideployError
from twideploy.state.journal import DEPLOY, PREVIEW, ROLLBACK, DeployRecord, Step

#: How a preview that still has writes in the account may have ended: open (applied), killed
#: (interrupted) or failed with an incomplete undo; `preview --clear` ends each of them.
OPEN_PREVIEW = ("applied", "interrupted", "rollback_failed")

#: The journalled write that deploys a build (serverless), replayed by `expected_build`.
DEPLOYMENT_CREATE = "deployment.create"


@dataclass(frozen=True)
class History:
    """An environment's journals of one account, oldest first."""

    records: list[DeployRecord]

    @property
    def deploys(self) -> list[DeployRecord]:
        """The deploys and rollbacks (not previews or their clears), oldest first."""
        return [r for r in self.records if r.kind in (DEPLOY, ROLLBACK)]

    def previews(self) -> list[DeployRecord]:
        return [r for r in self.records if r.kind == PREVIEW]

    def open_preview(self) -> DeployRecord | None:
        """The newest preview not yet cleared (one per environment at a time)."""
        open_ = [r for r in self.previews() if r.status in OPEN_PREVIEW]
        return open_[-1] if open_ else None

    def reverted_ids(self) -> set[str]:
        """Deploys undone by a rollback that finished; one that failed midway leaves them to retry."""
        return {deploy_id for r in self.records if r.kind == ROLLBACK and r.status == "applied"
                for deploy_id in r.header.reverts}

    def active(self) -> list[DeployRecord]:
        """Applied deploys (and rollbacks) that were not reverted since, oldest first."""
        reverted = self.reverted_ids()
        return [r for r in self.deploys if r.status == "applied" and r.deploy_id not in reverted]

    def unfinished(self) -> list[DeployRecord]:
        """Deploys that left the account half-applied: interrupted, or failed with a rollback that
        failed too. An interrupted *rollback* needs no attention of its own: it did not finish, so
        the deploys it was undoing still count as not reverted and can be rolled back again."""
        return [r for r in self.records if r.unfinished]

    def to_undo(self, to: str | None, *, environment: str, where: str) -> list[DeployRecord]:
        """What `twideploy rollback [--to DEPLOY_ID]` undoes, newest first: the unfinished deploys
        if any, else the last applied one; or every applied or unfinished deploy after `to`.
        `where` (where the records were read) is named when there is nothing to undo."""
        unfinished = self.unfinished()
        if unfinished and not to:
            return unfinished[::-1]
        reverted = self.reverted_ids()
        applied = [r for r in self.deploys if r.kind == DEPLOY and r.status == "applied"
                   and r.deploy_id not in reverted]
        if not to:
            if not applied:
                raise TwideployError(f"no deploy of {environment} to roll back ({where})")
            return [applied[-1]]
        ids = [r.deploy_id for r in applied]
        if to not in ids:
            raise TwideployError(f"deploy {to} is not an applied, un-reverted deploy of {environment}; "
                                 f"see `twideploy history --env {environment}`")
        return sorted(applied[ids.index(to) + 1:] + [r for r in unfinished if r.deploy_id > to],
                      key=lambda r: r.deploy_id, reverse=True)

    def find(self, deploy_id: str) -> DeployRecord | None:
        return self._by_id().get(deploy_id)

    def last_deploy(self) -> DeployRecord | None:
        """The newest active deploy (not a rollback)."""
        deploys = [r for r in self.active() if r.kind == DEPLOY]
        return deploys[-1] if deploys else None

    def last_write(self, address: Address | str) -> tuple[DeployRecord, Step] | None:
        """The newest completed write of `address` among the active deploys."""
        for record in reversed(self.active()):
            for step in reversed(record.steps):
                if step.address == address and step.done:
                    return record, step
        return None

    def last_change(self, address: Address | str) -> DeployRecord | None:
        """The last deploy, or rollback of a deploy, that wrote `address` (rollbacks journal no steps)."""
        by_id = self._by_id()
        for record in reversed(self.active()):
            changed = [by_id[i] for i in record.header.reverts if i in by_id] if record.kind == ROLLBACK else [record]
            if any(step.address == address and step.done for r in changed for step in r.steps):
                return record
        return None

    def our_deployments(self, service: str) -> dict[str, DeployRecord]:
        """Deployment SID -> the deploy that made it (every journal, reverted or not)."""
        return {str(step.result.get("sid")): record for record in self.deploys
                for step in self._deployment_steps(record, service) if step.result is not None}

    def expected_build(self, service: str, build_of: dict[str, str]) -> tuple[str | None, DeployRecord | None]:
        """The build twideploy left deployed, and the deploy or rollback that left it, replaying
        deploys and rollbacks in order. `build_of`: deployment SID -> its build SID (live)."""
        by_id = self._by_id()
        expected: tuple[str | None, DeployRecord | None] = (None, None)
        for record in self.deploys:
            if record.status != "applied":
                continue
            if record.kind == ROLLBACK:
                for reverted in record.header.reverts:
                    if reverted in by_id:
                        for step in self._deployment_steps(by_id[reverted], service, done_only=False):
                            previous = step.undo.get("previous_build_sid")
                            expected = (str(previous) if previous else None, record)
            else:
                for step in self._deployment_steps(record, service):
                    expected = (build_of.get(str((step.result or {}).get("sid"))), record)
        return expected

    def _by_id(self) -> dict[str, DeployRecord]:
        return {r.deploy_id: r for r in self.records}

    @staticmethod
    def _deployment_steps(record: DeployRecord, service: str, *, done_only: bool = True) -> list[Step]:
        """The record's writes that deployed a build of `service` (completed ones, unless not `done_only`)."""
        return [s for s in record.steps if s.op == DEPLOYMENT_CREATE and s.address == Address.service(service, "build")
                and (s.done or not done_only)]
