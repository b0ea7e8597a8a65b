"""Studio v2: flows, their revisions and Studio's own validation, as typed records."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from twideploy.state.journal import JsonObject
from twideploy.twilio_api.gateway import Gateway, call


@dataclass
class Flow:
    """A flow as Twilio answers. `definition` is None in a list (Twilio lists none)."""

    sid: str
    friendly_name: str
    status: str
    revision: int
    definition: JsonObject | None
    commit_message: str | None
    webhook_url: str
    date_updated: str = ""


@dataclass
class Revision:
    revision: int
    status: str
    definition: JsonObject
    commit_message: str | None
    date_updated: str = ""
    author_sid: str | None = None


def list_flows(gw: Gateway) -> list[Flow]:
    return [_flow(r) for r in gw.list_all(gw.client.studio.v2.flows)]


def fetch_flow(gw: Gateway, sid: str) -> Flow:
    return _flow(call(lambda: gw.client.studio.v2.flows(sid).fetch()))


def create_flow(gw: Gateway, *, friendly_name: str, status: str, definition: JsonObject,
                commit_message: str) -> Flow:
    return _flow(call(lambda: gw.client.studio.v2.flows.create(
        friendly_name=friendly_name, status=status, definition=definition, commit_message=commit_message)))


def update_flow(gw: Gateway, sid: str, *, status: str, definition: JsonObject, commit_message: str,
                friendly_name: str | None = None) -> Flow:
    """A new revision (an update with the same content is safe to retry)."""
    named = {"friendly_name": friendly_name} if friendly_name is not None else {}
    return _flow(call(lambda: gw.client.studio.v2.flows(sid).update(
        status=status, definition=definition, commit_message=commit_message, **named), idempotent=True))


def delete_flow(gw: Gateway, sid: str) -> None:
    call(lambda: gw.client.studio.v2.flows(sid).delete())


def validate_flow(gw: Gateway, *, friendly_name: str, status: str, definition: JsonObject) -> None:
    """Studio's verdict on a definition (it changes nothing, so it is retried like a read)."""
    call(lambda: gw.client.studio.v2.flow_validate.update(
        friendly_name=friendly_name, status=status, definition=definition), idempotent=True)


#: Studio's name for the revision callers run while a draft is the latest (`fetch_revision`).
LATEST_PUBLISHED = "LatestPublished"


def fetch_revision(gw: Gateway, sid: str, number: int | str) -> Revision:
    """Revision `number`, or `LATEST_PUBLISHED` (Studio's magic identifier)."""
    return _revision(call(lambda: gw.client.studio.v2.flows(sid).revisions(str(number)).fetch()))


def fetch_test_users(gw: Gateway, sid: str) -> list[str]:
    """Who reaches the flow's latest draft instead of its published revision."""
    return list(call(lambda: gw.client.studio.v2.flows(sid).test_users().fetch()).test_users or [])


def update_test_users(gw: Gateway, sid: str, test_users: list[str]) -> list[str]:
    """Replace the flow's Test Users (an absolute state: safe to retry)."""
    return list(call(lambda: gw.client.studio.v2.flows(sid).test_users().update(test_users=test_users),
                     idempotent=True).test_users or [])


def list_revisions(gw: Gateway, sid: str) -> list[Revision]:
    return [_revision(r) for r in gw.list_all(gw.client.studio.v2.flows(sid).revisions)]


def _definition(value: Any) -> JsonObject | None:
    return json.loads(value) if isinstance(value, str) else value


def _flow(record: Any) -> Flow:
    return Flow(record.sid, record.friendly_name, record.status, record.revision, _definition(record.definition),
                record.commit_message, record.webhook_url, str(record.date_updated or ""))


def _revision(record: Any) -> Revision:
    return Revision(record.revision, record.status, _definition(record.definition) or {}, record.commit_message,
                    str(record.date_updated or ""), getattr(record, "author_sid", None))
