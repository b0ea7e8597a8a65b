"""The deploy journal: one JSON-lines file per deploy under `.twideploy/journal/<env>/`.

Line 1 is the header (deploy id, environment, account, git SHA, start time, summary).
Each write adds an `intent` line *before* it is made, holding what is needed to undo
it, and a `done` line after, holding its result (e.g. the SID it created). Each undo of
a write that succeeded (or that no rollback can do) adds an `undone` line (from apply's
own rollback or a later `twideploy rollback`), so a rollback that failed midway is resumed
with the undo steps left, not redone from the start. The outcome line (`applied`, `rolled_back`,
`rollback_failed`, `abandoned`) may be followed by `undone` lines and a later outcome;
the last outcome counts. A file without an outcome is an interrupted deploy. Every line is
flushed and fsynced, so a killed process leaves a journal that tells the truth up to the
write it was making.

Secret values are never written: an undo that needs one (a secret variable's previous
value) is kept in memory for this run's automatic rollback only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

JOURNAL_FORMAT_VERSION = 1
OUTCOMES = ("applied", "rolled_back", "rollback_failed", "abandoned", "no_changes")
#: A deploy in one of these states left the account half-applied: it must be rolled back
#: (or abandoned) before another apply.
UNFINISHED = ("interrupted", "rollback_failed")


@dataclass
class Step:
    seq: int
    op: str
    address: str
    undo: dict[str, Any]
    result: dict[str, Any] | None = None
    undone: bool = False

    @property
    def done(self) -> bool:
        return self.result is not None


@dataclass
class DeployRecord:
    """A journal read back from disk."""

    path: Path
    header: dict[str, Any]
    steps: list[Step] = field(default_factory=list)
    outcome: dict[str, Any] | None = None

    @property
    def deploy_id(self) -> str:
        return self.header["deploy_id"]

    @property
    def finished(self) -> bool:
        return self.outcome is not None

    @property
    def status(self) -> str:
        return self.outcome["outcome"] if self.outcome else "interrupted"

    @property
    def unfinished(self) -> bool:
        return self.header.get("kind") == "deploy" and self.status in UNFINISHED


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_deploy_id() -> str:
    """Sortable by time (to the millisecond) and unique: `20261127-173821123-1d81`."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S%f")[:-3]
    return f"{stamp}-{os.urandom(2).hex()}"


class Journal:
    """Appends to one deploy's journal file."""

    def __init__(self, path: Path, header: dict[str, Any]):
        self.path = path
        self.header = header
        self._seq = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")
        self._append({"type": "header", "format_version": JOURNAL_FORMAT_VERSION, **header})

    @classmethod
    def start(cls, directory: Path, environment: str, **meta: Any) -> "Journal":
        deploy_id = meta.pop("deploy_id", None) or new_deploy_id()
        header = {"deploy_id": deploy_id, "environment": environment, "started_at": now(), **meta}
        return cls(directory / environment / f"{deploy_id}.jsonl", header)

    @property
    def deploy_id(self) -> str:
        return self.header["deploy_id"]

    def intent(self, op: str, address: str, undo: dict[str, Any]) -> int:
        self._seq += 1
        self._append({"type": "intent", "seq": self._seq, "op": op, "address": address, "undo": undo, "at": now()})
        return self._seq

    def done(self, seq: int, result: dict[str, Any]) -> None:
        self._append({"type": "done", "seq": seq, "result": result, "at": now()})

    def undone(self, seq: int) -> None:
        self._append({"type": "undone", "seq": seq, "at": now()})

    def finish(self, outcome: str, **details: Any) -> None:
        assert outcome in OUTCOMES, outcome
        self._append({"type": "outcome", "outcome": outcome, "at": now(), **details})
        self._file.close()

    def _append(self, entry: dict[str, Any]) -> None:
        self._file.write(json.dumps(entry, sort_keys=True) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())


def append_outcome(record: DeployRecord, outcome: str, **details: Any) -> None:
    """Close a journal read back from disk (an unfinished deploy that was undone or abandoned)."""
    _append_to(record, {"type": "outcome", "outcome": outcome, "at": now(), **details})
    record.outcome = {"outcome": outcome, **details}


def append_undone(record: DeployRecord, step: Step, **details: Any) -> None:
    """Record on a journal read back from disk that a later rollback undid one of its writes."""
    _append_to(record, {"type": "undone", "seq": step.seq, "at": now(), **details})
    step.undone = True


def _append_to(record: DeployRecord, entry: dict[str, Any]) -> None:
    """Append a line, on a line of its own even after one a killed process cut short."""
    with record.path.open("rb+") as f:
        size = f.seek(0, os.SEEK_END)
        cut_short = False
        if size:
            f.seek(size - 1)
            cut_short = f.read(1) != b"\n"
        f.write((("\n" if cut_short else "") + json.dumps(entry, sort_keys=True) + "\n").encode())
        f.flush()
        os.fsync(f.fileno())


def load(path: Path) -> DeployRecord | None:
    """A journal as written; None if its header never reached the disk (nothing was written).

    Every line is written whole and then fsynced, so a line that does not parse is one a
    killed process cut short, and it is skipped: an intent cut short was never acted on; a
    `done` line cut short leaves its write as one that may have happened (undo finds what
    it made by name); an `undone` one leaves the undo to be done again (undo is
    idempotent); an outcome one leaves the deploy unfinished, to be rolled back or abandoned.
    """
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    if not lines or lines[0].get("type") != "header":
        return None
    record = DeployRecord(path, lines[0])
    steps: dict[int, Step] = {}
    for entry in lines[1:]:
        if entry["type"] == "intent":
            steps[entry["seq"]] = Step(entry["seq"], entry["op"], entry["address"], entry["undo"])
        elif entry["type"] == "done":
            steps[entry["seq"]].result = entry["result"]
        elif entry["type"] == "undone":
            steps[entry["seq"]].undone = True
        elif entry["type"] == "outcome":
            record.outcome = entry
    record.steps = [steps[k] for k in sorted(steps)]
    return record


def deploys(directory: Path, environment: str, account_sid: str | None = None) -> list[DeployRecord]:
    """Every journal of an environment, oldest first (deploy ids sort by time).

    With `account_sid`, only the journals of that account: an environment pointed at
    another account (a new emulator, a re-created subaccount) must not undo or judge
    the new account by the old one's history.
    """
    folder = directory / environment
    if not folder.is_dir():
        return []
    records = [r for r in (load(p) for p in sorted(folder.glob("*.jsonl"))) if r is not None]
    return [r for r in records if account_sid is None or r.header.get("account_sid") == account_sid]


def unfinished(directory: Path, environment: str, account_sid: str) -> list[DeployRecord]:
    """Deploys that left the account half-applied: interrupted, or failed with a rollback that
    failed too. An interrupted *rollback* needs no attention of its own: it did not finish, so
    the deploys it was undoing still count as not reverted and can be rolled back again."""
    return [r for r in deploys(directory, environment, account_sid) if r.unfinished]
