"""One writer per environment, for `state: local` (see state.store).

On one machine: an OS file lock (`flock`) on `.twideploy/locks/<env>.lock` (StatePaths.lock). The kernel
drops it when the holder exits, even when killed, so a crash never leaves a stale lock;
the file's content (pid, host, deploy id, time) only tells the waiting user who holds it.

Across CI runners a file lock cannot help: `state: account` environments take a lease in the
account instead (state.account_store); besides, the workflows' `concurrency` group per
environment serialises runs, and every apply re-reads the live state and compares its
fingerprint with the plan before the first write, so an account changed by anyone in
between is refused rather than overwritten (see README, "Locking").
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

from twideploy.errors import LockError
from twideploy.state.journal import now
from twideploy.state.paths import StatePaths

POLL_SECONDS = 0.2


def holder(paths: StatePaths, environment: str) -> str | None:
    """Who holds the environment's lock now (what the holder wrote), or None when it is free."""
    path = paths.lock(environment)
    if not path.exists():
        return None
    with path.open("r") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return handle.read().strip() or "unknown holder"
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None  # free (what a killed holder wrote may still be there)


@contextmanager
def environment_lock(paths: StatePaths, environment: str, *, purpose: str,
                     wait_seconds: float = 0) -> Iterator[None]:
    path = paths.lock(environment)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "unknown holder"
                    raise LockError(f"environment {environment} is locked by another twideploy run ({holder}); "
                                    f"wait for it, or pass --lock-timeout SECONDS to wait") from None
                time.sleep(POLL_SECONDS)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "purpose": purpose,
                                 "since": now()}))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
