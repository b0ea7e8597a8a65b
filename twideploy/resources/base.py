"""What every resource kind (flows, serverless, numbers) shares.

Each kind's module offers the same small interface:

- ``read(gateway, desired) -> live``: the live state of what the project names, in few round trips;
- ``plan(desired, live, context) -> list[Change]``: pure comparison;
- ``apply(change, context) -> None``: make one change, recording each write in the journal
  first through ``context.write``, with the data needed to undo it;
- ``UNDO``: a table from write operation to the function that reverses it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Protocol

from twideploy.gateway import Gateway, call

SENSITIVE = "(sensitive value)"


class Writer(Protocol):
    """Journals a write (op, address, undo data) before running it; returns its result
    (the dict `run` returned, such as the SID it created, or {} when it returned no dict)."""

    def __call__(self, op: str, address: str, undo: dict[str, Any], run: Callable[[], Any],
                 *, secret_undo: dict[str, Any] | None = None) -> dict[str, Any]: ...


UndoFunction = Callable[[Gateway, dict[str, Any], dict[str, Any]], str]
"""(gateway, undo data, result of the write) -> a line describing what was undone."""


class ContentCache:
    """Immutable thing -> sha256 of its content, kept in `.twideploy/cache/`.

    Keys are function/asset version SIDs and flow revisions (`FW...@7`): Twilio never
    changes either once made, so an entry never goes stale. It spares a plan the fetches
    of content that cannot have changed; it never holds content itself (flows may carry
    secret values).
    """

    def __init__(self, path: Path | None):
        self.path = path
        self.hashes: dict[str, str] = {}
        if path and path.exists():
            try:
                self.hashes = json.loads(path.read_text())
            except ValueError:  # e.g. cut short by a killed run before saves were atomic: only a cache
                self.hashes = {}

    def save(self) -> None:
        """Write a new file and rename it over the old one: a run killed meanwhile (apply saves
        right after its last write) leaves the old cache or the new, never half of one."""
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(self.hashes, indent=0, sort_keys=True))
            os.replace(temporary, self.path)


def delete_created(gw: Gateway, collection: Any, result: dict[str, Any], field: str, value: str | None) -> None:
    """Undo a create: delete what it made. Its SID is in the write's result, unless the
    create was in flight when apply died; then it is found by the name it was given (and
    may not exist at all)."""
    sid = result.get("sid") or next((r.sid for r in gw.list_all(collection)
                                     if value and getattr(r, field) == value), None)
    if sid:
        call(lambda: collection(sid).delete())


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
