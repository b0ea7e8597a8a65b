"""Studio v2: Flows with revisions, Revisions, Validate, Executions (always empty).

A flow keeps its current revision's fields; every revision is also stored on its own
(`FWxxx/N`), so earlier definitions can be read back (listed newest first). A new revision
is made when the definition or the status changes; other updates change the flow in place.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response

from twideploy.emulator import sids
from twideploy.emulator.store import Account, Record
from twideploy.emulator.wire import (
    TwilioError,
    account,
    bad_param,
    json_response,
    no_content,
    not_found,
    now,
    paged,
    param,
    required,
    url,
)
from twideploy.manifest.widgets import STUDIO_TYPES

bp = Blueprint("studio", __name__, url_prefix="/v2")

STATUSES = ("draft", "published")

# Widget types Studio accepts in a definition: those of Twilio's flow-definition schema.
WIDGET_TYPES = frozenset(STUDIO_TYPES)


def definition_errors(definition: Any) -> list[dict[str, str]]:
    """Studio's structural checks, each error as {"message", "property_path"}."""
    errors: list[dict[str, str]] = []

    def error(path: str, message: str) -> None:
        errors.append({"message": message, "property_path": path})

    if not isinstance(definition, dict):
        error("#/", "the definition must be a JSON object")
        return errors
    states = definition.get("states")
    if not isinstance(states, list):
        error("#/states", "the definition must have a 'states' list")
        states = []
    initial = definition.get("initial_state")
    if not isinstance(initial, str) or not initial:
        error("#/initial_state", "the definition must name its 'initial_state'")

    by_name: dict[str, dict[str, Any]] = {}
    triggers = 0
    for i, widget in enumerate(states):
        path = f"#/states/{i}"
        if not isinstance(widget, dict):
            error(path, "a state must be a JSON object")
            continue
        name = widget.get("name")
        if not isinstance(name, str) or not name:
            error(f"{path}/name", "a state must have a name")
        elif name in by_name:
            error(f"{path}/name", f"state name {name!r} is used more than once")
        else:
            by_name[name] = widget
        kind = widget.get("type")
        if kind not in WIDGET_TYPES:
            error(f"{path}/type", f"unknown widget type {kind!r}")
        triggers += kind == "trigger"
        if not isinstance(widget.get("properties", {}), dict):
            error(f"{path}/properties", "properties must be a JSON object")
        if not isinstance(widget.get("transitions", []), list):
            error(f"{path}/transitions", "transitions must be a list")

    for i, widget in enumerate(states):
        if not isinstance(widget, dict) or not isinstance(widget.get("transitions", []), list):
            continue
        for j, transition in enumerate(widget.get("transitions", [])):
            path = f"#/states/{i}/transitions/{j}"
            if not isinstance(transition, dict) or not isinstance(transition.get("event"), str):
                error(path, "a transition must be an object with an 'event'")
                continue
            target = transition.get("next")
            if target is not None and target not in by_name:
                error(f"{path}/next", f"transition to unknown state {target!r}")

    if triggers != 1:
        error("#/states", f"a flow must have exactly one state of type 'trigger', found {triggers}")
    if isinstance(initial, str) and initial:
        if initial not in by_name:
            error("#/initial_state", f"initial_state {initial!r} is not one of the states")
        elif by_name[initial].get("type") != "trigger":
            error("#/initial_state", f"initial_state {initial!r} must be the trigger")
    return errors


def _checked_definition(raw: str) -> dict[str, Any]:
    try:
        definition = json.loads(raw)
    except json.JSONDecodeError as e:
        raise bad_param(f"Invalid Definition: not valid JSON ({e})") from None
    errors = definition_errors(definition)
    if errors:
        details = "; ".join(f"{e['property_path']}: {e['message']}" for e in errors)
        raise TwilioError(400, 20001, f"Invalid Flow Definition: {details}", details={"errors": errors})
    return definition


def _flow_url(sid: str) -> str:
    return url(f"/v2/Flows/{sid}")


def render_flow(flow: Record) -> dict[str, Any]:
    base = _flow_url(flow["sid"])
    return {
        "sid": flow["sid"],
        "account_sid": flow["account_sid"],
        "author_sid": flow["author_sid"],
        "friendly_name": flow["friendly_name"],
        "definition": flow["definition"],
        "status": flow["status"],
        "revision": flow["revision"],
        "commit_message": flow["commit_message"],
        "valid": True,
        "errors": [],
        "warnings": [],
        "date_created": flow["date_created"],
        "date_updated": flow["date_updated"],
        "webhook_url": f"https://webhooks.twilio.com/v1/Accounts/{flow['account_sid']}/Flows/{flow['sid']}",
        "url": base,
        "links": {
            "test_users": f"{base}/TestUsers",
            "revisions": f"{base}/Revisions",
            "executions": f"{base}/Executions",
        },
    }


def render_revision(rev: Record) -> dict[str, Any]:
    return {
        "sid": rev["sid"],
        "account_sid": rev["account_sid"],
        "author_sid": rev["author_sid"],
        "friendly_name": rev["friendly_name"],
        "definition": rev["definition"],
        "status": rev["status"],
        "revision": rev["revision"],
        "commit_message": rev["commit_message"],
        "valid": True,
        "errors": [],
        "date_created": rev["date_created"],
        "date_updated": rev["date_updated"],
        "url": f"{_flow_url(rev['sid'])}/Revisions/{rev['revision']}",
    }


