"""state: account: an environment's state in a Twilio Sync service of the account it deploys to,
so every machine (laptops, CI runners, a re-created repository) shares one history and one lock.

Sync objects, in the service named `twideploy` (made on first write; see twilio_api.sync):

    document  lease-<env>      the lock: a lease {owner, purpose, token, acquired_at, expires_at},
                               or {released_at, released_by} when free
    map       journal-<env>    the journals: item `<deploy-id>.<nnnn>` = {"text": ...}; a deploy's
                               items, in key order, hold its journal's JSON lines (state.journal)
                               cut in blocks below Sync's 16 KiB limit
    map       content-hashes   item `<version SID>` or `<flow SID>@<revision>` = {"sha256": ...}

Every update is a compare-and-set on the object's revision (`If-Match`). Journal lines are
appended to the deploy's last block (or start a new one when they would not fit), so most
deploys are a few items and a reader lists 100 blocks per request. The lines that writes made
side by side queue while one append is in flight go together in the next (journal.GroupCommit):
one update per round trip at most, whatever the number of writes in flight, which keeps a
parallel apply's journal within Sync's rate of updates per object (docs/state.md).

The lease: acquired by compare-and-set when free or expired (taking over an expired one says
whose it was), renewed by a background thread every third of its time while the command runs,
released at the end, also after a failure. A renewal that finds somebody else's lease marks
this run's Lease lost: the executor checks it before every write, stops, and rolls back what
it made. Expiry is judged by the clocks of the machines involved (they are NTP-synchronised
in practice); `TWIDEPLOY_LEASE_SECONDS` sets the lease's length (default 60).
"""

from __future__ import annotations

import json
import math
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import TypeVar

from twideploy.errors import LockError, TwideployError, TwilioApiError
from twideploy.state.cache import ContentCache
from twideploy.state.history import History
from twideploy.state.journal import (
    Journal,
    JournalFile,
    JournalHeader,
    JsonObject,
    of_account,
    parse,
)
from twideploy.state.local_store import LocalStore
from twideploy.state.paths import StatePaths
from twideploy.state.store import Lease, Notify
from twideploy.twilio_api import sync
from twideploy.twilio_api.gateway import Gateway

T = TypeVar("T")

LEASE_SECONDS_VARIABLE = "TWIDEPLOY_LEASE_SECONDS"
DEFAULT_LEASE_SECONDS = 60.0
WAIT_POLL_SECONDS = 1.0
CONTENT_MAP = "content-hashes"
#: Room for one block's data as JSON: below Sync's limit, with a margin for the SDK's encoding.
BLOCK_BYTES = sync.MAX_DATA_BYTES - 384


def journal_map(environment: str) -> str:
    return f"journal-{environment}"


def lease_document(environment: str) -> str:
    return f"lease-{environment}"


class SyncAccount:
    """twideploy's Sync service in one account: found once, made only by a run that writes."""

    def __init__(self, gw: Gateway):
        self.gw = gw
        self._service: str | None = None
        self._maps: set[str] = set()
        self._lock = threading.Lock()

    def service(self, *, create: bool) -> str | None:
        """The service's SID (None if it was never made and `create` is false). Its first lookup is
        a command's first Sync request: Sync out of reach fails it here, before any write."""
        with self._lock:
            if self._service is None:
                try:
                    self._service = sync.ensure_service(self.gw) if create else sync.find_service(self.gw)
                except TwideployError as error:
                    raise TwideployError(f"the environment's state (state: account) is in the account's Twilio "
                                         f"Sync, which cannot be reached: {error}") from error
            return self._service

    def write_to_map(self, name: str, write: Callable[[str], T]) -> T:
        """`write(service SID)` of an item of the map `name`; the map is made when the write
        finds it missing (404), once, so a deploy to an existing map costs no check."""
        service = self.service(create=True)
        assert service is not None
        try:
            return write(service)
        except TwilioApiError as error:
            if error.status != 404 or name in self._maps:
                raise
        with self._lock:
            sync.ensure_map(self.gw, service, name)
            self._maps.add(name)
        return write(service)


