"""Every resource of an emulator account as plain data, read with the real `twilio` SDK, and the
per-resource before/after check the campaign makes.

A snapshot maps one key per resource (`flow Acme IVR`, `service crm environment dev build`,
`number +15005550006`, ...) to its state, or leaves the key out when the resource does not
exist. What is compared, and why:

- flows: status and published definition, not revision numbers (a rollback writes the old
  definition back as a new revision: Studio cannot delete revisions);
- services: friendly name and settings; each function and asset resource (exists or not);
  each environment's domain suffix, its deployed build (runtime, dependencies, every
  function and asset version's path, visibility and content hash) and its variables;
- numbers: every URL and method field and the friendly name.

SIDs and domains differ between accounts and between a deleted resource and the one a
rollback recreates, so every SID and service domain inside a value is replaced by the name
of the resource it points at (`flow:Acme IVR`). A SID that points at nothing left in the
account becomes `<missing FW...>`: a number still bound to a deleted flow is caught, not
passed because its URL text is unchanged.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

SID = re.compile(r"\b(?:AC|FW|ZS|ZE|ZH)[0-9a-f]{32}\b")
NUMBER_FIELDS = ("voice_url", "voice_method", "voice_fallback_url", "voice_fallback_method", "sms_url", "sms_method",
                 "sms_fallback_url", "sms_fallback_method", "status_callback", "status_callback_method",
                 "voice_application_sid", "sms_application_sid", "trunk_sid", "friendly_name")


@dataclass(frozen=True)
class Hidden:
    """A secret variable's value: compared like any value, never printed."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "'***'"


def client_for(base_url: str, account_sid: str, auth_token: str) -> Client:
    """The SDK pointed at the emulator the way its banner says: every product's base URL."""
    client = Client(account_sid, auth_token)
    for domain in (client.studio, client.serverless, client.api):
        domain.base_url = base_url
    return client


def read_account(base_url: str, account_sid: str, auth_token: str, secret_keys: set[str]) -> dict[str, Any]:
    client = client_for(base_url, account_sid, auth_token)
    labels = {account_sid: "ACCOUNT"}
    domains: dict[str, str] = {}
    state: dict[str, Any] = {}
    for flow in client.studio.v2.flows.list(page_size=1000):
        full = client.studio.v2.flows(flow.sid).fetch()
        labels[flow.sid] = f"flow:{flow.friendly_name}"
        state[f"flow {flow.friendly_name}"] = {"status": full.status, "definition": full.definition}
    for service in client.serverless.v1.services.list(page_size=1000):
        name, api = service.unique_name, client.serverless.v1.services(service.sid)
        labels[service.sid] = f"service:{name}"
        state[f"service {name}"] = {"friendly_name": service.friendly_name, "ui_editable": service.ui_editable,
                                    "include_credentials": service.include_credentials}
        for kind, listing in (("function", api.functions), ("asset", api.assets)):
            for item in listing.list(page_size=1000):
                labels[item.sid] = f"{kind}:{name}/{item.friendly_name}"
                state[f"service {name} {kind} {item.friendly_name}"] = "exists"
        for env in api.environments.list(page_size=1000):
            key = f"service {name} environment {env.unique_name}"
            labels[env.sid] = f"environment:{name}/{env.unique_name}"
            domains[env.domain_name] = f"domain:{name}/{env.unique_name}"
            state[key] = {"domain_suffix": env.domain_suffix}
            if env.build_sid:
                state[f"{key} build"] = _build(base_url, api, env.build_sid)
            for variable in api.environments(env.sid).variables.list(page_size=1000):
                value = Hidden(variable.value) if variable.key in secret_keys else variable.value
                state[f"{key} variable {variable.key}"] = value
    for number in client.api.v2010.accounts(account_sid).incoming_phone_numbers.list(page_size=1000):
        state[f"number {number.phone_number}"] = {f: getattr(number, f) for f in NUMBER_FIELDS}
    return _named(state, labels, domains)


def _build(base_url: str, api: Any, build_sid: str) -> dict[str, Any]:
    build = api.builds(build_sid).fetch()
    functions = {}
    for version in build.function_versions or []:
        try:
            content = api.functions(version["function_sid"]).function_versions(version["sid"]) \
                .function_version_content().fetch().content.encode()
        except TwilioRestException as error:  # the deployed build runs a function deleted since
            if error.status != 404:
                raise
            content = None
        functions[version["path"]] = {"visibility": version["visibility"], "sha256": _digest(content)}
    assets = {}
    for version in build.asset_versions or []:  # Twilio has no API for an asset's content; the emulator's admin has
        response = requests.get(f"{base_url}/_admin/versions/{version['sid']}/content", timeout=30)
        if response.status_code != 404:
            response.raise_for_status()
        assets[version["path"]] = {"visibility": version["visibility"],
                                   "sha256": _digest(response.content if response.ok else None)}
    return {"runtime": build.runtime, "dependencies": build.dependencies, "functions": functions, "assets": assets}


def _digest(content: bytes | None) -> str:
    return "<content not found>" if content is None else hashlib.sha256(content).hexdigest()[:16]


def _named(value: Any, labels: dict[str, str], domains: dict[str, str]) -> Any:
    """`value` with each SID and service domain replaced by the name of what it points at."""
    if isinstance(value, str):
        for domain, label in domains.items():
            value = value.replace(domain, label)
        return SID.sub(lambda m: labels.get(m.group(0), f"<missing {m.group(0)}>"), value)
    if isinstance(value, dict):
        return {k: _named(v, labels, domains) for k, v in value.items()}
    if isinstance(value, list):
        return [_named(v, labels, domains) for v in value]
    return value


def compare(live: dict[str, Any], before: dict[str, Any], after: dict[str, Any], expect: str | None) -> list[str]:
    """What is wrong with `live`: each resource must be at its before- or its after-state, and
    all of them at the `expect`ed one ("before", "after", or None when either will do)."""
    problems = []
    for key in sorted(set(live) | set(before) | set(after)):
        now, was, will = live.get(key), before.get(key), after.get(key)
        if now != was and now != will:
            problems.append(f"{key}: neither its before- nor its after-state: {differences(was, now, 'before')}")
        elif expect == "before" and now != was:
            problems.append(f"{key}: at its after-state, expected its before-state: {differences(was, now, 'before')}")
        elif expect == "after" and now != will:
            problems.append(f"{key}: at its before-state, expected its after-state: {differences(will, now, 'after')}")
    return problems


def differences(expected: Any, actual: Any, name: str, limit: int = 4) -> str:
    """A few `path: expected -> live` lines, shortened, e.g. for one widget of a flow."""
    found: list[str] = []
    _walk(expected, actual, "", found)
    shown = "; ".join(found[:limit]) + (f"; and {len(found) - limit} more" if len(found) > limit else "")
    return f"({name} -> live) {shown}"


def _walk(a: Any, b: Any, path: str, found: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            _walk(a.get(key), b.get(key), f"{path}.{key}" if path else str(key), found)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            label = x.get("name") if isinstance(x, dict) and isinstance(x.get("name"), str) else i
            _walk(x, y, f"{path}[{label}]", found)
    elif a != b:
        found.append(f"{path or 'value'}: {_short(a)} -> {_short(b)}")


def _short(value: Any, width: int = 90) -> str:
    text = "absent" if value is None else repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."
