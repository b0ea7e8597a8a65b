"""The Flask app: every API on one base URL, routed by path alone (Sync under `/sync`, see emulator.sync).

Each API request goes through, in order: counting, the account's concurrency limit (a 429
when `max_in_flight` are being served), fault injection (delay, then maybe a dropped
connection, 429, 5xx or the failing Nth write), Basic auth, then its handler inside one store
transaction, then (for a lost response) a connection closed after the handler has committed.
`/_admin/` requests skip counting, faults and Twilio credentials.
"""

from __future__ import annotations

import hmac
import logging
import socket
import time

from flask import Flask, Response, g, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from twideploy.emulator import admin, api2010, serverless, sids, studio, sync
from twideploy.emulator.wire import EmulatorState, TwilioError, not_found, state

_log = logging.getLogger(__name__)


class _TransactionalFlask(Flask):
    def dispatch_request(self) -> ResponseReturnValue:
        """Run each handler in one transaction: its checks and writes are atomic."""
        with state().store.transaction():
            return super().dispatch_request()


def create_app(emulator_state: EmulatorState) -> Flask:
    app = _TransactionalFlask(__name__, static_folder=None)
    app.extensions["twilio_emulator"] = emulator_state
    for blueprint in (studio.bp, serverless.bp, sync.bp, api2010.bp, admin.bp):
        app.register_blueprint(blueprint)
    app.before_request(_before_api_request)
    app.after_request(_count_status)
    app.teardown_request(_leave)
    app.register_error_handler(TwilioError, lambda e: e.response())
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def _is_admin() -> bool:
    return request.path.startswith("/_admin/")


def _before_api_request() -> Response | None:
    s = state()
    if _is_admin():
        g.account_sid = s.account_sid
        return None
    s.stats.count(f"method:{request.method}", f"route:{request.method} {_route()}")
    refused = s.faults.admit()
    g.admitted = refused is None
    fields = "&".join(f"{key}={value}" for key, value in request.form.items(multi=True))
    outcome = refused or s.faults.decide(request.method, f"{request.method} {request.path} {fields}")
    if outcome.delay_s:
        time.sleep(outcome.delay_s)
    if outcome.fault is not None:
        s.stats.count(f"fault:{outcome.fault}")
    if outcome.fault == "drop":
        # Close the connection without answering: clients see a ConnectionError.
        request.environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
        g.dropped = True
        return Response(status=500)  # never sent
    if outcome.fault in ("429", "max_in_flight"):
        retry_after = outcome.retry_after_s
        header = str(int(retry_after)) if retry_after == int(retry_after) else str(retry_after)
        raise TwilioError(429, 20429, "Too Many Requests", headers={"Retry-After": header})
    if outcome.fault in ("500", "nth_write"):
        raise TwilioError(500, 20500, "Internal Server Error")
    if outcome.fault == "503":
        raise TwilioError(503, 20503, "Service Unavailable")
    g.lose_response = outcome.fault == "lost_response"
    _authenticate(s)
    return None


def _route() -> str:
    """The request's endpoint as the app routes it (`/v2/Flows/<Sid>`), for the stats."""
    return request.url_rule.rule if request.url_rule is not None else "(no route)"


def _leave(error: BaseException | None) -> None:
    if g.get("admitted"):
        state().faults.leave()


def _authenticate(s: EmulatorState) -> None:
    """HTTP Basic: an account sid and the auth token, or an API key sid and its secret.

    Any well-formed account sid is accepted with the auth token, as its own account; API
    keys act for the default account.
    """
    auth = request.authorization
    if auth is not None and auth.type == "basic" and auth.username and auth.password is not None:
        expected: str | None
        if sids.ACCOUNT_SID.match(auth.username):
            expected, account_sid = s.auth_token, auth.username
        else:
            expected, account_sid = s.api_keys.get(auth.username), s.account_sid
        if expected is not None and hmac.compare_digest(auth.password.encode(), expected.encode()):
            g.account_sid = account_sid
            return
    raise TwilioError(
        401, 20003, "Authenticate: the account sid (or API key) or its secret is wrong",
        headers={"WWW-Authenticate": 'Basic realm="Twilio API"'},
    )


def _count_status(response: Response) -> Response:
    if g.get("lose_response"):
        # The handler's transaction has committed: the request happened, its answer never arrives.
        request.environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
        g.dropped = True
    if not _is_admin() and not g.get("dropped"):
        state().stats.count(f"status:{response.status_code}")
    return response


def _http_error(e: HTTPException) -> Response:
    status = e.code or 500
    if status == 404:
        return not_found().response()
    if status == 405:
        return TwilioError(405, 20004, f"Method {request.method} not allowed on {request.path}").response()
    code = 20001 if status < 500 else 20500
    return TwilioError(status, code, e.description or e.name).response()


def _unexpected_error(e: Exception) -> Response:
    _log.exception("emulator error on %s %s", request.method, request.path)
    return TwilioError(500, 20500, f"Internal Server Error: {e}").response()