class AccountStore:
    """The state of `environment` in the account `gw` deploys to."""

    kind: str = "account"

    def __init__(self, gw: Gateway, environment: str, paths: StatePaths):
        self.sync = SyncAccount(gw)
        self.environment = environment
        self.paths = paths  # the local copy of the content hashes

    @property
    def where(self) -> str:
        return (f"Sync service {sync.SERVICE_NAME} of account {self.sync.gw.account_sid}, "
                f"map {journal_map(self.environment)}")

    def history(self) -> History:
        records = [r for r in (parse(j.text, j) for j in self._journals().values()) if r is not None]
        return History(of_account(records, self.sync.gw.account_sid))

    def _journals(self) -> dict[str, JournalBlocks]:
        """Every journal in the environment's map by deploy id, oldest first (even one whose
        header a killed run cut short, which `history` leaves out)."""
        service = self.sync.service(create=False)
        items = sync.list_items(self.sync.gw, service, journal_map(self.environment)) if service else []
        return {deploy_id: JournalBlocks(self.sync, self.environment, deploy_id, list(blocks))
                for deploy_id, blocks in groupby(items, key=lambda item: item.key.rpartition(".")[0])}

    def start_journal(self, header: JournalHeader) -> Journal:
        return Journal(JournalBlocks(self.sync, self.environment, header.deploy_id, []), header)

    @contextmanager
    def lock(self, purpose: str, *, wait_seconds: float = 0, notify: Notify = lambda message: None,
             ) -> Iterator[Lease]:
        lease = Lease()
        holder = LeaseHolder(self.sync, self.environment, purpose, lease_seconds(), lease, notify)
        holder.acquire(wait_seconds)
        try:
            yield lease
        finally:
            holder.release()

    def describe_lock(self) -> str:
        service = self.sync.service(create=False)
        lease = sync.fetch_document(self.sync.gw, service, lease_document(self.environment)) if service else None
        where = f"Sync document {lease_document(self.environment)}"
        if lease is None:
            return f"never taken ({where})"
        expiry = lease_expiry(lease.data)
        if expiry is None:
            return f"free, released at {lease.data.get('released_at', '?')} ({where}, revision {lease.revision})"
        state = "EXPIRED, free to take over" if expiry <= datetime.now(UTC) else "held"
        return (f"{state}: {describe_holder(lease.data)}, lease until {lease.data.get('expires_at')} "
                f"({where}, revision {lease.revision})")

    def migrate(self, local: LocalStore) -> list[str]:
        """Upload the local journals and content hashes of this environment and account once: a journal
        already in the account is left as it is (one cut short by an interrupted migrate is completed)."""
        remote = self._journals()
        report = []
        for record in local.history().records:
            assert isinstance(record.source, JournalFile)
            text = record.source.path.read_text(encoding="utf-8")
            there = remote.get(record.deploy_id) or JournalBlocks(self.sync, self.environment, record.deploy_id, [])
            if there.text == text:
                report.append(f"{record.deploy_id}: already in the account")
            elif text.startswith(there.text):
                there.append_text(text[len(there.text):], own_line=False)
                report.append(f"{record.deploy_id}: uploaded ({record.kind}, {record.status})")
            else:
                report.append(f"{record.deploy_id}: the account's journal differs from the local one "
                              f"(written since the migration); kept the account's")
        cache = self.content_cache()
        cache.hashes.update(local.content_cache().hashes)
        new = len(set(cache.hashes) - set(cache.shared))
        self.share_content(cache)
        report.append(f"content hashes: {new} uploaded, {len(cache.hashes)} in the account")
        return report

    def content_cache(self) -> AccountContentCache:
        return AccountContentCache(self.paths.content_cache(self.sync.gw.account_sid), self.sync)

    def share_content(self, cache: ContentCache) -> None:
        cache.save()
        if isinstance(cache, AccountContentCache):
            cache.share()


def lease_seconds() -> float:
    raw = os.environ.get(LEASE_SECONDS_VARIABLE)
    try:
        seconds = float(raw) if raw else DEFAULT_LEASE_SECONDS
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise TwideployError(f"{LEASE_SECONDS_VARIABLE}={raw!r} is not a number of seconds above 0")
    return seconds


# -- journals ------------------------------------------------------------------------------------


