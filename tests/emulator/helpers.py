"""Reach the emulator the way twideploy does: the real twilio SDK with its hosts rewritten,
plus plain `requests` for the multipart upload and the admin endpoints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client

from twideploy.emulator import Emulator
from twideploy.twilio_api.gateway import emulator_url

HOSTS = {"/v2/": "https://studio.twilio.com", "/v1/": "https://serverless.twilio.com",
         "/2010-04-01/": "https://api.twilio.com"}

OnResponse = Callable[[str, str, int, str], None]  # method, url, status, body


class EmulatorHttpClient(TwilioHttpClient):
    """The SDK's own HTTP client, with https://*.twilio.com replaced by the emulator's URL."""

    def __init__(self, base_url: str, on_response: OnResponse | None = None, timeout: float | None = None):
        super().__init__(timeout=timeout)
        self.base_url = base_url
        self.on_response = on_response

    def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False):
        url = emulator_url(self.base_url, url)
        response = super().request(method, url, params=params, data=data, headers=headers, auth=auth,
                                   timeout=timeout, allow_redirects=allow_redirects)
        if self.on_response is not None:
            self.on_response(method.upper(), url, response.status_code, response.text)
        return response


def sdk_client(
    emu: Emulator,
    *,
    username: str | None = None,
    password: str | None = None,
    account_sid: str | None = None,
    on_response: OnResponse | None = None,
    timeout: float | None = None,
) -> Client:
    return Client(
        username or emu.account_sid,
        password or emu.auth_token,
        account_sid=account_sid,
        http_client=EmulatorHttpClient(emu.base_url, on_response, timeout),
    )


def api_request(client: Client, method: str, path: str, *, params: dict[str, Any] | None = None,
                data: dict[str, Any] | None = None) -> TwilioResponse:
    """A raw request through the SDK (its auth, headers and HTTP client), for what its
    resource classes cannot send (a missing parameter) or do not show (headers, `meta`)."""
    host = next(host for prefix, host in HOSTS.items() if path.startswith(prefix))
    return client.request(method, host + path, params=params, data=data)


def upload_version(
    emu: Emulator,
    service_sid: str,
    kind: str,
    resource_sid: str,
    *,
    path: str,
    content: bytes,
    visibility: str = "protected",
    on_response: OnResponse | None = None,
    auth: tuple[str, str] | None = None,
) -> requests.Response:
    """Create a Function or Asset Version (`kind` "Functions" or "Assets") as the upload host does."""
    url = f"{emu.base_url}/v1/Services/{service_sid}/{kind}/{resource_sid}/Versions"
    response = requests.post(
        url,
        data={"Path": path, "Visibility": visibility},
        files={"Content": (path.rsplit("/", 1)[-1], content, "application/octet-stream")},
        auth=auth or (emu.account_sid, emu.auth_token),
        timeout=10,
    )
    if on_response is not None:
        on_response("POST", url, response.status_code, response.text)
    return response


def admin(emu: Emulator, method: str, path: str, body: Any = None) -> Any:
    response = requests.request(method, f"{emu.base_url}/_admin/{path}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def definition(*extra_states: dict[str, Any], first: str | None = None) -> dict[str, Any]:
    """A valid flow definition: a trigger (leading to `first`) plus `extra_states`."""
    transitions = [{"event": "incomingMessage"}, {"event": "incomingCall"}, {"event": "incomingRequest"}]
    if first:
        transitions[0]["next"] = first
    trigger = {"name": "Trigger", "type": "trigger", "properties": {"offset": {"x": 0, "y": 0}},
               "transitions": transitions}
    return {"description": "test flow", "initial_state": "Trigger", "flags": {"allow_concurrent_calls": True},
            "states": [trigger, *extra_states]}


def say(name: str, text: str = "hello") -> dict[str, Any]:
    return {"name": name, "type": "say-play", "properties": {"say": text}, "transitions": [{"event": "audioComplete"}]}
