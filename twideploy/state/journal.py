"""The deploy journal: one JSON-lines text per deploy, kept where the environment's state store
keeps it (`JournalLines`): a file `.twideploy/journal/<env>/<deploy-id>.jsonl` (state: local),
or Sync map items holding the same text in blocks (state: account, see state.account_store).

Line 1 is the header (deploy id, environment, account, git SHA, start time, summary).
Each write adds an `intent` line *before* it is made, holding what is needed to undo
it, and a `done` line after, holding its result (e.g. the SID it created). Each undo of
a write that succeeded (or that no rollback can do) adds an `undone` line (from apply's
own rollback or a later `twideploy rollback`), so a rollback that failed midway is resumed
with the undo steps left, not redone from the start. The outcome line (`applied`, `rolled_back`,
`rollback_failed`, `abandoned`) may be followed by `undone` lines and a later outcome;
the last outcome counts. A journal without an outcome is an interrupted deploy. Every line is
stored before the call returns (a file flushed and fsynced, a Sync item written), so a killed
process leaves a journal that tells the truth up to the write it was making. Writes made side
by side queue their lines, which are stored in that order, the lines that queued while one
append was in flight all in the next (`GroupCommit`), so the lines are in the order things
happened and a parallel apply waits for one store per wave, not one per line: a write whose
intent line follows another's `done` line may have needed it, one whose intent came earlier
did not, and that is the order undo goes by (`Step.done_after`, `plan.executor.undo_waves`).

Secret values are never written: an undo that needs one (a secret variable's previous
value) is kept in memory for this run's automatic rollback only.

The questions asked of an environment's journals (what is active, reverted, unfinished,
who wrote what) are in state.history.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TypeAlias

from twideploy.state.paths import JOURNAL_SUFFIX

JsonValue: TypeAlias = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]
JsonObject = dict[str, JsonValue]
"""Undo data and write results: JSON, read and written by the providers that made them."""
JsonOut: TypeAlias = None | bool | int | float | str | Sequence["JsonOut"] | Mapping[str, "JsonOut"]
"""What is only written as JSON: read-only containers, so a list[str] is one (list[JsonValue] is invariant)."""

JOURNAL_FORMAT_VERSION = 1
DEPLOY, ROLLBACK = "deploy", "rollback"
#: A preview writes drafts, Test Users and a preview Serverless environment (never what callers
#: run); its clear undoes those writes (see twideploy.preview). Neither counts as a deploy.
PREVIEW, CLEAR = "preview", "clear"
OUTCOMES = ("applied", "rolled_back", "rollback_failed", "abandoned", "no_changes", "cleared")
#: A deploy in one of these states left the account half-applied: it must be rolled back
#: (or abandoned) before another apply.
UNFINISHED = ("interrupted", "rollback_failed")


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_deploy_id() -> str:
    """Sortable by time (to the millisecond) and unique: `20261127-173821123-1d81`."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S%f")[:-3]
    return f"{stamp}-{os.urandom(2).hex()}"