class JournalBlocks:
    """One deploy's journal as items `<deploy-id>.<nnnn>` of the environment's journal map.

    An append adds its lines to the last block by compare-and-set, or starts new blocks when it
    would not fit (a line longer than a block spans several). A compare-and-set or create that
    conflicts is this run's own write repeated after a lost answer when the item now holds
    what was sent; anything else means another run wrote this journal, which the lease forbids.
    """

    def __init__(self, account: SyncAccount, environment: str, deploy_id: str, blocks: list[sync.Entry],
                 *, block_bytes: int = BLOCK_BYTES):
        self.account, self.map = account, journal_map(environment)
        self.deploy_id, self.blocks, self.block_bytes = deploy_id, blocks, block_bytes
        self._lock = threading.Lock()

    @property
    def text(self) -> str:
        return "".join(_text(block) for block in self.blocks)

    def append_text(self, text: str, *, own_line: bool = True) -> None:
        """Store `text` after what is there; `own_line`: after a line a killed run cut short, on a
        line of its own (a migration completing an upload continues the text as it is)."""
        with self._lock:
            stored = self.text
            if own_line and stored and not stored.endswith("\n"):
                text = "\n" + text
            if self.blocks and _fits(_text(self.blocks[-1]) + text, self.block_bytes):
                last = self.blocks[-1]
                self.blocks[-1] = self._stored(last.key, _text(last) + text, revision=last.revision)
                return
            for piece in _pieces(text, self.block_bytes):
                self.blocks.append(self._stored(f"{self.deploy_id}.{len(self.blocks):04d}", piece))

    def _stored(self, key: str, text: str, *, revision: str | None = None) -> sync.Entry:
        gw = self.account.gw

        def store(service: str) -> sync.Entry:
            if revision is None:
                return sync.create_item(gw, service, self.map, key, {"text": text})
            return sync.update_item(gw, service, self.map, key, {"text": text}, revision=revision)
        try:
            return self.account.write_to_map(self.map, store)
        except sync.SyncConflict:
            now_there = sync.fetch_item(gw, str(self.account.service(create=True)), self.map, key)
            if now_there is not None and _text(now_there) == text:
                return now_there
            raise TwideployError(f"the journal of deploy {self.deploy_id} (Sync map {self.map}, item {key}) "
                                 f"was changed by another run while this one held the lock") from None


def _text(block: sync.Entry) -> str:
    return str(block.data.get("text") or "")


def _fits(text: str, block_bytes: int) -> bool:
    return len(json.dumps({"text": text}).encode()) <= block_bytes


