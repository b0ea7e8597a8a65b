"""Where an environment's state lives, behind one small interface: its deploy journals, its
lock and its content hashes.

`state: local` (the default) keeps them in the checkout's `.twideploy/` (state.local_store);
`state: account` in a Twilio Sync service of the account deployed to (state.account_store),
so every machine that deploys the environment sees one history and takes one lock. Every
reader (history, rollback, drift, promote, the unfinished-deploy check) and writer (the
executor's journal, `rollback`'s) asks the store, never the disk or Sync directly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from twideploy.errors import LeaseLostError
from twideploy.state.cache import ContentCache
from twideploy.state.history import History
from twideploy.state.journal import Journal, JournalHeader

Notify = Callable[[str], None]
"""Where a store says what the user should know (a lock taken over from an expired holder)."""


class Lease:
    """The lock of one run, as the run sees it while holding it.

    A local lock cannot be lost; an account lease can, when its renewals fail until it expires
    and another run takes it over. `check` before each write stops a run that lost it.
    """

    def __init__(self) -> None:
        self._lost: str | None = None
        self._lock = threading.Lock()

    def lose(self, why: str) -> None:
        with self._lock:
            self._lost = self._lost or why

    @property
    def lost(self) -> str | None:
        return self._lost

    def check(self) -> None:
        """Raise LeaseLostError once the lease is lost."""
        if self._lost:
            raise LeaseLostError(self._lost)


class StateStore(Protocol):
    """One environment's state in one account."""

    @property
    def kind(self) -> str:
        """"local" or "account", as the environment file says."""
        ...

    @property
    def where(self) -> str:
        """Where the state is, for messages: a folder, or the Sync service."""
        ...

    def history(self) -> History:
        """Every journal of the environment in this account, oldest first."""
        ...

    def start_journal(self, header: JournalHeader) -> Journal:
        """A new journal, its header stored."""
        ...

    def lock(self, purpose: str, *, wait_seconds: float = 0, notify: Notify = lambda message: None,
             ) -> AbstractContextManager[Lease]:
        """Hold the environment's lock; LockError if another run holds it after `wait_seconds`."""
        ...

    def describe_lock(self) -> str:
        """Who holds the lock now, if anyone (for `twideploy state show`)."""
        ...

    def content_cache(self) -> ContentCache:
        """The content hashes of the account's immutable things (see state.cache)."""
        ...

    def share_content(self, cache: ContentCache) -> None:
        """Keep the hashes `cache` learned where the next run finds them (apply calls it; a plan
        saves only its local copy, `cache.save()`, so a plan never writes to the account)."""
        ...
