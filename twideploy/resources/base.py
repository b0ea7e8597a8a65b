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
from typing import Any, Callable, Protocol

from twideploy.addresses import Address
from twideploy.twilio_api.gateway import Gateway

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