def _pieces(text: str, block_bytes: int) -> Iterator[str]:
    """`text` cut into pieces that each fit a block."""
    while text:
        size = len(text)
        while not _fits(text[:size], block_bytes):
            encoded = len(json.dumps({"text": text[:size]}).encode())
            size = max(1, min(size - 1, size * block_bytes // encoded))
        yield text[:size]
        text = text[size:]


# -- the lease -----------------------------------------------------------------------------------


def owner() -> JsonObject:
    """Who holds a lease: this machine and process, and the CI run under GitHub Actions."""
    me: JsonObject = {"host": socket.gethostname(), "pid": os.getpid()}
    if os.environ.get("GITHUB_ACTIONS") == "true":
        server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
        me["run_url"] = f"{server}/{os.environ.get('GITHUB_REPOSITORY', '')}/actions/runs/" \
                        f"{os.environ.get('GITHUB_RUN_ID', '')}"
    return me


def describe_holder(data: JsonObject) -> str:
    """`host pid 123 (apply since ..., <run url>)` of a lease document's data."""
    who = data.get("owner")
    who = who if isinstance(who, dict) else {}
    run = f", {who['run_url']}" if who.get("run_url") else ""
    return f"{who.get('host', '?')} pid {who.get('pid', '?')} ({data.get('purpose', '?')} since " \
           f"{data.get('acquired_at', '?')}{run})"


def lease_expiry(data: JsonObject) -> datetime | None:
    """When a held lease expires; None for a free one."""
    if "owner" not in data:
        return None
    try:
        return datetime.fromisoformat(str(data.get("expires_at")))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)  # unreadable: treat as long expired


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


class LeaseHolder:
    """Acquires, renews and releases the lease document of one environment for one run."""

    def __init__(self, account: SyncAccount, environment: str, purpose: str, seconds: float, lease: Lease,
                 notify: Notify):
        self.account, self.environment, self.purpose = account, environment, purpose
        self.seconds, self.lease, self.notify = seconds, lease, notify
        self.name = lease_document(environment)
        self.token = secrets.token_hex(8)
        self.revision: str | None = None
        self.acquired_at = _stamp(datetime.now(UTC))
        self.expires: datetime | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def _data(self) -> JsonObject:
        """The lease, valid for its length from now."""
        self.expires = datetime.now(UTC) + timedelta(seconds=self.seconds)
        return {"owner": owner(), "purpose": self.purpose, "environment": self.environment, "token": self.token,
                "acquired_at": self.acquired_at, "expires_at": _stamp(self.expires)}

    def _ours(self, entry: sync.Entry | None) -> bool:
        return entry is not None and entry.data.get("token") == self.token

    def acquire(self, wait_seconds: float) -> None:
        gw, service = self.account.gw, self.account.service(create=True)
        assert service is not None
        deadline = time.monotonic() + wait_seconds
        while True:
            current = sync.fetch_document(gw, service, self.name)
            expiry = lease_expiry(current.data) if current else None
            if current is None or expiry is None or expiry <= datetime.now(UTC):
                made: sync.Entry | None
                try:
                    if current is None:
                        made = sync.create_document(gw, service, self.name, self._data())
                    else:
                        made = sync.update_document(gw, service, self.name, self._data(),
                                                    revision=current.revision)
                except sync.SyncConflict:
                    made = sync.fetch_document(gw, service, self.name)  # ours if only our answer was lost
                    if not self._ours(made):
                        continue  # another run was quicker: look again
                assert made is not None
                self.revision = made.revision
                if current is not None and expiry is not None:
                    self.notify(f"took over the lock of {self.environment} from {describe_holder(current.data)}, "
                                f"whose lease expired at {current.data.get('expires_at')} without being released")
                break
            if time.monotonic() >= deadline:
                raise LockError(f"environment {self.environment} is locked by another twideploy run "
                                f"({describe_holder(current.data)}, lease until {current.data.get('expires_at')}); "
                                f"wait for it, or pass --lock-timeout SECONDS to wait")
            time.sleep(min(WAIT_POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        self._renewer = threading.Thread(target=self._renew, name=f"lease-{self.environment}", daemon=True)
        self._renewer.start()

    def _renew(self) -> None:
        gw, service = self.account.gw, self.account.service(create=True)
        assert service is not None
        while not self._stop.wait(self.seconds / 3):
            expires = self.expires
            try:
                assert self.revision is not None
                self.revision = sync.update_document(gw, service, self.name, self._data(),
                                                     revision=self.revision).revision
            except sync.SyncConflict:
                current = sync.fetch_document(gw, service, self.name)
                if current is not None and self._ours(current):
                    self.revision = current.revision
                    continue
                holder = describe_holder(current.data) if current else "nobody (the lease document is gone)"
                self.lease.lose(f"this run lost the lock of {self.environment}: its lease expired and is now "
                                f"held by {holder}")
                return
            except TwideployError as error:
                if expires is not None and datetime.now(UTC) >= expires:
                    self.lease.lose(f"this run lost the lock of {self.environment}: its lease expired while "
                                    f"Sync could not be reached to renew it ({error})")
                    return

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        if self.lease.lost or self.revision is None:
            return
        service = self.account.service(create=True)
        assert service is not None
        try:
            sync.update_document(self.account.gw, service, self.name,
                                 {"released_at": _stamp(datetime.now(UTC)), "released_by": owner()},
                                 revision=self.revision)
        except TwideployError as error:  # taken over, or Sync out of reach: the lease expires on its own
            self.notify(f"could not release the lock of {self.environment} ({error}); it expires at "
                        f"{_stamp(self.expires) if self.expires else 'its expiry'}")


# -- content hashes ------------------------------------------------------------------------------


class AccountContentCache(ContentCache):
    """The content hashes of the account's Sync map, over the local copy; `share` adds the new ones
    (apply calls it through the store's `share_content`; a plan writes only the local copy).

    Reading them is a chain of round trips (find the Sync service, then the map 100 items per
    page: 4 for the bench project's 300 hashes), so it runs on a thread from construction on,
    alongside the plan's first reads of the account (lists of flows, services, numbers, which
    need no hash); `hashes` and `shared` wait for it, and raise what it raised."""

    def __init__(self, path: Path | None, account: SyncAccount):
        self._lock = threading.Lock()
        super().__init__(path)
        self.account = account
        self._shared: dict[str, str] = {}
        reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="twideploy-content-hashes")
        self._reading: Future[dict[str, str]] | None = reader.submit(self._read_shared)
        reader.shutdown(wait=False)

    def _read_shared(self) -> dict[str, str]:
        service = self.account.service(create=False)
        return {item.key: str(item.data.get("sha256")) for item in
                (sync.list_items(self.account.gw, service, CONTENT_MAP) if service else [])}

    def _read(self) -> None:
        with self._lock:
            if self._reading is not None:
                self._shared = self._reading.result()
                self._hashes.update(self._shared)
                self._reading = None

    @property
    def hashes(self) -> dict[str, str]:
        self._read()
        return self._hashes

    @hashes.setter
    def hashes(self, value: dict[str, str]) -> None:
        self._hashes = value

    @property
    def shared(self) -> dict[str, str]:
        """The hashes the account's map holds (as read, plus what `share` added)."""
        self._read()
        return self._shared

    def share(self) -> None:
        new = {key: value for key, value in self.hashes.items() if key not in self.shared}
        if not new:
            return
        def create(key: str) -> None:
            try:
                self.account.write_to_map(CONTENT_MAP, lambda service: sync.create_item(
                    self.account.gw, service, CONTENT_MAP, key, {"sha256": new[key]}))
            except sync.SyncConflict:
                pass  # shared meanwhile by another run: content never changes, nor does its hash
        self.account.gw.map(create, sorted(new))
        self.shared.update(new)
