"""Twilio's wire conventions, shared by the API modules.

Error bodies, date formats, form-encoded parameters, resource URLs and the two paging
shapes (`meta` in v1/v2, top-level `*_page_uri` fields in Api v2010), plus the state every
request handler works on.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Response, current_app, g, request

from twideploy.emulator.faults import FaultInjector
from twideploy.emulator.store import Account, Record, Store

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


class RequestStats:
    """Counts of API requests received (admin requests are not counted)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def count(self, *names: str) -> None:
        with self._lock:
            self._counts.update(names)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            counts = dict(self._counts)

        def group(prefix: str) -> dict[str, int]:
            return {k.split(":", 1)[1]: v for k, v in sorted(counts.items()) if k.startswith(prefix)}
        by_method = group("method:")
        return {
            "total": sum(by_method.values()),
            "writes": by_method.get("POST", 0) + by_method.get("DELETE", 0),
            "by_method": by_method,
            "by_status": group("status:"),
            "faults": group("fault:"),
            "by_route": group("route:"),  # "GET /v2/Flows/<Sid>": how often each endpoint was asked
        }


@dataclass
class EmulatorState:
    """Everything a request handler needs; one per app (`app.extensions["twilio_emulator"]`).

    Any account SID authenticates with `auth_token` and gets its own isolated account;
    `account_sid` is the default one, which API keys and admin requests act for.
    """

    store: Store
    account_sid: str
    auth_token: str
    api_keys: dict[str, str] = field(default_factory=dict)
    faults: FaultInjector = field(default_factory=FaultInjector)
    stats: RequestStats = field(default_factory=RequestStats)


def state() -> EmulatorState:
    return current_app.extensions["twilio_emulator"]


def account() -> Account:
    """The account the current request acts for (set when it was authenticated)."""
    return Account(state().store, g.account_sid)


class TwilioError(Exception):
    """An error answered in Twilio's shape: {"code", "message", "more_info", "status"}."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        details: Any = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.details = details

    def response(self) -> Response:
        body: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }
        if self.details is not None:
            body["details"] = self.details
        return json_response(body, self.status, self.headers)


def not_found() -> TwilioError:
    return TwilioError(404, 20404, f"The requested resource {request.path} was not found")


def bad_param(message: str) -> TwilioError:
    return TwilioError(400, 20001, message)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers, mimetype="application/json")


def no_content() -> Response:
    return Response(status=204)


# Dates: ISO 8601 in v1/v2, RFC 2822 in Api v2010. Stored as ISO 8601.


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc2822(iso: str) -> str:
    moment = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ")
    return moment.strftime("%a, %d %b %Y %H:%M:%S +0000")


# Form-encoded parameters (repeated keys for lists).


def param(
    name: str, *, required: bool = False, choices: tuple[str, ...] | None = None, max_len: int | None = None
) -> str | None:
    value = request.form.get(name)
    if value is None:
        if required:
            raise bad_param(f"Missing required parameter {name} in the post body")
        return None
    if choices is not None and value not in choices:
        raise bad_param(f"Invalid value for {name}: {value!r}; expected one of {', '.join(choices)}")
    if max_len is not None and len(value) > max_len:
        raise bad_param(f"{name} must be at most {max_len} characters")
    return value


def required(name: str, **kwargs: Any) -> str:
    value = param(name, required=True, **kwargs)
    assert value is not None
    return value


def bool_param(name: str) -> bool | None:
    value = request.form.get(name)
    if value is None:
        return None
    if value.lower() not in ("true", "false"):
        raise bad_param(f"Invalid value for {name}: {value!r}; expected true or false")
    return value.lower() == "true"


def list_param(name: str) -> list[str]:
    return request.form.getlist(name)


# Resource URLs point at the emulator itself, so paging and `url` fields work for any client.


def url(path: str) -> str:
    return request.host_url.rstrip("/") + path


# Paging.


def _page_window() -> tuple[int, int, int]:
    """(page, page_size, offset) from Page, PageSize and PageToken (`PT<offset>`)."""
    try:
        size = int(request.args.get("PageSize", DEFAULT_PAGE_SIZE))
        page = int(request.args.get("Page", 0))
    except ValueError:
        raise bad_param("Page and PageSize must be integers") from None
    if size < 1 or page < 0:
        raise bad_param("PageSize must be at least 1 and Page at least 0")
    size = min(size, MAX_PAGE_SIZE)
    offset = page * size
    token = request.args.get("PageToken")
    if token is not None:
        if not (token.startswith("PT") and token[2:].isdigit()):
            raise bad_param(f"Invalid PageToken {token!r}")
        offset = int(token[2:])
    return page, size, offset


def _page_query(page: int, size: int, offset: int | None, filters: dict[str, str]) -> str:
    query = {**filters, "PageSize": size, "Page": page}
    if offset is not None:
        query["PageToken"] = f"PT{offset}"
    return "?" + urlencode(query)


def paged(
    key: str,
    kind: str,
    parent: str | None,
    render: Callable[[Record], dict[str, Any]],
    *,
    equal: dict[str, Any] | None = None,
    glob: dict[str, str] | None = None,
    filters: dict[str, str] | None = None,
    newest_first: bool = False,
) -> Response:
    """A v1/v2 list page of stored records: `{key: [...], "meta": {...}}`; `filters` are echoed into page URLs."""
    return page_of(key, lambda offset, limit: account().select(kind, parent, equal=equal, glob=glob, offset=offset,
                                                                 limit=limit, newest_first=newest_first),
                   render, filters=filters)


def page_of(
    key: str,
    window: Callable[[int, int], list[Record]],
    render: Callable[[Record], dict[str, Any]],
    *,
    filters: dict[str, str] | None = None,
) -> Response:
    """A v1/v2 list page of the records `window(offset, limit)` returns (for orders the store has no index for)."""
    page, size, offset = _page_window()
    records = window(offset, size + 1)
    has_next = len(records) > size
    base = url(request.path)
    filters = filters or {}
    meta = {
        "page": page,
        "page_size": size,
        "first_page_url": base + _page_query(0, size, None, filters),
        "previous_page_url": (
            base + _page_query(page - 1, size, max(offset - size, 0), filters) if offset > 0 else None
        ),
        "url": base + _page_query(page, size, None, filters),
        "next_page_url": base + _page_query(page + 1, size, offset + size, filters) if has_next else None,
        "key": key,
    }
    return json_response({key: [render(r) for r in records[:size]], "meta": meta})


def paged_v2010(
    key: str,
    kind: str,
    render: Callable[[Record], dict[str, Any]],
    *,
    equal: dict[str, Any] | None = None,
    glob: dict[str, str] | None = None,
    filters: dict[str, str] | None = None,
) -> Response:
    """An Api v2010 list page: the records under `key` and relative `*_page_uri` fields."""
    page, size, offset = _page_window()
    records = account().select(kind, None, equal=equal, glob=glob, offset=offset, limit=size + 1)
    has_next = len(records) > size
    shown = records[:size]
    filters = filters or {}
    body = {
        key: [render(r) for r in shown],
        "page": page,
        "page_size": size,
        "start": offset,
        "end": offset + max(len(shown) - 1, 0),
        "uri": request.path + _page_query(page, size, None, filters),
        "first_page_uri": request.path + _page_query(0, size, None, filters),
        "previous_page_uri": (
            request.path + _page_query(page - 1, size, max(offset - size, 0), filters) if offset > 0 else None
        ),
        "next_page_uri": request.path + _page_query(page + 1, size, offset + size, filters) if has_next else None,
    }
    return json_response(body)

