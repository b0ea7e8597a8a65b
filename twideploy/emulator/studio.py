"""Studio v2: Flows with revisions, Revisions, Validate, Test Users, Executions (always empty).

A flow keeps its current revision's fields; every revision is also stored on its own
(`FWxxx/N`), so earlier definitions can be read back (listed newest first). A new revision
is made when the definition or the status changes; other updates change the flow in place.

Drafts, as Twilio documents them:
- "Fetching the parent Flow resource will always return the latest Flow Revision"
  (twilio.com/docs/studio/rest-api/v2/flow-revision): after an update with `Status=draft`
  the flow answers the draft's status, revision number and definition.
- "the latest Revision and latest published Revision can be fetched using the magic
  identifiers LatestPublished and LatestRevision in place of an integer" (same page; error
  81021 names them): `/Revisions/LatestPublished` is how the definition that callers run
  is read while a draft is the latest revision.
- The Revisions list carries each revision's `status`, and no definition: the spec's list
  example (twilio_studio_v2.json, ListFlowRevision) has `"definition": null`.
- "Test Users are the contact addresses (e.g. phone numbers, Chat identities) who can test
  the latest drafts of a Flow even if they aren't yet published. [...] Each Test User
  identity can be up to 300 bytes" (twilio.com/docs/studio/rest-api/v2/test-user):
  `GET/POST /v2/Flows/{Sid}/TestUsers`, the list replaced whole. `reached_revision` is who
  runs what: a test user the latest revision, everyone else the latest published one.
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
    list_param,
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
MAX_TEST_USER_BYTES = 300

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


def console_edit(db: Account, flow_sid: str, definition: dict[str, Any], commit_message: str = "",
                 status: str = "published") -> int:
    """Change a flow as a person in the Twilio console would: a new revision, published or
    (the console's "Save" without "Publish") a draft."""
    with db.store.transaction():
        flow = db.get("flow", flow_sid)
        if flow is None:
            raise TwilioError(404, 20404, f"Flow {flow_sid} was not found")
        errors = definition_errors(definition)
        if errors:
            raise TwilioError(400, 20001, "Invalid Flow Definition", details={"errors": errors})
        console_user = sids.stable_sid(sids.USER, db.sid, "console-user")
        return _commit_revision(
            db, flow, definition=definition, status=status,
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
    return paged("revisions", "flow_revision", Sid, lambda rev: {**render_revision(rev), "definition": None},
                 newest_first=True)


@bp.get("/Flows/<Sid>/Revisions/<Revision>")
def fetch_revision(Sid: str, Revision: str) -> Response:
    """`Revision` is a number, `LatestRevision` or `LatestPublished`."""
    db = account()
    flow = _flow(Sid)
    if Revision == "LatestRevision":
        number = flow["revision"]
    elif Revision == "LatestPublished":
        number = _latest_published(db, Sid)
        if number is None:
            raise not_found()
    elif Revision.isdigit():
        number = int(Revision)
    else:
        raise not_found()
    rev = db.get("flow_revision", f"{Sid}/{number}", Sid)
    if rev is None:
        raise not_found()
    return json_response(render_revision(rev))


def _latest_published(db: Account, flow_sid: str) -> int | None:
    published = db.select("flow_revision", flow_sid, equal={"status": "published"}, limit=1, newest_first=True)
    return published[0]["revision"] if published else None


def _test_users(db: Account, flow_sid: str) -> list[str]:
    record = db.get("flow_test_users", f"{flow_sid}/TestUsers", flow_sid)
    return list(record["test_users"]) if record else []


def _render_test_users(flow_sid: str, test_users: list[str]) -> dict[str, Any]:
    return {"sid": flow_sid, "test_users": test_users, "url": f"{_flow_url(flow_sid)}/TestUsers"}


@bp.get("/Flows/<Sid>/TestUsers")
def fetch_test_users(Sid: str) -> Response:
    _flow(Sid)
    return json_response(_render_test_users(Sid, _test_users(account(), Sid)))


@bp.post("/Flows/<Sid>/TestUsers")
def update_test_users(Sid: str) -> Response:
    """The list is replaced whole. Form encoding cannot say "an empty list" other than by sending
    no `TestUsers` at all (the SDK's `update(test_users=[])` does that), so that empties it."""
    db = account()
    _flow(Sid)
    test_users = list_param("TestUsers")
    for user in test_users:
        if not user or len(user.encode()) > MAX_TEST_USER_BYTES:
            raise bad_param(f"Invalid TestUsers entry {user[:40]!r}: 1 to {MAX_TEST_USER_BYTES} bytes")
    key = f"{Sid}/TestUsers"
    with db.store.transaction():
        if db.get("flow_test_users", key, Sid) is None:
            db.insert("flow_test_users", Sid, {"test_users": test_users}, key=key)
        else:
            db.put(key, {"test_users": test_users})
    return json_response(_render_test_users(Sid, test_users))


def reached_revision(db: Account, flow_sid: str, caller: str) -> Record:
    """The revision a call or message from `caller` runs: a test user runs the latest revision
    (a draft, when there is one), everyone else the latest published one."""
    flow = db.get("flow", flow_sid)
    if flow is None:
        raise TwilioError(404, 20404, f"Flow {flow_sid} was not found")
    number = flow["revision"] if caller in _test_users(db, flow_sid) else _latest_published(db, flow_sid)
    rev = db.get("flow_revision", f"{flow_sid}/{number}", flow_sid) if number is not None else None
    if rev is None:
        raise TwilioError(404, 20404, f"Flow {flow_sid} has no published revision for {caller} to run")
    return rev


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
