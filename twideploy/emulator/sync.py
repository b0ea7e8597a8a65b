"""Sync v1, the subset twideploy keeps its state in: Services, Documents, Maps and Map Items.

Sync's paths (`/v1/Services/...`) are Serverless's too, so Sync answers under its own prefix,
`/sync/v1/...`: the gateway rewrites `https://sync.twilio.com` to `<emulator>/sync` (and
every other Twilio host to `<emulator>`), so the host a request was meant for stays
distinguishable on one base URL.

Documents and Map Items carry a `revision` (a string, "0" when created, one more per update,
also sent as the ETag header). An update with `If-Match` other than the current revision is
refused with 412 (codes 54103 / 54205), which makes every update a compare-and-set; a second
Document with a taken unique name, or a second Item with a taken key, is a 409. Data is at
most 16 KiB of JSON, as on Twilio.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request

from twideploy.emulator import sids
from twideploy.emulator.store import Record
from twideploy.emulator.wire import (
    TwilioError,
    account,
    bad_param,
    json_response,
    no_content,
    not_found,
    now,
    page_of,
    paged,
    param,
    required,
    url,
)

PATH_PREFIX = "/sync"
"""Where Sync answers on the emulator's one base URL (see the module docstring)."""

bp = Blueprint("sync", __name__, url_prefix=f"{PATH_PREFIX}/v1/Services")

MAX_DATA_BYTES = 16 * 1024
MAX_KEY_LENGTH = 320
SERVICE, DOCUMENT, MAP = "IS", "ET", "MP"


def _base(*parts: str) -> str:
    return url(f"{PATH_PREFIX}/v1/Services/" + "/".join(parts))


def _stamp(fields: dict[str, Any]) -> dict[str, Any]:
    timestamp = now()
    return {"account_sid": account().sid, **fields, "date_created": timestamp, "date_updated": timestamp}


def _data() -> Any:
    """The `Data` parameter: a JSON value of at most 16 KiB."""
    raw = param("Data")
    if raw is None:
        return None
    if len(raw.encode()) > MAX_DATA_BYTES:
        raise TwilioError(413, 54006, f"Data is {len(raw.encode())} bytes; Sync allows at most {MAX_DATA_BYTES}")
    try:
        return json.loads(raw)
    except ValueError:
        raise bad_param("Data must be a JSON string") from None


def _check_revision(record: Record, code: int, what: str) -> None:
    """Compare-and-set: `If-Match`, when sent, must be the current revision."""
    expected = request.headers.get("If-Match")
    if expected is not None and expected.strip('"') != record["revision"]:
        raise TwilioError(412, code, f"The actual revision of the {what} ({record['revision']}) does not match "
                                     f"the expected revision ({expected})")


def _with_etag(body: dict[str, Any], status: int = 200) -> Response:
    return json_response(body, status, {"ETag": body["revision"]})


def _revise(record: Record, data: Any) -> Record:
    record.update(data=data, revision=str(int(record["revision"]) + 1), date_updated=now())
    return record


# Services: found by sid (Sync services have no unique name to create them with).


def render_service(r: Record) -> dict[str, Any]:
    base = _base(r["sid"])
    return {
        "sid": r["sid"], "unique_name": None, "account_sid": r["account_sid"], "friendly_name": r["friendly_name"],
        "date_created": r["date_created"], "date_updated": r["date_updated"], "url": base,
        "webhook_url": None, "webhooks_from_rest_enabled": False, "reachability_webhooks_enabled": False,
        "acl_enabled": r["acl_enabled"], "reachability_debouncing_enabled": False,
        "reachability_debouncing_window": 5000,
        "links": {name: f"{base}/{name.title()}" for name in ("documents", "lists", "maps", "streams")},
    }


def _service(sid: str) -> Record:
    service = account().get("sync_service", sid)
    if service is None:
        raise not_found()
    return service


@bp.post("")
def create_service() -> Response:
    acl = param("AclEnabled", choices=("true", "false", "True", "False"))
    record = _stamp({"sid": sids.new_sid(SERVICE), "friendly_name": param("FriendlyName", max_len=64),
                     "acl_enabled": (acl or "false").lower() == "true"})
    account().insert("sync_service", None, record)
    return json_response(render_service(record), 201)


