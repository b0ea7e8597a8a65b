"""state: local, the default: an environment's state in the checkout's `.twideploy/` folder.

Journals are files under `journal/<env>/`, the lock an OS file lock (state.lock), content
hashes a file per account under `cache/` (see state.paths). Another checkout, or a CI runner
without the cached folder, sees none of it: that is what `state: account` is for.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from twideploy.state.cache import ContentCache
from twideploy.state.history import History
from twideploy.state.journal import Journal, JournalFile, JournalHeader, deploys
from twideploy.state.lock import environment_lock, holder
from twideploy.state.paths import StatePaths, journal_file
from twideploy.state.store import Lease, Notify


@dataclass(frozen=True)
class LocalStore:
    paths: StatePaths
    environment: str
    account_sid: str
    kind: str = "local"

    @property
    def where(self) -> str:
        return f"journals under {self.paths.journal_folder(self.environment)}"

    def history(self) -> History:
        return History(deploys(self.paths.journal_folder(self.environment), self.account_sid))

    def start_journal(self, header: JournalHeader) -> Journal:
        return Journal(JournalFile(journal_file(self.paths.journal_folder(self.environment), header.deploy_id)),
                       header)

    @contextmanager
    def lock(self, purpose: str, *, wait_seconds: float = 0, notify: Notify = lambda message: None,
             ) -> Iterator[Lease]:
        with environment_lock(self.paths, self.environment, purpose=purpose, wait_seconds=wait_seconds):
            yield Lease()  # the kernel holds a file lock until the process ends: it cannot be lost

    def describe_lock(self) -> str:
        held_by = holder(self.paths, self.environment)
        where = f"file lock {self.paths.lock(self.environment)}"
        return f"held by {held_by} ({where})" if held_by else f"free ({where})"

    def content_cache(self) -> ContentCache:
        return ContentCache(self.paths.content_cache(self.account_sid))

    def share_content(self, cache: ContentCache) -> None:
        cache.save()