@dataclass(frozen=True)
class JournalHeader:
    """Line 1 of a journal. A deploy names the changes it makes; a rollback the deploys it reverts."""

    deploy_id: str
    environment: str
    started_at: str
    kind: str
    account_sid: str | None
    git_sha: str | None = None
    summary: dict[str, int] = field(default_factory=dict)
    changes: tuple[str, ...] = ()
    reverts: tuple[str, ...] = ()
    label: str | None = None  # a preview's (and its clear's)
    testers: tuple[str, ...] = ()  # a preview's

    @classmethod
    def for_deploy(cls, environment: str, account_sid: str, *, git_sha: str | None, summary: dict[str, int],
                   changes: list[str]) -> JournalHeader:
        return cls(new_deploy_id(), environment, now(), DEPLOY, account_sid, git_sha, summary, tuple(changes))

    @classmethod
    def for_rollback(cls, environment: str, account_sid: str, reverts: list[str]) -> JournalHeader:
        return cls(new_deploy_id(), environment, now(), ROLLBACK, account_sid, reverts=tuple(reverts))

    @classmethod
    def for_preview(cls, environment: str, account_sid: str, *, label: str, testers: list[str],
                    git_sha: str | None, changes: list[str]) -> JournalHeader:
        return cls(new_deploy_id(), environment, now(), PREVIEW, account_sid, git_sha, changes=tuple(changes),
                   label=label, testers=tuple(testers))

    @classmethod
    def for_clear(cls, environment: str, account_sid: str, preview: JournalHeader) -> JournalHeader:
        return cls(new_deploy_id(), environment, now(), CLEAR, account_sid, reverts=(preview.deploy_id,),
                   label=preview.label)

    def to_dict(self) -> JsonObject:
        """The header line's fields (each kind writes only its own)."""
        data: JsonObject = {"deploy_id": self.deploy_id, "environment": self.environment,
                            "started_at": self.started_at, "kind": self.kind, "account_sid": self.account_sid}
        if self.kind == ROLLBACK:
            return {**data, "reverts": list(self.reverts)}
        if self.kind == CLEAR:
            return {**data, "reverts": list(self.reverts), "label": self.label}
        if self.kind == PREVIEW:
            return {**data, "git_sha": self.git_sha, "changes": list(self.changes), "label": self.label,
                    "testers": list(self.testers)}
        return {**data, "git_sha": self.git_sha, "summary": dict(self.summary), "changes": list(self.changes)}

    @classmethod
    def from_dict(cls, data: JsonObject) -> JournalHeader:
        summary = data.get("summary")
        counts = {str(k): int(v) for k, v in summary.items() if isinstance(v, int)} if isinstance(summary, dict) else {}
        return cls(str(data["deploy_id"]), str(data.get("environment") or ""), str(data.get("started_at") or ""),
                   str(data.get("kind") or DEPLOY), _text(data.get("account_sid")), _text(data.get("git_sha")),
                   counts, tuple(str(c) for c in _list(data.get("changes"))),
                   tuple(str(r) for r in _list(data.get("reverts"))), _text(data.get("label")),
                   tuple(str(t) for t in _list(data.get("testers"))))


@dataclass(frozen=True)
class JournalOutcome:
    """The last outcome line: how the deploy ended, and when."""

    status: str
    at: str | None


@dataclass
class Step:
    """One journalled write. `done_after` is the last seq journalled before its `done` line (None
    while not done): every write with a greater seq started after this one had finished, so
    it may have needed it; one with a smaller seq did not (it started while this one was in
    flight, or before), so undoing the two side by side is safe (plan.executor.undo_steps)."""

    seq: int
    op: str
    address: str
    undo: JsonObject
    result: JsonObject | None = None
    undone: bool = False
    done_after: int | None = None

    @property
    def done(self) -> bool:
        return self.result is not None


class JournalLines(Protocol):
    """Where one journal's text is kept."""

    def append_text(self, text: str) -> None:
        """Store `text` (whole lines) after what is there, on a line of its own even after a line
        a killed process cut short; stored when it returns."""
        ...


class JournalFile:
    """A journal's lines in a file of its own (state: local)."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def append_text(self, text: str) -> None:
        """Append `text` with one write, flushed and fsynced."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("ab+") as f:
            size = f.seek(0, os.SEEK_END)
            cut_short = False
            if size:
                f.seek(size - 1)
                cut_short = f.read(1) != b"\n"
            f.write((("\n" if cut_short else "") + text).encode())
            f.flush()
            os.fsync(f.fileno())