@bp.get("")
def list_services() -> Response:
    return paged("services", "sync_service", None, render_service)


@bp.get("/<Sid>")
def fetch_service(Sid: str) -> Response:
    return json_response(render_service(_service(Sid)))


@bp.delete("/<Sid>")
def delete_service(Sid: str) -> Response:
    account().delete(_service(Sid)["sid"])
    return no_content()


# Documents and Maps: by sid or unique name; each stores its revision.


def _render_object(r: Record, kind: str, *links: str) -> dict[str, Any]:
    base = _base(r["service_sid"], kind, r["sid"])
    return {
        "sid": r["sid"], "unique_name": r["unique_name"], "account_sid": r["account_sid"],
        "service_sid": r["service_sid"], "url": base, "links": {name: f"{base}/{name.title()}" for name in links},
        "revision": r["revision"], "date_expires": None, "date_created": r["date_created"],
        "date_updated": r["date_updated"], "created_by": "system",
    }


def render_document(r: Record) -> dict[str, Any]:
    return {**_render_object(r, "Documents", "permissions"), "data": r["data"]}


def render_map(r: Record) -> dict[str, Any]:
    return _render_object(r, "Maps", "items", "permissions")


def _object(kind: str, service: Record, sid_or_name: str) -> Record:
    db = account()
    found = db.get(kind, sid_or_name, service["sid"]) or db.find(kind, service["sid"], unique_name=sid_or_name)
    if found is None:
        raise not_found()
    return found


def _create_object(kind: str, prefix: str, service: Record, **fields: Any) -> Record:
    unique_name = param("UniqueName", max_len=320)
    if unique_name and account().find(kind, service["sid"], unique_name=unique_name):
        raise TwilioError(409, 54301, f"Unique name {unique_name!r} already exists")
    record = _stamp({"sid": sids.new_sid(prefix), "unique_name": unique_name, "service_sid": service["sid"],
                     "revision": "0", **fields})
    account().insert(kind, service["sid"], record)
    return record


@bp.post("/<ServiceSid>/Documents")
def create_document(ServiceSid: str) -> Response:
    record = _create_object("sync_document", DOCUMENT, _service(ServiceSid), data=_data() or {})
    return _with_etag(render_document(record), 201)


@bp.post("/<ServiceSid>/Documents/<Sid>")
def update_document(ServiceSid: str, Sid: str) -> Response:
    document = _object("sync_document", _service(ServiceSid), Sid)
    _check_revision(document, 54103, "Document")
    data = _data()
    account().put(document["sid"], _revise(document, document["data"] if data is None else data))
    return _with_etag(render_document(document))


@bp.post("/<ServiceSid>/Maps")
def create_map(ServiceSid: str) -> Response:
    return _with_etag(render_map(_create_object("sync_map", MAP, _service(ServiceSid))), 201)


def _read_and_delete_routes(path: str, kind: str, key: str, render: Callable[[Record], dict[str, Any]]) -> None:
    """List, fetch and delete, alike for Documents and Maps."""

    def list_objects(ServiceSid: str) -> Response:
        return paged(key, kind, _service(ServiceSid)["sid"], render)

    def fetch_object(ServiceSid: str, Sid: str) -> Response:
        return _with_etag(render(_object(kind, _service(ServiceSid), Sid)))

    def delete_object(ServiceSid: str, Sid: str) -> Response:
        account().delete(_object(kind, _service(ServiceSid), Sid)["sid"])
        return no_content()

    bp.add_url_rule(f"/<ServiceSid>/{path}", f"list_{key}", list_objects, methods=["GET"])
    bp.add_url_rule(f"/<ServiceSid>/{path}/<Sid>", f"fetch_{key}", fetch_object, methods=["GET"])
    bp.add_url_rule(f"/<ServiceSid>/{path}/<Sid>", f"delete_{key}", delete_object, methods=["DELETE"])


