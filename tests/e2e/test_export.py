"""`twideploy export`: adopt an account built by hand with the SDK; update existing manifests in place."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ruamel.yaml import YAML

from twideploy import deploy

from .helpers import edited, live_flow, open_ws, run

GREET = "exports.handler = (context, event, callback) => callback(null, {greeting: 'hi'});\n"
STATUS = "exports.handler = (context, event, callback) => {\n  callback(null, 'OK');\n};\n"
WELCOME = "Hello from the hand-built IVR"


def build_by_hand(gw) -> dict:
    """What a team clicks together in the console, made with the SDK: a service with two
    functions (and an asset), a subflow, a flow calling both, two bound numbers and one not."""
    client = gw.client
    service = client.serverless.v1.services.create(unique_name="helpdesk", friendly_name="Help desk")
    api = client.serverless.v1.services(service.sid)
    env = api.environments.create(unique_name="live", domain_suffix="live")
    versions, functions = [], {}
    for path, visibility, code in (("/greet", "protected", GREET), ("/status", "public", STATUS)):
        function = api.functions.create(friendly_name=path)
        functions[path] = function.sid
        versions.append(gw.upload_version(service.sid, "Functions", function.sid, path=path, visibility=visibility,
                                          content=code.encode(), content_type="application/javascript"))
    asset = api.assets.create(friendly_name="/logo.txt")
    asset_version = gw.upload_version(service.sid, "Assets", asset.sid, path="/logo.txt", visibility="public",
                                      content=b"LOGO", content_type="text/plain")
    build = api.builds.create(function_versions=versions, asset_versions=[asset_version], runtime="node20",
                              dependencies=json.dumps([{"name": "lodash", "version": "4.17.21"}]))
    assert api.builds(build.sid).build_status().fetch().status == "completed"
    api.environments(env.sid).deployments.create(build_sid=build.sid)
    api.environments(env.sid).variables.create(key="STYLE", value="friendly")
    env = api.environments(env.sid).fetch()

    trigger = {"name": "Trigger", "type": "trigger", "properties": {"offset": {"x": 0, "y": 0}}}
    sub = client.studio.v2.flows.create(friendly_name="Caller Lookup", status="published", definition={
        "description": "", "initial_state": "Trigger", "flags": {"allow_concurrent_calls": True},
        "states": [{**trigger, "transitions": [{"event": "incomingParent", "next": "remember"}]},
                   {"name": "remember", "type": "set-variables", "transitions": [{"event": "next"}],
                    "properties": {"variables": [{"key": "vip", "value": "yes"}], "offset": {"x": 0, "y": 200}}}]})
    main = client.studio.v2.flows.create(
        friendly_name="Main IVR",
        status="published",
        definition={
            "description": "Front door",
            "initial_state": "Trigger",
            "flags": {"allow_concurrent_calls": True},
            "states": [
                {**trigger, "transitions": [{"event": "incomingCall", "next": "greet"}]},
                {
                    "name": "greet",
                    "type": "run-function",
                    "transitions": [{"event": "success", "next": "lookup"}, {"event": "fail", "next": "lookup"}],
                    "properties": {
                        "service_sid": service.sid,
                        "environment_sid": env.sid,
                        "function_sid": functions["/greet"],
                        "url": f"https://{env.domain_name}/greet",
                        "parameters": [{"key": "from", "value": "{{trigger.call.From}}"}],
                        "offset": {"x": 0, "y": 200},
                    },
                },
                {
                    "name": "lookup",
                    "type": "run-subflow",
                    "transitions": [{"event": "completed", "next": "welcome"}, {"event": "failed", "next": "welcome"}],
                    "properties": {
                        "flow_sid": sub.sid,
                        "flow_revision": "LatestPublished",
                        "parameters": [],
                        "offset": {"x": 0, "y": 400},
                    },
                },
                {
                    "name": "welcome",
                    "type": "say-play",
                    "transitions": [{"event": "audioComplete"}],
                    "properties": {
                        "say": f"{WELCOME}, {{{{widgets.greet.parsed.greeting}}}}!",
                        "loop": 1,
                        "offset": {"x": 0, "y": 600},
                    },
                },
            ],
        },
    )
    numbers = client.api.v2010.accounts(gw.account_sid).incoming_phone_numbers
    by_number = {n.phone_number: n.sid for n in numbers.list()}
    numbers(by_number["+15005550006"]).update(voice_url=main.webhook_url, voice_method="POST")
    numbers(by_number["+15005550007"]).update(sms_url=f"https://{env.domain_name}/status", sms_method="POST",
                                               voice_url="https://example.com/elsewhere", voice_method="POST")
    return {"sids": [service.sid, env.sid, *functions.values(), sub.sid, main.sid], "domain": env.domain_name}


def adopt_project(root: Path) -> Path:
    (root / "environments").mkdir(parents=True)
    (root / "twideploy.yaml").write_text("name: adopted\ndefault_environment: handmade\n")
    (root / "environments/handmade.yaml").write_text(
        "# The account the team built by hand, adopted with `twideploy export`.\n"
        "target: emulator\n"
        "vars:\n"
        f"  welcome: {WELCOME}   # used by the IVR's greeting\n")
    return root


def test_hand_built_account_is_exported_and_plan_shows_nothing(tmp_path, cli_env):
    root = adopt_project(tmp_path / "adopted")
    cli_env.seed_numbers(["+15005550006", "+15005550007", "+15005550008"])
    built = build_by_hand(open_ws(root, cli_env, "handmade").gateway)

    code, out = run(root, "export", "--env", "handmade")
    assert code == 0, out
    assert "/logo.txt" in out and "could not be downloaded" in out  # assets have no content API

    main = (root / "flows/main-ivr.yaml").read_text()
    assert "function: helpdesk/greet" in main and "flow: caller-lookup" in main
    assert "${vars.welcome}, {{widgets.greet.parsed.greeting}}!" in main
    flows_text = main + (root / "flows/caller-lookup.yaml").read_text()
    assert not any(sid in flows_text for sid in built["sids"]) and built["domain"] not in flows_text
    assert not re.search(r"\b(FW|ZS|ZE|ZH)[0-9a-f]{32}\b", flows_text)
    assert (root / "functions/helpdesk/functions/greet.js").read_text() == GREET
    assert (root / "functions/helpdesk/functions/status.public.js").read_text() == STATUS
    service = YAML().load((root / "functions/helpdesk/service.yaml").read_text())
    assert service["runtime"] == "node20" and service["dependencies"] == {"lodash": "4.17.21"}
    assert service["friendly_name"] == "Help desk"
    env_text = (root / "environments/handmade.yaml").read_text()
    assert env_text.startswith("# The account the team built by hand") and "# used by the IVR's greeting" in env_text
    env = YAML().load(env_text)
    assert env["flows"] == ["caller-lookup", "main-ivr"]
    assert env["services"]["helpdesk"] == {"environment": "live", "domain_suffix": "live",
                                           "variables": {"STYLE": "friendly"}}
    assert env["numbers"] == {
        "+15005550006": {"voice": "flow:main-ivr"},
        "+15005550007": {"voice": "https://example.com/elsewhere", "sms": "function:helpdesk/status"},
    }

    assert run(root, "validate")[0] == 0
    code, out = run(root, "plan", "--env", "handmade", "--detailed-exitcode")
    assert code == 0 and "No changes" in out, out

    # exporting again changes nothing
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and ".twideploy" not in p.parts}
    assert run(root, "export", "--env", "handmade")[0] == 0
    assert before == {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and ".twideploy" not in p.parts}


def test_export_named_flow_brings_its_subflow(tmp_path, cli_env):
    root = adopt_project(tmp_path / "adopted")
    cli_env.seed_numbers(["+15005550006", "+15005550007"])
    build_by_hand(open_ws(root, cli_env, "handmade").gateway)
    code, out = run(root, "export", "--env", "handmade", "--flows", "Main IVR")
    assert code == 0, out
    assert sorted(p.name for p in (root / "flows").iterdir()) == ["caller-lookup.yaml", "main-ivr.yaml"]
    code, out = run(root, "export", "--env", "handmade", "--flows", "nope")
    assert code == 1 and "no flow 'nope'" in out


def test_export_into_existing_files_keeps_comments(project_dir, cli_env):
    ws = open_ws(project_dir, cli_env)
    deploy.apply(ws, deploy.ApplyOptions())
    untouched = {
        p: p.read_bytes()
        for p in (
            project_dir / "flows/sms-bot.json",
            project_dir / "environments/local.yaml",
            project_dir / "functions/crm/service.yaml",
        )
    }
    flow = live_flow(ws, "Acme IVR")
    cli_env.console_edit(flow.sid, edited(flow.definition, "goodbye", say="See you soon."), "console tweak")

    code, out = run(project_dir, "export", "--env", "local")
    assert code == 0, out
    text = (project_dir / "flows/ivr-main.yaml").read_text()
    assert "say: See you soon." in text and "Thank you for calling Acme. Goodbye." not in text
    assert text.startswith("# yaml-language-server: $schema=../schemas/flow.schema.json\n"
                           "# Main inbound IVR: look the caller up")
    assert "# Symbolic references: `function: crm/lookup`" in text and "function: crm/lookup" in text
    assert "say: >-\n        ${vars.greeting}{% if" in text  # folded string and its var kept
    assert "- {event: incomingCall, next: lookup_caller}" in text  # flow style kept
    assert {p: p.read_bytes() for p in untouched} == untouched  # nothing else moved
    code, out = run(project_dir, "plan", "--env", "local", "--detailed-exitcode")
    assert code == 0 and "No changes" in out
