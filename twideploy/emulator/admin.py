"""Admin endpoints under `/_admin/`: not authenticated by Twilio credentials, never faulted.

    GET  /_admin/faults                          the fault configuration now
    POST /_admin/faults   {FaultConfig fields}   replace it ({} clears every fault)
    POST /_admin/numbers  ["+15005550006", ...]  seed numbers -> {"+15005550006": "PN..."}
                          (or {"numbers": [...], "account_sid": "AC..."})
    POST /_admin/flows/{FlowSid}/console-edit    {"definition": {...}, "commit_message": "...",
                                                  "status": "published"|"draft", "account_sid": "AC..."}
                                                 -> {"sid": "FW...", "revision": N}
    GET  /_admin/flows/{FlowSid}/reached?from=A  the revision a call or message from A runs
                                                 (a Test User: the latest; others: the latest
                                                 published) -> {revision, status, definition}
    GET  /_admin/versions/{VersionSid}/content   the bytes a function or asset version holds
                                                 (Twilio has no API for an asset's content;
                                                 checks that compare builds need it)
    POST /_admin/reset                           wipe all state and request counts
    GET  /_admin/stats                           request counts (by method, status, fault, route)

`account_sid` is optional: the emulator's default account when absent.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from twideploy.emulator import api2010, sids, studio
from twideploy.emulator.faults import FaultConfig
from twideploy.emulator.store import Account
from twideploy.emulator.wire import bad_param, json_response, not_found, state

bp = Blueprint("admin", __name__, url_prefix="/_admin")


def _json_body() -> Any:
    body = request.get_json(silent=True)
    if body is None:
        raise bad_param("Expected a JSON body")
    return body


def _account_for(body: Any) -> Account:
    sid = body.get("account_sid") if isinstance(body, dict) else None
    if sid is None:
        return Account(state().store, state().account_sid)
    if not isinstance(sid, str) or not sids.ACCOUNT_SID.match(sid):
        raise bad_param(f"Invalid account_sid {sid!r}")
    return Account(state().store, sid)


@bp.get("/faults")
def get_faults() -> Response:
    return json_response(state().faults.current().to_dict())


@bp.post("/faults")
def set_faults() -> Response:
    body = _json_body()
    if not isinstance(body, dict):
        raise bad_param("Expected a JSON object of fault settings")
    try:
        config = FaultConfig.from_dict(body)
    except (TypeError, ValueError) as e:
        raise bad_param(f"Invalid fault configuration: {e}") from None
    state().faults.configure(config)
    return json_response(config.to_dict())


@bp.post("/numbers")
def seed_numbers() -> Response:
    body = _json_body()
    numbers = body.get("numbers") if isinstance(body, dict) else body
    if not isinstance(numbers, list):
        raise bad_param("Expected a JSON list of E.164 phone numbers")
    return json_response(api2010.seed_numbers(_account_for(body), numbers))


@bp.post("/flows/<FlowSid>/console-edit")
def console_edit(FlowSid: str) -> Response:
    body = _json_body()
    if not isinstance(body, dict) or "definition" not in body:
        raise bad_param('Expected {"definition": {...}, "commit_message": "..."}')
    commit_message = body.get("commit_message") or ""
    if not isinstance(commit_message, str):
        raise bad_param("commit_message must be a string")
    status = body.get("status", "published")
    if status not in studio.STATUSES:
        raise bad_param(f"status must be one of {', '.join(studio.STATUSES)}")
    revision = studio.console_edit(_account_for(body), FlowSid, body["definition"], commit_message, status)
    return json_response({"sid": FlowSid, "revision": revision})


@bp.get("/flows/<FlowSid>/reached")
def reached(FlowSid: str) -> Response:
    """What a call or message from `?from=ADDRESS` runs: {revision, status, definition}."""
    caller = request.args.get("from")
    if not caller:
        raise bad_param("Expected ?from=ADDRESS (a phone number or client:identity)")
    rev = studio.reached_revision(_account_for(request.args.to_dict()), FlowSid, caller)
    return json_response({"revision": rev["revision"], "status": rev["status"], "definition": rev["definition"]})


@bp.get("/versions/<VersionSid>/content")
def version_content(VersionSid: str) -> Response:
    body = state().store.get_blob(VersionSid)
    if body is None:
        raise not_found()
    return Response(body, mimetype="application/octet-stream")


@bp.post("/reset")
def reset() -> Response:
    s = state()
    s.store.wipe()
    s.stats.reset()
    return json_response({"reset": True})


@bp.get("/stats")
def stats() -> Response:
    return json_response(state().stats.snapshot())