_read_and_delete_routes("Documents", "sync_document", "documents", render_document)
_read_and_delete_routes("Maps", "sync_map", "maps", render_map)


# Map Items: keyed by their map and key, listed in key order.


def render_item(r: Record) -> dict[str, Any]:
    return {
        "key": r["key"], "account_sid": r["account_sid"], "service_sid": r["service_sid"], "map_sid": r["map_sid"],
        "url": _base(r["service_sid"], "Maps", r["map_sid"], "Items", r["key"]), "revision": r["revision"],
        "data": r["data"], "date_expires": None, "date_created": r["date_created"],
        "date_updated": r["date_updated"], "created_by": "system",
    }


def _map(service_sid: str, map_sid: str) -> Record:
    return _object("sync_map", _service(service_sid), map_sid)


def _item(sync_map: Record, key: str) -> Record:
    item = account().get("sync_map_item", f"{sync_map['sid']}/{key}", sync_map["sid"])
    if item is None:
        raise not_found()
    return item


@bp.post("/<ServiceSid>/Maps/<MapSid>/Items")
def create_item(ServiceSid: str, MapSid: str) -> Response:
    sync_map = _map(ServiceSid, MapSid)
    key = required("Key", max_len=MAX_KEY_LENGTH)
    data = _data()
    if data is None:
        raise bad_param("Missing required parameter Data in the post body")
    if account().get("sync_map_item", f"{sync_map['sid']}/{key}", sync_map["sid"]) is not None:
        raise TwilioError(409, 54208, f"An Item with key {key!r} already exists in this Map")
    record = _stamp({"key": key, "service_sid": sync_map["service_sid"], "map_sid": sync_map["sid"],
                     "revision": "0", "data": data})
    account().insert("sync_map_item", sync_map["sid"], record, key=f"{sync_map['sid']}/{key}")
    return _with_etag(render_item(record), 201)


@bp.get("/<ServiceSid>/Maps/<MapSid>/Items")
def list_items(ServiceSid: str, MapSid: str) -> Response:
    sync_map = _map(ServiceSid, MapSid)
    order = param_query("Order", ("asc", "desc")) or "asc"
    bounds = param_query("Bounds", ("inclusive", "exclusive")) or "inclusive"
    start = request.args.get("From")
    items = sorted(account().select("sync_map_item", sync_map["sid"]), key=lambda r: r["key"],
                   reverse=order == "desc")
    if start is not None:
        def after(key: str) -> bool:
            return key == start and bounds == "inclusive" or (key > start if order == "asc" else key < start)
        items = [r for r in items if after(r["key"])]
    filters = {name: value for name in ("Order", "From", "Bounds") if (value := request.args.get(name))}
    return page_of("items", lambda offset, limit: items[offset:offset + limit], render_item, filters=filters)


def param_query(name: str, choices: tuple[str, ...]) -> str | None:
    value = request.args.get(name)
    if value is not None and value not in choices:
        raise bad_param(f"Invalid value for {name}: {value!r}; expected one of {', '.join(choices)}")
    return value


@bp.get("/<ServiceSid>/Maps/<MapSid>/Items/<Key>")
def fetch_item(ServiceSid: str, MapSid: str, Key: str) -> Response:
    return _with_etag(render_item(_item(_map(ServiceSid, MapSid), Key)))


@bp.post("/<ServiceSid>/Maps/<MapSid>/Items/<Key>")
def update_item(ServiceSid: str, MapSid: str, Key: str) -> Response:
    sync_map = _map(ServiceSid, MapSid)
    item = _item(sync_map, Key)
    _check_revision(item, 54205, "Map Item")
    data = _data()
    account().put(f"{sync_map['sid']}/{Key}", _revise(item, item["data"] if data is None else data))
    return _with_etag(render_item(item))


@bp.delete("/<ServiceSid>/Maps/<MapSid>/Items/<Key>")
def delete_item(ServiceSid: str, MapSid: str, Key: str) -> Response:
    sync_map = _map(ServiceSid, MapSid)
    account().delete(f"{sync_map['sid']}/{_item(sync_map, Key)['key']}")
    return no_content()
