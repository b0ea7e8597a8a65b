"""Apply a plan in dependency order with a journal, and undo it when anything fails.

Order: the providers of `providers.registry` (services and environments -> function/asset
versions -> build -> deploy -> variables; flows, subflows first; number bindings), then
their deletions (prune) in reverse. Before the first write every provider checks its changes
(Studio validates each flow; the code to upload is the code the plan hashed), so a flow
Studio rejects never leaves a half-made deploy behind. Each write is checked against the
planned change once what it refers to is known (`providers.base.verify`).

A rollback that cannot undo every write (Twilio failing for longer than the retries)
leaves the deploy `rollback_failed`: the next apply refuses to start, and the error names
the command that finishes the job, `twideploy rollback --env E`, which resumes with the
undo steps that did not succeed (each success is journalled as `undone`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twideploy.addresses import Address
from twideploy.errors import ApplyError, NotUndoable, TwideployError, TwilioApiError
from twideploy.plan.model import Change
from twideploy.plan.planner import Planned, mask_text
from twideploy.providers.base import ApplyContext, Progress
from twideploy.providers.registry import PROVIDERS, undo_table
from twideploy.state import commits
from twideploy.state import journal as journals
from twideploy.state.cache import ContentCache
from twideploy.state.history import History
from twideploy.state.store import Lease, StateStore
from twideploy.twilio_api.gateway import Gateway


@dataclass
class Outcome:
    deploy_id: str | None
    writes: int
    report: list[str] = field(default_factory=list)


class Executor:
    """`store` keeps the journal, `history` is what it held when the lock was taken, `lease` that lock:
    a run that loses it makes no further write and rolls back."""

    def __init__(self, gw: Gateway, planned: Planned, *, store: StateStore, history: History, lease: Lease,
                 cache: ContentCache, git_sha: str | None, progress: Progress = lambda message: None):
        self.gw, self.planned = gw, planned
        self.store, self.history, self.lease = store, history, lease
        self.cache, self.git_sha, self.progress = cache, git_sha, progress
        self.made: list[journals.Step] = []  # this run's writes; their undo data has secrets (memory only)
        self.journal: journals.Journal | None = None

    def run(self) -> Outcome:
        plan = self.planned.plan
        if not plan.has_changes:
            return Outcome(None, 0, ["No changes."])
        context = self.context()
        for provider in PROVIDERS:
            provider.check(context, self._changes(provider.family))
        header = journals.JournalHeader.for_deploy(plan.environment, plan.account_sid, git_sha=self.git_sha,
                                                   summary=plan.summary(),
                                                   changes=[str(c.address) for c in plan.actionable])

        def deploy(context: ApplyContext) -> None:
            context.commit_message = commits.deploy_message(header.deploy_id, self.git_sha)
            for provider in PROVIDERS:
                provider.apply(context, self._changes(provider.family))
            for provider in reversed(PROVIDERS):
                provider.prune(context, self._changes(provider.family))

        writes = self.journalled(header, context, deploy)
        return Outcome(header.deploy_id, writes, [f"{c.action.value} {c.address}" for c in plan.actionable])

    def journalled(self, header: journals.JournalHeader, context: ApplyContext, body: Callable[[ApplyContext], None],
                   *, what: str = "apply", finish_with: str = "",
                   blocks: str = "apply refuses to run until the rollback is finished") -> int:
        """Run `body`, whose every write through `context.write` is journalled under `header`;
        on any failure undo its writes newest first and raise ApplyError (the command that
        finishes an incomplete undo is `finish_with`). Returns the number of writes made."""
        self.journal = self.store.start_journal(header)
        finish_with = finish_with or f"twideploy rollback --env {header.environment}"
        writes_before = self.gw.writes_made
        try:
            body(context)
        except BaseException as error:
            # Twilio's error text may quote a value we sent; never let a secret through.
            secrets = self.planned.desired.secret_values()
            report = [mask_text(line, secrets) for line in self._roll_back()]
            failures = [line.removeprefix("FAILED ") for line in report if line.startswith("FAILED ")]
            reason = mask_text(_safe(error), secrets)
            self.journal.finish("rollback_failed" if failures else "rolled_back", error=reason, report=report)
            self._keep_content_hashes()
            if isinstance(error, KeyboardInterrupt):
                raise
            if not failures:
                raise ApplyError(f"{what} failed: {reason}; {rolled_back(report)}", report) from error
            raise ApplyError(f"{what} failed: {reason}; the rollback was incomplete ({len(failures)} undo step(s) "
                             f"failed: {'; '.join(failures)}), so the account is half-applied and {blocks}. "
                             f"Finish it with: {finish_with}", report) from error
        self.journal.finish("applied", writes=self.gw.writes_made - writes_before)
        self._keep_content_hashes()
        return self.gw.writes_made - writes_before

    def _keep_content_hashes(self) -> None:
        """Share what this run hashed; a store out of reach now costs the next plan fetches, nothing more."""
        try:
            self.store.share_content(self.cache)
        except TwideployError as error:
            self.progress(f"content hashes not shared: {error}")

    @property
    def _journal(self) -> journals.Journal:
        """This deploy's journal: `run` starts it before the first write."""
        if self.journal is None:
            raise RuntimeError("a write before the deploy journal was started")
        return self.journal

    # -- the writer every provider calls -------------------------------------------------

    def write(self, op: str, address: Address, undo: dict[str, Any], run: Callable[[], Any],
              *, secret_undo: dict[str, Any] | None = None) -> dict[str, Any]:
        self.lease.check()  # a run that lost the lock writes nothing more (and rolls back)
        seq = self._journal.intent(op, str(address), undo)
        made = journals.Step(seq, op, str(address), {**undo, **(secret_undo or {})})
        self.made.append(made)
        self.progress(f"{op} {address}")
        result = run()
        made.result = result if isinstance(result, dict) else {}  # deletes return no record
        self._journal.done(seq, made.result)
        return made.result

    # -- what every provider is given ------------------------------------------------------

    def context(self) -> ApplyContext:
        """The plan's address book serves the whole apply: providers add what they create to it."""
        planned, plan = self.planned, self.planned.plan
        return ApplyContext(self.gw, planned.desired, planned.live, planned.book,
                            planned.compiled, plan.include_layout, self.write, self.cache, self.progress,
                            self.history.records)

    def _changes(self, family: str) -> list[Change]:
        """The plan's changes of one provider's resources."""
        return [c for c in self.planned.plan.changes if c.address.family == family]

    def _roll_back(self) -> list[str]:
        self.progress("rolling back")
        journal = self._journal
        return undo_steps(self.gw, self.made, lambda step: journal.undone(step.seq))


