"""The emulator as an object: a threaded werkzeug server on a daemon thread."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from twideploy.emulator import api2010, studio
from twideploy.emulator.app import create_app
from twideploy.emulator.faults import FaultConfig, FaultInjector
from twideploy.emulator.sids import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from twideploy.emulator.store import Account, Store
from twideploy.emulator.wire import EmulatorState


class _QuietRequestHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class Emulator:
    """The local Twilio API, state in the SQLite file `db_path` (kept across restarts).

    `start()` serves it and returns the base URL; use it as a context manager to stop it
    at the end. `base_url` replaces https://studio.twilio.com, https://serverless.twilio.com,
    https://serverless-upload.twilio.com and https://api.twilio.com.
    """

    def __init__(
        self,
        db_path: str | Path,
        *,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        api_keys: dict[str, str] | None = None,
        faults: FaultConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        log_requests: bool = False,
    ):
        self.db_path = Path(db_path)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.host = host
        self.port = port
        self.base_url = ""
        self._log_requests = log_requests
        self._state = EmulatorState(
            store=Store(self.db_path),
            account_sid=account_sid,
            auth_token=auth_token,
            api_keys=dict(api_keys or {}),
            faults=FaultInjector(faults),
        )
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        if self._server is not None:
            return self.base_url
        if self._state.store.closed:
            self._state.store = Store(self.db_path)
        handler = None if self._log_requests else _QuietRequestHandler
        self._server = make_server(
            self.host, self.port, create_app(self._state), threaded=True, request_handler=handler
        )
        self.base_url = f"http://{self.host}:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"twilio-emulator-{self._server.server_port}", daemon=True,
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join()
            self._server = self._thread = None
        self._state.store.close()

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def seed_numbers(self, numbers: list[str]) -> dict[str, str]:
        """Give the account these E.164 numbers (idempotent); returns number -> PN sid."""
        return api2010.seed_numbers(self._account(), numbers)

    def console_edit(self, flow_sid: str, definition: dict[str, Any], commit_message: str = "",
                     status: str = "published") -> int:
        """Change a flow as if edited and published in the Twilio console; the new revision."""
        return studio.console_edit(self._account(), flow_sid, definition, commit_message, status)

    def reached_revision(self, flow_sid: str, caller: str) -> dict[str, Any]:
        """The revision (status, definition) a call or message from `caller` runs (see studio)."""
        return studio.reached_revision(self._account(), flow_sid, caller)

    def _account(self) -> Account:
        return Account(self._state.store, self.account_sid)

    def set_faults(self, faults: FaultConfig) -> None:
        self._state.faults.configure(faults)

    def stats(self) -> dict[str, Any]:
        return self._state.stats.snapshot()