class GroupCommit:
    """Appends to one journal's lines from many threads, each stored when its `wait` returns,
    all in the order they were queued: group commit, as write-ahead logs do it.

    One append is in flight at a time. The lines queued meanwhile wait, and the first of their
    callers to find no append in flight stores all of them in one (one fsync, one Sync request):
    under a parallel apply a line waits for at most the append in flight and its own, not for a
    queue of them. An append that fails fails every caller whose line it held (none of them is
    known to be stored); the lines queued after it are appended by the next one.
    """

    def __init__(self, lines: JournalLines):
        self.lines = lines
        self._changed = threading.Condition()
        self._queued: list[str] = []  # not yet being stored
        self._tickets = 0  # lines queued so far: a line's ticket is its number
        self._settled = 0  # lines whose append has ended (stored, or failed)
        self._appending = False
        self._failures: dict[int, BaseException] = {}  # tickets whose append failed

    def queue(self, entry: Mapping[str, JsonOut]) -> int:
        """Queue a line after every line queued before; its ticket, for `wait`."""
        with self._changed:
            self._queued.append(line(entry))
            self._tickets += 1
            return self._tickets

    def wait(self, ticket: int) -> None:
        """Return once the line of `ticket` is stored; raise what its append raised if it failed."""
        with self._changed:
            while self._settled < ticket:
                if self._appending:
                    self._changed.wait()
                else:
                    self._append_queued()
            failure = self._failures.pop(ticket, None)
        if failure is not None:
            raise failure

    def append(self, entry: Mapping[str, JsonOut]) -> None:
        self.wait(self.queue(entry))

    def _append_queued(self) -> None:
        """Store every queued line in one append, the condition's lock released meanwhile."""
        batch, self._queued = self._queued, []
        self._appending = True
        failure: BaseException | None = None
        self._changed.release()
        try:
            self.lines.append_text("".join(batch))
        except BaseException as error:  # noqa: BLE001 - every caller of the batch gets it, this one too
            failure = error
        finally:
            self._changed.acquire()
            first, self._settled = self._settled + 1, self._settled + len(batch)
            if failure is not None:
                self._failures.update(dict.fromkeys(range(first, self._settled + 1), failure))
            self._appending = False
            self._changed.notify_all()


def line(entry: Mapping[str, JsonOut]) -> str:
    """One journal line as stored, newline included."""
    return json.dumps(entry, sort_keys=True) + "\n"


@dataclass
class DeployRecord:
    """A journal read back; `source` is where later lines about it (undone, outcome) go."""

    source: JournalLines
    header: JournalHeader
    steps: list[Step] = field(default_factory=list)
    outcome: JournalOutcome | None = None
    appends: GroupCommit = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.appends = GroupCommit(self.source)  # a rollback journals the undos of a wave side by side

    @property
    def deploy_id(self) -> str:
        return self.header.deploy_id

    @property
    def kind(self) -> str:
        return self.header.kind

    @property
    def finished(self) -> bool:
        return self.outcome is not None

    @property
    def status(self) -> str:
        return self.outcome.status if self.outcome else "interrupted"

    @property
    def unfinished(self) -> bool:
        return self.kind == DEPLOY and self.status in UNFINISHED


class Journal:
    """Appends to one deploy's journal, wherever the state store keeps it (`lines`).

    Lines are stored in the order they are queued, each before its call returns (GroupCommit),
    so an intent is stored before its write is made and an outcome after it; the lines of
    writes made side by side are stored together.
    """

    def __init__(self, lines: JournalLines, header: JournalHeader):
        self.lines = GroupCommit(lines)
        self.header = header
        self._seq = 0
        self._lock = threading.Lock()  # a seq and its line's place in the journal agree
        self.lines.append({"type": "header", "format_version": JOURNAL_FORMAT_VERSION, **header.to_dict()})

    @property
    def deploy_id(self) -> str:
        return self.header.deploy_id

    def intent(self, op: str, address: str, undo: JsonObject) -> int:
        with self._lock:
            self._seq += 1
            seq = self._seq
            ticket = self.lines.queue({"type": "intent", "seq": seq, "op": op, "address": address, "undo": undo,
                                       "at": now()})
        self.lines.wait(ticket)
        return seq

    def done(self, seq: int, result: JsonObject) -> int:
        """Returns the step's `done_after`: the last seq given out before its done line."""
        with self._lock:
            ticket = self.lines.queue({"type": "done", "seq": seq, "result": result, "at": now()})
            done_after = self._seq
        self.lines.wait(ticket)
        return done_after

    def undone(self, seq: int) -> None:
        self.lines.append({"type": "undone", "seq": seq, "at": now()})

    def finish(self, outcome: str, **details: JsonOut) -> None:
        """`details` (the error, the rollback report, the number of writes) are for people reading the journal."""
        assert outcome in OUTCOMES, outcome
        self.lines.append({"type": "outcome", "outcome": outcome, "at": now(), **details})