def _commit_revision(
    db: Account, flow: Record, *, definition: dict[str, Any], status: str,
    commit_message: str | None, author_sid: str | None,
) -> int:
    timestamp = now()
    flow.update(
        definition=definition,
        status=status,
        revision=flow["revision"] + 1,
        commit_message=commit_message,
        author_sid=author_sid,
        date_updated=timestamp,
    )
    if flow["revision"] == 1:
        flow["date_created"] = timestamp
        db.insert("flow", None, flow)
    else:
        db.put(flow["sid"], flow)
    db.insert("flow_revision", flow["sid"], dict(flow), key=f"{flow['sid']}/{flow['revision']}")
    return flow["revision"]


def console_edit(db: Account, flow_sid: str, definition: dict[str, Any], commit_message: str = "") -> int:
    """Change a flow as a person publishing in the Twilio console would: a new revision."""
    with db.store.transaction():
        flow = db.get("flow", flow_sid)
        if flow is None:
            raise TwilioError(404, 20404, f"Flow {flow_sid} was not found")
        errors = definition_errors(definition)
        if errors:
            raise TwilioError(400, 20001, "Invalid Flow Definition", details={"errors": errors})
        console_user = sids.stable_sid(sids.USER, db.sid, "console-user")
        return _commit_revision(
            db, flow, definition=definition, status="published",
            commit_message=commit_message, author_sid=console_user,
        )


def _flow(sid: str) -> Record:
    flow = account().get("flow", sid)
    if flow is None:
        raise not_found()
    return flow


def _author_sid() -> str | None:
    author = param("AuthorSid")
    if author is not None and not (author.startswith(sids.USER) and len(author) == 34):
        raise bad_param(f"Invalid AuthorSid {author!r}")
    return author


@bp.post("/Flows")
def create_flow() -> Response:
    db = account()
    friendly_name = required("FriendlyName")
    status = required("Status", choices=STATUSES)
    definition = _checked_definition(required("Definition"))
    flow = {
        "sid": sids.new_sid(sids.FLOW),
        "account_sid": db.sid,
        "friendly_name": friendly_name,
        "revision": 0,
    }
    _commit_revision(
        db, flow, definition=definition, status=status,
        commit_message=param("CommitMessage"), author_sid=_author_sid(),
    )
    return json_response(render_flow(flow), 201)


@bp.get("/Flows")
def list_flows() -> Response:
    # As Twilio documents: "Flow definitions are null in the Flows List Resource".
    return paged("flows", "flow", None, lambda flow: {**render_flow(flow), "definition": None})


@bp.get("/Flows/<Sid>")
def fetch_flow(Sid: str) -> Response:
    return json_response(render_flow(_flow(Sid)))


@bp.post("/Flows/<Sid>")
def update_flow(Sid: str) -> Response:
    db = account()
    flow = _flow(Sid)
    status = required("Status", choices=STATUSES)
    raw = param("Definition")
    definition = flow["definition"] if raw is None else _checked_definition(raw)
    friendly_name = param("FriendlyName")
    if friendly_name is not None:
        flow["friendly_name"] = friendly_name
    if definition != flow["definition"] or status != flow["status"]:
        _commit_revision(
            db, flow, definition=definition, status=status,
            commit_message=param("CommitMessage"), author_sid=_author_sid(),
        )
    else:
        flow["date_updated"] = now()
        db.put(Sid, flow)
    return json_response(render_flow(flow))


@bp.delete("/Flows/<Sid>")
def delete_flow(Sid: str) -> Response:
    _flow(Sid)
    account().delete(Sid)
    return no_content()


@bp.get("/Flows/<Sid>/Revisions")
def list_revisions(Sid: str) -> Response:
    _flow(Sid)
    return paged("revisions", "flow_revision", Sid, render_revision, newest_first=True)


@bp.get("/Flows/<Sid>/Revisions/<Revision>")
def fetch_revision(Sid: str, Revision: str) -> Response:
    """`Revision` is a number, `LatestRevision` or `LatestPublished`."""
    db = account()
    flow = _flow(Sid)
    if Revision == "LatestRevision":
        number = flow["revision"]
    elif Revision == "LatestPublished":
        published = db.select("flow_revision", Sid, equal={"status": "published"}, limit=1, newest_first=True)
        if not published:
            raise not_found()
        number = published[0]["revision"]
    elif Revision.isdigit():
        number = int(Revision)
    else:
        raise not_found()
    rev = db.get("flow_revision", f"{Sid}/{number}", Sid)
    if rev is None:
        raise not_found()
    return json_response(render_revision(rev))


@bp.post("/Flows/Validate")
def validate_flow() -> Response:
    required("FriendlyName")
    required("Status", choices=STATUSES)
    _checked_definition(required("Definition"))
    return json_response({"valid": True})


@bp.get("/Flows/<FlowSid>/Executions")
def list_executions(FlowSid: str) -> Response:
    _flow(FlowSid)
    return paged("executions", "execution", FlowSid, lambda execution: execution)
