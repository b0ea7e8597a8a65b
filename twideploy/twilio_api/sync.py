"""Twilio Sync, as twideploy keeps its state there (state.account_store): one service, documents
and map items, each update a compare-and-set on its revision.

A write that may have been made although its answer was lost is retried (`idempotent`):
creates name what they make (a document's unique name, an item's key), so a repeat answers
409, and updates carry `If-Match`, so a repeat answers 412. Both come back to the caller as
`SyncConflict`, which reads the object again to tell its own write from somebody else's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twideploy.errors import TwilioApiError
from twideploy.state.journal import JsonObject
from twideploy.twilio_api.gateway import Gateway, call

SERVICE_NAME = "twideploy"
"""The friendly name of twideploy's Sync service (Sync services take no unique name)."""
MAX_DATA_BYTES = 16 * 1024
"""Sync's limit on one document's or item's data, as JSON."""
ITEMS_PAGE_SIZE = 100  # the most Sync lists of items allow


class SyncConflict(TwilioApiError):
    """A create found its name taken (409) or an update's `If-Match` was not the revision (412)."""


@dataclass(frozen=True)
class Entry:
    """A document (`key`: its unique name) or a map item, at one revision."""

    key: str
    revision: str
    data: JsonObject


def find_service(gw: Gateway) -> str | None:
    """The SID of twideploy's service, if it was made: the oldest of that name (see `ensure_service`)."""
    ours = [s for s in gw.list_all(gw.client.sync.v1.services) if s.friendly_name == SERVICE_NAME]
    return min(ours, key=lambda s: (s.date_created, s.sid)).sid if ours else None


def ensure_service(gw: Gateway) -> str:
    """twideploy's service, made on first use. Two first uses at once may both make one: each
    then keeps the oldest and deletes its own if that is not it, so both end on the same one."""
    found = find_service(gw)
    if found:
        return found
    made = call(lambda: gw.client.sync.v1.services.create(friendly_name=SERVICE_NAME)).sid
    winner = find_service(gw) or made
    if winner != made:
        call(lambda: gw.client.sync.v1.services(made).delete())
    return winner


def ensure_map(gw: Gateway, service_sid: str, name: str) -> None:
    """The map of that unique name, made if missing."""
    maps = gw.client.sync.v1.services(service_sid).sync_maps
    if _absent(lambda: call(lambda: maps(name).fetch())) is None:
        try:
            _write(lambda: maps.create(unique_name=name))
        except SyncConflict:
            pass  # made meanwhile, by another run or by our own attempt whose answer was lost


def fetch_document(gw: Gateway, service_sid: str, name: str) -> Entry | None:
    documents = gw.client.sync.v1.services(service_sid).documents
    found = _absent(lambda: call(lambda: documents(name).fetch()))
    return None if found is None else Entry(name, found.revision, found.data or {})


def create_document(gw: Gateway, service_sid: str, name: str, data: JsonObject) -> Entry:
    """Raises SyncConflict if a document of that name exists."""
    made = _write(lambda: gw.client.sync.v1.services(service_sid).documents.create(unique_name=name, data=data))
    return Entry(name, made.revision, made.data or {})


def update_document(gw: Gateway, service_sid: str, name: str, data: JsonObject, *, revision: str) -> Entry:
    """Compare-and-set: raises SyncConflict unless the document is at `revision`."""
    document = gw.client.sync.v1.services(service_sid).documents(name)
    updated = _write(lambda: document.update(data=data, if_match=revision))
    return Entry(name, updated.revision, updated.data or {})


def list_items(gw: Gateway, service_sid: str, map_name: str) -> list[Entry]:
    """Every item of a map in key order; none when the map does not exist."""
    items = gw.client.sync.v1.services(service_sid).sync_maps(map_name).sync_map_items
    found = _absent(lambda: call(lambda: list(items.stream(page_size=ITEMS_PAGE_SIZE))))
    return [Entry(i.key, i.revision, i.data or {}) for i in found or []]


def fetch_item(gw: Gateway, service_sid: str, map_name: str, key: str) -> Entry | None:
    items = gw.client.sync.v1.services(service_sid).sync_maps(map_name).sync_map_items
    found = _absent(lambda: call(lambda: items(key).fetch()))
    return None if found is None else Entry(key, found.revision, found.data or {})


def create_item(gw: Gateway, service_sid: str, map_name: str, key: str, data: JsonObject) -> Entry:
    """Raises SyncConflict if the key is taken."""
    items = gw.client.sync.v1.services(service_sid).sync_maps(map_name).sync_map_items
    made = _write(lambda: items.create(key=key, data=data))
    return Entry(key, made.revision, made.data or {})


def update_item(gw: Gateway, service_sid: str, map_name: str, key: str, data: JsonObject, *,
                revision: str) -> Entry:
    """Compare-and-set: raises SyncConflict unless the item is at `revision`."""
    item = gw.client.sync.v1.services(service_sid).sync_maps(map_name).sync_map_items(key)
    updated = _write(lambda: item.update(data=data, if_match=revision))
    return Entry(key, updated.revision, updated.data or {})


def _write(fn: Any) -> Any:
    """A named create or a compare-and-set update: safe to repeat (see the module docstring)."""
    try:
        return call(fn, idempotent=True)
    except TwilioApiError as error:
        if error.status in (409, 412):
            raise SyncConflict(str(error), status=error.status, code=error.code) from error
        raise


def _absent(fetch: Any) -> Any:
    """What `fetch` returns, or None when Twilio answers 404."""
    try:
        return fetch()
    except TwilioApiError as error:
        if error.status == 404:
            return None
        raise