def append_outcome(record: DeployRecord, outcome: str, *, by: str | None = None) -> None:
    """Close a journal read back (an unfinished deploy that was undone, by rollback `by`, or abandoned)."""
    at = now()
    record.appends.append({"type": "outcome", "outcome": outcome, "at": at, **({"by": by} if by else {})})
    record.outcome = JournalOutcome(outcome, at)


def append_undone(record: DeployRecord, step: Step, *, by: str) -> None:
    """Record on a journal read back that rollback `by` undid one of its writes."""
    record.appends.append({"type": "undone", "seq": step.seq, "at": now(), "by": by})
    step.undone = True


def load(path: Path) -> DeployRecord | None:
    """A journal file as written; None if its header never reached the disk (nothing was written)."""
    return parse(path.read_text(encoding="utf-8"), JournalFile(path))


def parse(text: str, source: JournalLines) -> DeployRecord | None:
    """A journal's text as stored; None if its header never got there (nothing was written).

    Lines are stored in order, each append after the last one ended, so a line that does not
    parse is one a killed process cut short (the lines of its append before it may be there, and
    none of their callers had returned: each is one whose write may or may not have been made),
    and it is skipped: an intent cut short was never acted on; a
    `done` line cut short leaves its write as one that may have happened (undo finds what
    it made by name); an `undone` one leaves the undo to be done again (undo is
    idempotent); an outcome one leaves the deploy unfinished, to be rolled back or abandoned.
    """
    lines = []
    for text_line in text.splitlines():
        try:
            lines.append(json.loads(text_line))
        except ValueError:
            continue
    if not lines or lines[0].get("type") != "header":
        return None
    record = DeployRecord(source, JournalHeader.from_dict(lines[0]))
    steps: dict[int, Step] = {}
    for entry in lines[1:]:
        if entry["type"] == "intent":
            steps[entry["seq"]] = Step(entry["seq"], entry["op"], entry["address"], entry["undo"])
        elif entry["type"] == "done":
            steps[entry["seq"]].result = entry["result"]
            steps[entry["seq"]].done_after = max(steps)
        elif entry["type"] == "undone":
            steps[entry["seq"]].undone = True
        elif entry["type"] == "outcome":
            record.outcome = JournalOutcome(entry["outcome"], entry.get("at"))
    record.steps = [steps[k] for k in sorted(steps)]
    return record


def deploys(folder: Path, account_sid: str | None = None) -> list[DeployRecord]:
    """Every journal in an environment's journal folder, oldest first (deploy ids sort by time).

    With `account_sid`, only the journals of that account: an environment pointed at
    another account (a new emulator, a re-created subaccount) must not undo or judge
    the new account by the old one's history.
    """
    if not folder.is_dir():
        return []
    records = [r for r in (load(p) for p in sorted(folder.glob(f"*{JOURNAL_SUFFIX}"))) if r is not None]
    return of_account(records, account_sid)


def of_account(records: list[DeployRecord], account_sid: str | None) -> list[DeployRecord]:
    """The records of that account (all with None)."""
    return [r for r in records if account_sid is None or r.header.account_sid == account_sid]


def _text(value: JsonValue) -> str | None:
    return None if value is None else str(value)


def _list(value: JsonValue) -> list[JsonValue]:
    return value if isinstance(value, list) else []
