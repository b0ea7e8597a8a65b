"""Apply a plan in dependency waves with a journal, and undo it when anything fails.

Before the first write every provider checks its changes (Studio validates each flow; the
code to upload is the code the plan hashed), so a flow Studio rejects never leaves a
half-made deploy behind. Then each provider turns its changes into tasks, each naming the
addresses it needs written first (versions before their build, a subflow before the flows
that run it, a flow before the numbers pointing at it), and `plan.scheduler` runs them, as
many at once as the gateway's concurrency (`--parallelism`); deletions (prune) come after
every create and update, the later kinds' first. Each write is checked against the planned
change once what it refers to is known (`providers.base.verify`).

On the first failure nothing new starts; the writes in flight finish and are journalled, and
everything done is undone in waves, in reverse dependency order (`undo_waves`, read from the
order of the journal's lines, so a later `twideploy rollback` undoes a killed apply alike).

A rollback that cannot undo every write (Twilio failing for longer than the retries)
leaves the deploy `rollback_failed`: the next apply refuses to start, and the error names
the command that finishes the job, `twideploy rollback --env E`, which resumes with the
undo steps that did not succeed (each success is journalled as `undone`).
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twideploy.addresses import Address
from twideploy.errors import ApplyError, NotUndoable, TwideployError, TwilioApiError
from twideploy.plan.model import Change
from twideploy.plan.planner import Planned, mask_text
from twideploy.plan.scheduler import Task, run_tasks
from twideploy.providers.base import ApplyContext, Progress
from twideploy.providers.registry import PROVIDERS, undo_table
from twideploy.state import commits
from twideploy.state import journal as journals
from twideploy.state.cache import ContentCache
from twideploy.state.history import History
from twideploy.state.store import Lease, StateStore
from twideploy.twilio_api.gateway import Gateway

#: Tasks under way per request slot when the journal lives in the account: each write also waits
#: for two journal round trips (its intent, then its done line) in which it sends nothing, so with
#: one task per slot the slots would sit idle most of the time. The gateway's limit still caps the
#: requests in flight at `--parallelism`; `--parallelism 1` stays one write at a time.
TASKS_PER_SLOT_WITH_ACCOUNT_JOURNAL = 3


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

    def _workers(self) -> int:
        slots = self.gw.concurrency
        return slots * TASKS_PER_SLOT_WITH_ACCOUNT_JOURNAL if self.store.kind == "account" and slots > 1 else slots

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
            run_tasks(write_tasks(context, plan.changes), workers=self._workers(), report=self.progress)

        writes = self.journalled(header, context, deploy)
        return Outcome(header.deploy_id, writes, [f"{c.action.value} {c.address}" for c in plan.actionable])

    def journalled(self, header: journals.JournalHeader, context: ApplyContext, body: Callable[[ApplyContext], None],
                   *, what: str = "apply", finish_with: str = "",
                   blocks: str = "apply refuses to run until the rollback is finished") -> int:
        """Run `body`, whose every write through `context.write` is journalled under `header`;
        on any failure undo its writes in reverse dependency order and raise ApplyError (the command that
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
        """Called from the scheduler's threads: the journal orders the lines, `made` is appended to."""
        self.lease.check()  # a run that lost the lock writes nothing more (and rolls back)
        seq = self._journal.intent(op, str(address), undo)
        made = journals.Step(seq, op, str(address), {**undo, **(secret_undo or {})})
        self.made.append(made)
        self.progress(f"{op} {address}")
        result = run()
        made.result = result if isinstance(result, dict) else {}  # deletes return no record
        made.done_after = self._journal.done(seq, made.result)
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


def write_tasks(context: ApplyContext, changes: list[Change]) -> list[Task]:
    """Every provider's apply tasks for `changes`, then its prune tasks: those wait for every
    apply task and for the deletions of the kinds after it in the registry (which may refer to it)."""

    def of(family: str) -> list[Change]:
        return [c for c in changes if c.address.family == family]

    tasks = [task for provider in PROVIDERS for task in provider.apply(context, of(provider.family))]
    before_prune = frozenset(task.address for task in tasks)
    for provider in reversed(PROVIDERS):
        prunes = provider.prune(context, of(provider.family))
        tasks += [dataclasses.replace(task, needs=task.needs | before_prune) for task in prunes]
        before_prune |= {task.address for task in prunes}
    return tasks


def undo_steps(gw: Gateway, steps: list[journals.Step], on_undone: Callable[[journals.Step], None]) -> list[str]:
    """Undo writes in reverse dependency order, in waves (`undo_waves`), each wave's undos side
    by side; one failing undo does not stop the others.

    Steps an earlier rollback already undid are skipped: redoing one could undo a later
    change. Each undo that succeeds is passed to `on_undone` to be journalled at once, so a
    rollback that fails or is killed midway is resumed where it stopped. A step whose undo
    failed gets a `FAILED` line and is left to the next rollback; one that no rollback can
    undo gets a `NOT UNDONE` line and is settled (passed to `on_undone` too).
    """
    undo = undo_table()

    def undo_one(step: journals.Step) -> str | None:
        undo_fn = undo.get(step.op)
        if undo_fn is None:
            return None
        if step.undone:
            return f"{step.address}: {step.op} was undone by an earlier rollback"
        try:
            line = f"{step.address}: {undo_fn(gw, step.undo, step.result or {})}"
        except TwilioApiError as error:
            if error.status != 404:
                return f"FAILED {step.address}: could not undo {step.op}: {error}"
            line = f"{step.address}: already gone, nothing to undo for {step.op}"  # or removed by hand
        except NotUndoable as error:
            line = f"NOT UNDONE {step.address}: {error}"
        except TwideployError as error:
            return f"FAILED {step.address}: could not undo {step.op}: {error}"
        on_undone(step)
        return line

    return [line for wave in undo_waves(steps) for line in gw.map(undo_one, wave) if line is not None]


def undo_waves(steps: list[journals.Step]) -> list[list[journals.Step]]:
    """`steps` in the waves they are undone in, each newest first.

    A write may have needed another only if it started after that one was done (seq greater
    than its `done_after`): then it is undone in an earlier wave. Writes that were in flight
    together needed nothing of each other, and are undone together. A step's wave is one after
    the latest wave of the steps that started after it was done (0 when none did); a step not
    done has none. A journal of a sequential apply gives one step per wave, newest first, and
    so does a done step whose `done_after` is unknown.
    """
    ordered = sorted(steps, key=lambda step: step.seq)
    seqs = [step.seq for step in ordered]
    latest_from = [-1] * (len(ordered) + 1)  # latest_from[i]: the latest wave among ordered[i:]
    wave = [0] * len(ordered)
    for i in reversed(range(len(ordered))):
        step = ordered[i]
        if not step.done:  # failed or cut short: nothing started after it could need it
            first_later = len(ordered)
        else:  # a journal that does not tell when it was done: as if the next write began after
            first_later = bisect.bisect_right(seqs, step.seq if step.done_after is None else step.done_after)
        wave[i] = latest_from[first_later] + 1
        latest_from[i] = max(wave[i], latest_from[i + 1])
    waves: list[list[journals.Step]] = [[] for _ in range(latest_from[0] + 1)]
    for i in reversed(range(len(ordered))):
        waves[wave[i]].append(ordered[i])
    return waves


def rolled_back(report: list[str]) -> str:
    """What a rollback without failures did: everything, or everything that can be undone."""
    impossible = [line.removeprefix("NOT UNDONE ") for line in report if line.startswith("NOT UNDONE ")]
    if not impossible:
        return "every change made was rolled back"
    return f"every change made was rolled back except what cannot be undone: {'; '.join(impossible)}"


def _safe(error: BaseException) -> str:
    return str(error) or type(error).__name__
