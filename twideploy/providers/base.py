"""The provider protocol: what the planner and the executor ask of every resource kind.

A provider reads its live state, turns desired + live into Changes, fingerprints what it
read, and turns its Changes into Tasks (each write, and the addresses it needs written
first) that the executor schedules; each task writes through the journalling `write` of the
ApplyContext, which also names how each write is undone (`undo`: op -> function). The planner and the executor
know no kind: they loop over `registry.PROVIDERS`, so a new kind is a module and a line.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from twideploy.addresses import Address
from twideploy.errors import ApplyError
from twideploy.manifest import Environment, Project
from twideploy.manifest.references import UNKNOWN, AddressBook
from twideploy.plan.desired import Desired, Live
from twideploy.plan.model import Change
from twideploy.plan.scheduler import Task, WaveProgress
from twideploy.providers.audit import AuditContext, DriftItem
from twideploy.state.cache import ContentCache
from twideploy.state.history import History
from twideploy.state.journal import DeployRecord, JsonObject
from twideploy.twilio_api.gateway import Gateway
from twideploy.yaml_writer import document_text

SENSITIVE = "(sensitive value)"


class Writer(Protocol):
    """Journals a write (op, address, undo data) before running it; returns its result
    (the dict `run` returned, such as the SID it created, or {} when it returned no dict)."""

    def __call__(self, op: str, address: Address, undo: dict[str, Any], run: Callable[[], Any],
                 *, secret_undo: dict[str, Any] | None = None) -> dict[str, Any]: ...


UndoFunction = Callable[[Gateway, dict[str, Any], dict[str, Any]], str]
"""(gateway, undo data, result of the write) -> a line describing what was undone."""


def delete_created(result: dict[str, Any], find: Callable[[], str | None], delete: Callable[[str], None]) -> None:
    """Undo a create: delete what it made. Its SID is in the write's result, unless the
    create was in flight when apply died; then it is found by the name it was given (`find`;
    it may not exist at all)."""
    sid = result.get("sid") or find()
    if sid:
        delete(sid)


def digest(*parts: str | bytes) -> str:
    """sha256 hex of the parts, for fingerprints and content comparison."""
    h = hashlib.sha256()
    _feed(h, parts)
    return h.hexdigest()


def keyed_digest(key: bytes, *parts: str | bytes) -> str:
    """HMAC-SHA256 hex of the parts: for what may be a secret. A plain hash of a short secret
    is reversed by trying every value; without the key, an HMAC is not."""
    h = hmac.new(key, digestmod=hashlib.sha256)
    _feed(h, parts)
    return h.hexdigest()


def _feed(h: Any, parts: tuple[str | bytes, ...]) -> None:
    for part in parts:
        h.update(part if isinstance(part, bytes) else part.encode())
        h.update(b"\0")

Progress = Callable[[str | WaveProgress], None]
"""What apply is doing: a line about the write being made, or how far a wave of writes is."""


@dataclass
class PlanContext:
    """What planning one environment shares between providers. `compiled` holds each flow's
    definition compiled once (flow name -> definition), for the plan and then for apply."""

    gw: Gateway
    desired: Desired
    live: Live
    book: AddressBook
    cache: ContentCache
    prune: bool
    compiled: dict[str, JsonObject] = field(default_factory=dict)


@dataclass
class ApplyContext:
    """What applying one plan shares between providers. `book` is the plan's address book,
    completed by each provider as it creates what later kinds refer to; `records` are the
    environment's deploy journals; `commit_message` marks the revisions this deploy writes."""

    gw: Gateway
    desired: Desired
    live: Live
    book: AddressBook
    compiled: dict[str, JsonObject]
    include_layout: bool
    write: Writer
    cache: ContentCache
    progress: Progress
    records: list[DeployRecord]
    commit_message: str = ""


@dataclass
class DecompileContext:
    """Promotion from live state: the project as `source_env` runs it, built kind by kind. Each
    provider puts in `project` what the account runs of its kind (what `target_env` deploys)
    and says where each came from (`origin`, `details`); `warnings` name what it cannot carry."""

    gw: Gateway
    project: Project
    source_env: Environment
    target_env: Environment
    live: Live
    book: AddressBook
    history: History
    origin: dict[Address, str] = field(default_factory=dict)
    details: dict[Address, JsonObject] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass
class ExportReport:
    """What `export` wrote (paths relative to the project) and exported, and what it could not."""

    environment: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    flows: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    assets_not_fetched: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass
