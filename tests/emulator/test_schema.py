"""Every operation the emulator implements answers bodies that fit Twilio's OpenAPI specs."""

from __future__ import annotations

import re

import pytest
from twilio.base.exceptions import TwilioRestException

from tests.emulator.helpers import definition, say, sdk_client, upload_version
from tests.emulator.openapi import ERROR_SCHEMA, OpenApiSpecs, to_json_schema
from twideploy.emulator.app import create_app
from twideploy.emulator.store import Store
from twideploy.emulator.wire import EmulatorState


def implemented_operations(tmp_path) -> set[tuple[str, str]]:
    """(method, spec path template) of every API route of the emulator's Flask app."""
    app = create_app(EmulatorState(Store(tmp_path / "routes.sqlite"), "AC" + "0" * 32, "token"))
    operations = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/_admin/"):
            continue
        path = re.sub(r"<([A-Za-z]+)>", r"{\1}", rule.rule)
        operations |= {(method, path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return operations


def exercise_every_operation(emu, client, on_response) -> None:
    """Call each implemented operation at least once, successfully, through the SDK/upload host."""
    studio = client.studio.v2
    flow = studio.flows.create(friendly_name="tour", status="draft", definition=definition(),
                               commit_message="first")
    flow.update(status="published", definition=definition(say("Hello"), first="Hello"))
    studio.flows.list()
    studio.flows(flow.sid).fetch()
    studio.flows(flow.sid).revisions.list()
    studio.flows(flow.sid).revisions("1").fetch()
    studio.flows(flow.sid).executions.list()
    studio.flows(flow.sid).revisions("LatestPublished").fetch()
    studio.flows(flow.sid).test_users().update(test_users=["+15551230001", "client:alice"])
    studio.flows(flow.sid).test_users().fetch()
    studio.flow_validate.update(friendly_name="tour", status="draft", definition=definition())
    with pytest.raises(TwilioRestException):
        studio.flow_validate.update(friendly_name="tour", status="draft", definition={"states": []})
    with pytest.raises(TwilioRestException):
        studio.flows("FW" + "0" * 32).fetch()

    serverless = client.serverless.v1
    service = serverless.services.create(unique_name="tour", friendly_name="Tour")
    serverless.services.list()
    serverless.services("tour").fetch()
    serverless.services(service.sid).update(friendly_name="Tour 2")
    svc = serverless.services(service.sid)
    env = svc.environments.create(unique_name="staging", domain_suffix="stage")
    svc.environments.list()
    svc.environments(env.sid).fetch()

    function = svc.functions.create(friendly_name="lookup")
    svc.functions.list()
    svc.functions(function.sid).fetch()
    svc.functions(function.sid).update(friendly_name="lookup 2")
    fv = upload_version(emu, service.sid, "Functions", function.sid, path="/lookup",
                        content=b"exports.handler = (c, e, cb) => cb(null, 'hi');", on_response=on_response)
    fv_sid = fv.json()["sid"]
    svc.functions(function.sid).function_versions.list()
    svc.functions(function.sid).function_versions(fv_sid).fetch()
    svc.functions(function.sid).function_versions(fv_sid).function_version_content().fetch()

    asset = svc.assets.create(friendly_name="logo")
    svc.assets.list()
    svc.assets(asset.sid).fetch()
    svc.assets(asset.sid).update(friendly_name="logo 2")
    av = upload_version(emu, service.sid, "Assets", asset.sid, path="/logo.png", content=b"\x89PNG",
                        visibility="public", on_response=on_response)
    av_sid = av.json()["sid"]
    svc.assets(asset.sid).asset_versions.list()
    svc.assets(asset.sid).asset_versions(av_sid).fetch()

    build = svc.builds.create(function_versions=[fv_sid], asset_versions=[av_sid],
                              dependencies='[{"name": "twilio", "version": "5.0.0"}]', runtime="node22")
    svc.builds(build.sid).build_status().fetch()
    svc.builds(build.sid).fetch()
    svc.builds.list()
    deployment = svc.environments(env.sid).deployments.create(build_sid=build.sid)
    svc.environments(env.sid).deployments.list()
    svc.environments(env.sid).deployments(deployment.sid).fetch()

    variables = svc.environments(env.sid).variables
    variable = variables.create(key="CRM_URL", value="https://crm.example.com")
    variables.list()
    variables(variable.sid).fetch()
    variables(variable.sid).update(value="https://crm2.example.com")
    variables(variable.sid).delete()

    numbers = client.api.v2010.account.incoming_phone_numbers
    number_sid = emu.seed_numbers(["+15005550006"])["+15005550006"]
    numbers.list(phone_number="+15005550006")
    numbers(number_sid).fetch()
    numbers(number_sid).update(voice_url=flow.webhook_url, voice_method="POST", sms_url=flow.webhook_url)

    exercise_sync(client)

    svc.builds(svc.builds.create(function_versions=[fv_sid]).sid).delete()
    svc.functions(svc.functions.create(friendly_name="gone").sid).delete()
    svc.assets(svc.assets.create(friendly_name="gone").sid).delete()
    svc.environments(env.sid).delete()
    serverless.services(service.sid).delete()
    studio.flows(flow.sid).delete()


def exercise_sync(client) -> None:
    """Sync's services, documents (compare-and-set: a stale If-Match is a 412), maps and items (a taken
    key is a 409)."""
    sync = client.sync.v1
    service = sync.services.create(friendly_name="twideploy")
    sync.services.list()
    sync.services(service.sid).fetch()
    documents = sync.services(service.sid).documents
    document = documents.create(unique_name="lease-local", data={"owner": "a"})
    documents.list()
    documents("lease-local").fetch()
    documents("lease-local").update(data={"owner": "b"}, if_match=document.revision)
    with pytest.raises(TwilioRestException) as stale:
        documents(document.sid).update(data={"owner": "c"}, if_match=document.revision)
    assert (stale.value.status, stale.value.code) == (412, 54103)
    maps = sync.services(service.sid).sync_maps
    journal = maps.create(unique_name="journal-local")
    maps.list()
    maps("journal-local").fetch()
    items = maps(journal.sid).sync_map_items
    items.create(key="d1.0000", data={"text": "x"})
    with pytest.raises(TwilioRestException) as taken:
        items.create(key="d1.0000", data={"text": "y"})
    assert (taken.value.status, taken.value.code) == (409, 54208)
    items.list(order="desc", from_="d1.0000", bounds="inclusive")
    items("d1.0000").update(data={"text": "xy"}, if_match="0")
    items("d1.0000").fetch()
    items("d1.0000").delete()
    maps(journal.sid).delete()
    documents(document.sid).delete()
    sync.services(service.sid).delete()


def test_every_implemented_operation_is_checked_against_its_schema(tmp_path, emu, specs: OpenApiSpecs):
    checked: set[tuple[str, str, int]] = set()

    def record(method: str, url: str, status: int, text: str) -> None:
        checked.add(specs.check(method, url, status, text))

    exercise_every_operation(emu, sdk_client(emu, on_response=record), record)

    succeeded = {(method, path) for method, path, status in checked if status < 300}
    implemented = implemented_operations(tmp_path)
    assert len(implemented) >= 50
    assert implemented - succeeded == set(), "implemented operations without a schema check"
    assert succeeded <= implemented
    assert {status for _, _, status in checked if status >= 400} == {400, 404, 409, 412}


def test_the_check_rejects_what_twilio_would_not_send(specs: OpenApiSpecs):
    flow = {
        "sid": "FW" + "a" * 32, "account_sid": "AC" + "a" * 32, "author_sid": None, "friendly_name": "f",
        "definition": {}, "status": "draft", "revision": 1, "commit_message": None, "valid": True,
        "errors": [], "warnings": [], "date_created": "2026-01-01T00:00:00Z", "date_updated": None,
        "webhook_url": "https://webhooks.twilio.com/v1/Accounts/AC/Flows/FW", "url": "https://x/v2/Flows/FW",
        "links": {},
    }
    url = "https://studio.twilio.com/v2/Flows/FW" + "a" * 32
    assert specs.check("GET", url, 200, _json(flow)) == ("GET", "/v2/Flows/{Sid}", 200)
    for broken in ({**flow, "sid": "ZS" + "a" * 32}, {**flow, "status": "live"},
                   {**flow, "date_created": "Thu, 01 Jan 2026 00:00:00 +0000"}, {**flow, "extra": 1},
                   {k: v for k, v in flow.items() if k != "webhook_url"}):
        with pytest.raises(AssertionError):
            specs.check("GET", url, 200, _json(broken))
    with pytest.raises(AssertionError):
        specs.check("GET", url, 404, _json({"message": "no code"}))


def test_nullable_and_refs_are_converted():
    components = {"e": {"type": "string", "enum": ["a", "b"]}}
    schema = to_json_schema({"type": "object", "properties": {
        "x": {"type": "string", "nullable": True}, "y": {"$ref": "#/components/schemas/e"}}}, components)
    assert schema["properties"]["x"]["type"] == ["string", "null"]
    assert schema["properties"]["y"] == {"type": "string", "enum": ["a", "b"]}
    assert schema["required"] == ["x", "y"] and schema["additionalProperties"] is False
    assert ERROR_SCHEMA["required"] == ["code", "message", "more_info", "status"]


def _json(value) -> str:
    import json

    return json.dumps(value)