def undo_steps(gw: Gateway, steps: list[journals.Step], on_undone: Callable[[journals.Step], None]) -> list[str]:
    """Undo writes newest first; one failing undo does not stop the others.

    Steps an earlier rollback already undid are skipped: redoing one could undo a later
    change. Each undo that succeeds is passed to `on_undone` to be journalled at once, so a
    rollback that fails or is killed midway is resumed where it stopped. A step whose undo
    failed gets a `FAILED` line and is left to the next rollback; one that no rollback can
    undo gets a `NOT UNDONE` line and is settled (passed to `on_undone` too).
    """
    report, undo = [], undo_table()
    for step in reversed(steps):
        undo_fn = undo.get(step.op)
        if undo_fn is None:
            continue
        if step.undone:
            report.append(f"{step.address}: {step.op} was undone by an earlier rollback")
            continue
        try:
            line = f"{step.address}: {undo_fn(gw, step.undo, step.result or {})}"
        except TwilioApiError as error:
            if error.status != 404:
                report.append(f"FAILED {step.address}: could not undo {step.op}: {error}")
                continue
            line = f"{step.address}: already gone, nothing to undo for {step.op}"  # or removed by hand
        except NotUndoable as error:
            line = f"NOT UNDONE {step.address}: {error}"
        except TwideployError as error:
            report.append(f"FAILED {step.address}: could not undo {step.op}: {error}")
            continue
        on_undone(step)
        report.append(line)
    return report


def rolled_back(report: list[str]) -> str:
    """What a rollback without failures did: everything, or everything that can be undone."""
    impossible = [line.removeprefix("NOT UNDONE ") for line in report if line.startswith("NOT UNDONE ")]
    if not impossible:
        return "every change made was rolled back"
    return f"every change made was rolled back except what cannot be undone: {'; '.join(impossible)}"


def _safe(error: BaseException) -> str:
    return str(error) or type(error).__name__