class ExportContext:
    """Export of a live account into the project's files, shared by the providers' phases.

    Which resources are exported crosses kinds: the flows named (`flows`; None: the whole
    account) decide which services go with them, and a number is exported when it points at
    what is exported. So each kind reads first (entering what others refer to in `book`),
    then chooses, in reverse registry order (`referred`: what chosen flows run), then writes,
    in registry order (`kept`: what the environment deploys once exported). Each kind puts its
    part of the environment file in `environment`, which `export` writes once at the end."""

    gw: Gateway
    project: Project
    env: Environment
    flows: list[str] | None
    report: ExportReport
    environment: dict[str, Any]
    book: AddressBook = field(default_factory=AddressBook)
    referred: set[Address] = field(default_factory=set)
    kept: set[Address] = field(default_factory=set)
    environment_changed: bool = False

    def write(self, path: Path, existing: object, doc: dict[str, Any], *, json_file: bool = False) -> None:
        """Write `doc` to `path`, updating `existing` (its round-trip data) in place, and report it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        text = document_text(existing, doc, json_file=json_file)
        (self.report.updated if path.exists() else self.report.created).append(self.rel(path))
        path.write_text(text, encoding="utf-8")

    def rel(self, path: Path) -> str:
        """`path` as the report shows it: relative to the project when inside it."""
        try:
            return Path(path).resolve().relative_to(self.project.root.resolve()).as_posix()
        except ValueError:
            return str(path)


class KindExport(Protocol):
    """One kind's part of an export, after it read the account (`Provider.export`)."""

    def select(self, ctx: ExportContext) -> None:
        """Choose what of this kind is exported; runs in reverse registry order, so a kind sees
        what the kinds that refer to it chose (`ctx.referred`)."""

    def write(self, ctx: ExportContext) -> None:
        """Write the chosen resources' files and their part of `ctx.environment`; registry order."""


class Provider(Protocol):
    """One resource kind. `family` is the first part of its addresses (`flow` in
    `flow.ivr-main`), `name` the key of its live state and of its fingerprint."""

    family: str
    name: str
    undo: dict[str, UndoFunction]

    def read(self, gw: Gateway, desired: Desired, cache: ContentCache, *, lazy: bool = False) -> object:
        """The live state of what `desired` names (and what else the kind must see), in few round
        trips. `lazy`: content whose hash `cache` knows may be left unread (`plan` reads it if needed)."""

    def add_addresses(self, book: AddressBook, desired: Desired, live: Live) -> None:
        """Enter what other kinds may refer to (functions, flows) into the address book."""

    def plan(self, ctx: PlanContext) -> list[Change]:
        """The changes of this kind, in the order they are applied. Runs at the same time as the
        other providers' `plan` (`planner.make_plan`): it writes only its own kind's entries of `ctx`."""

    def fingerprint(self, live: Live, plan_key: bytes) -> object:
        """What the plan was computed from (JSON data): a saved plan is refused when it moved."""

    def check(self, ctx: ApplyContext, changes: list[Change]) -> None:
        """Before the first write of a deploy: refuse what Twilio would refuse (ApplyError)."""

    def apply(self, ctx: ApplyContext, changes: list[Change]) -> list[Task]:
        """The writes of this kind's changes (not deletions of what the manifests dropped), as
        tasks naming what each needs written first; the executor runs them (plan.scheduler)."""

    def prune(self, ctx: ApplyContext, changes: list[Change]) -> list[Task]:
        """The deletions the plan makes, as tasks; they run after every kind's apply tasks, and
        the later kinds' deletions (what may refer to this kind's) first."""

    def attribute(self, ctx: AuditContext, changes: list[Change]) -> list[DriftItem]:
        """Drift: what of `changes` (the plan of live vs manifests) differs, and who made it."""

    def decompile(self, ctx: DecompileContext) -> None:
        """Promotion: the manifests of this kind as the source account runs them, into `ctx.project`."""

    def export(self, ctx: ExportContext) -> KindExport:
        """Export: read this kind from the whole account, entering what other kinds refer to
        into `ctx.book`; the result chooses and writes this kind's files."""


def verify(address: Address, planned: object, written: object) -> None:
    """Refuse a write that is not the planned change: `written` must be `planned` with each
    value the plan showed as unknown ("(known after apply)") resolved. An ApplyError, which
    rolls the deploy back, names where they differ, not the values (they may be secret)."""
    where = _difference(planned, written, "")
    if where is not None:
        raise ApplyError(f"{address}: what apply was about to write differs from the plan at {where or 'the top'}; "
                         f"nothing of it was written")


def _difference(planned: object, written: object, where: str) -> str | None:
    """The path of the first value where `written` is not `planned` (unknowns resolved), or None."""
    if isinstance(planned, str) and UNKNOWN in planned:
        pattern = ".+".join(re.escape(piece) for piece in planned.split(UNKNOWN))
        same = isinstance(written, str) and re.fullmatch(pattern, written, re.DOTALL) is not None
        return None if same else where
    if isinstance(planned, dict) and isinstance(written, dict):
        for key in sorted(planned.keys() | written.keys(), key=str):
            if key not in planned or key not in written:
                return f"{where}.{key}"
            found = _difference(planned[key], written[key], f"{where}.{key}")
            if found is not None:
                return found
        return None
    if isinstance(planned, list) and isinstance(written, list) and len(planned) == len(written):
        return next((found for i, (p, w) in enumerate(zip(planned, written, strict=True))
                     if (found := _difference(p, w, f"{where}[{i}]")) is not None), None)
    return None if planned == written else where
