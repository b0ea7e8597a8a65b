"""`twideploy drift` against the emulator: console edits, layout moves, builds, variables, numbers."""

from __future__ import annotations

import json
import time

from twideploy import deploy, drift
from twideploy.render.drift_report import render_markdown, render_text

from .helpers import edit_yaml, edited, live_flow, open_ws, run


def drift_json(project_dir, *extra):
    code, out = run(project_dir, "drift", "--env", "local", "--format", "json", *extra)
    return code, json.loads(out)


def test_console_edit_is_drift_with_its_revision_and_message(project_dir, cli_env):
    assert run(project_dir, "apply", "--env", "local", "--auto-approve")[0] == 0
    code, report = drift_json(project_dir)
    assert code == 0 and report["drift"] is False and report["format_version"] == 1
    assert [i for i in report["items"] if i["category"] == "drift"] == []
    assert report["last_deploy"]["status"] == "applied"

    ws = open_ws(project_dir, cli_env)
    flow = live_flow(ws, "Acme IVR")
    revision = cli_env.console_edit(flow.sid, edited(flow.definition, "goodbye", say="Bye, from the console"),
                                    commit_message="Hotfix: shorter goodbye")
    assert revision == flow.revision + 1

    code, report = drift_json(project_dir)
    assert code == 2 and report["drift"] is True and report["environment"] == "local"
    [item] = [i for i in report["items"] if i["category"] == "drift"]
    assert item["address"] == "flow.ivr-main" and item["outside_twideploy"] is True
    [outside] = item["outside_revisions"]
    assert (outside["revision"], outside["commit_message"]) == (revision, "Hotfix: shorter goodbye")
    assert outside["author_sid"].startswith("US") and outside["date_updated"] == item["when"]
    assert item["last_twideploy"]["revision"] == flow.revision
    assert item["last_twideploy"]["deploy_id"] == report["last_deploy"]["deploy_id"]
    assert item["live"]["revision"] == revision
    assert item["changes"] == ['goodbye.say: "Bye, from the console" -> "Thank you for calling Acme. Goodbye."']

    code, out = run(project_dir, "drift", "--env", "local", "--format", "markdown")
    assert code == 2 and out.startswith("<!-- twideploy-drift -->\n")
    assert "`flow.ivr-main`" in out and f"revision {revision}" in out and "Hotfix: shorter goodbye" in out
    code, out = run(project_dir, "drift", "--env", "local")
    assert code == 2 and "outside twideploy" in out and "Hotfix: shorter goodbye" in out

    # apply puts the manifests back; the console revision stays in history as a note, not drift
    assert run(project_dir, "apply", "--env", "local", "--auto-approve")[0] == 0
    code, report = drift_json(project_dir)
    assert code == 0 and report["drift"] is False


def test_layout_only_edit_fails_only_with_include_layout(project_dir, cli_env):
    assert run(project_dir, "apply", "--env", "local", "--auto-approve")[0] == 0
    ws = open_ws(project_dir, cli_env)
    flow = live_flow(ws, "Acme IVR")
    cli_env.console_edit(flow.sid, edited(flow.definition, "goodbye", offset={"x": 900, "y": 1700}), "tidy canvas")

    code, report = drift_json(project_dir)
    assert code == 0 and report["drift"] is False
    [item] = [i for i in report["items"] if i["address"] == "flow.ivr-main"]
    assert item["category"] == "layout" and item["outside_revisions"][0]["commit_message"] == "tidy canvas"

    code, report = drift_json(project_dir, "--include-layout")
    assert code == 2 and report["drift"] is True
    code, out = run(project_dir, "drift", "--env", "local")
    assert code == 0 and "Layout only" in out and "No drift" in out


def test_builds_variables_and_numbers_are_attributed(project_dir, emulator):
    ws = open_ws(project_dir, emulator)
    deploy.apply(ws, deploy.ApplyOptions())
    client = ws.gateway.client
    [service] = [s for s in client.serverless.v1.services.list() if s.unique_name == "crm"]
    api = client.serverless.v1.services(service.sid)
    [environment] = api.environments.list()
    old_build = api.builds(environment.build_sid).fetch()
    time.sleep(1.1)  # Twilio's dates have one-second resolution: be after the deploy's start

    # someone deploys other code for /lookup by hand, changes a variable and a number
    [lookup] = [f for f in api.functions.list() if f.friendly_name == "/lookup"]
    version = ws.gateway.upload_version(service.sid, "Functions", lookup.sid, path="/lookup", visibility="protected",
                                        content=b"exports.handler = (c, e, cb) => cb(null, {});",
                                        content_type="application/javascript")
    others = [v["sid"] for v in old_build.function_versions if v["path"] != "/lookup"]
    build = api.builds.create(function_versions=[version, *others],
                              asset_versions=[v["sid"] for v in old_build.asset_versions],
                              dependencies=json.dumps(old_build.dependencies), runtime=old_build.runtime)
    assert api.builds(build.sid).build_status().fetch().status == "completed"
    api.environments(environment.sid).deployments.create(build_sid=build.sid)
    [variable] = [v for v in api.environments(environment.sid).variables.list() if v.key == "CRM_URL"]
    api.environments(environment.sid).variables(variable.sid).update(value="https://hijacked.example.com")
    numbers = client.api.v2010.accounts(ws.gateway.account_sid).incoming_phone_numbers
    [number] = [n for n in numbers.list() if n.phone_number == "+15005550007"]
    numbers(number.sid).update(voice_url="https://elsewhere.example.com/voice")
    # and the manifests change a flow that nobody touched live
    edit_yaml(project_dir / "flows/subflows/lookup-caller.yaml",
              lambda f: f["states"][2]["properties"].__setitem__("offset", {"x": 0, "y": 450}))

    report = drift.audit(open_ws(project_dir, emulator))
    items = {i.address: i for i in report.items}
    assert report.drift
    function = items["service.crm.function./lookup"]
    assert function.category == "drift" and function.outside_twideploy is True
    assert build.sid in function.summary and "outside twideploy" in function.summary
    assert function.details["build"]["twideploy_build_sid"] == old_build.sid
    assert function.details["build"]["live_build_sid"] == build.sid

    variable_item = items["service.crm.variable.CRM_URL"]
    assert variable_item.outside_twideploy is True and variable_item.changes == [
        "CRM_URL: value differs (values masked)"
    ]
    assert "hijacked" not in json.dumps(report.to_dict()) + render_markdown(report) + render_text(report)

    number_item = items["number.+15005550007"]
    assert number_item.outside_twideploy is True
    assert number_item.changes[0].startswith("voice_url: live https://elsewhere.example.com/voice, manifests https://")

    subflow = items["flow.subflows/lookup-caller"]
    assert subflow.category == "layout" and subflow.outside_twideploy is False  # the manifests moved, not the account
    assert {i.address for i in report.drifted} == {
        "service.crm.function./lookup", "service.crm.build", "service.crm.variable.CRM_URL", "number.+15005550007"}


def _bump_number_and_variable(project_dir):
    """The manifests move a number URL and a variable (not applied)."""
    path = project_dir / "environments/local.yaml"
    path.write_text(path.read_text().replace("crm_base_url: http://localhost:8081", "crm_base_url: http://localhost:9999")
                    .replace('voice_fallback: "https://example.com/down"', 'voice_fallback: "https://example.com/down2"'))


def test_writes_late_in_a_slow_deploy_are_not_outside_twideploy(project_dir, emulator):
    from twideploy.emulator.faults import FaultConfig

    emulator.set_faults(FaultConfig(latency_ms=150))  # a deploy that takes seconds, as builds do on Twilio
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions())
    emulator.set_faults(FaultConfig())
    time.sleep(1.1)
    _bump_number_and_variable(project_dir)

    report = drift.audit(open_ws(project_dir, emulator))
    items = {i.address: i for i in report.items}
    for address in ("number.+15005550007", "service.crm.variable.CRM_URL"):
        assert items[address].outside_twideploy is not True, items[address].summary
        assert "outside twideploy" not in items[address].summary


def test_writes_of_a_rollback_are_not_outside_twideploy(project_dir, emulator):
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions())
    time.sleep(1.1)
    _bump_number_and_variable(project_dir)
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions())
    time.sleep(1.1)
    deploy.rollback(open_ws(project_dir, emulator))  # live is the first deploy's again; the manifests are ahead

    report = drift.audit(open_ws(project_dir, emulator))
    items = {i.address: i for i in report.items}
    for address in ("number.+15005550007", "service.crm.variable.CRM_URL"):
        assert items[address].category == "drift"
        assert items[address].outside_twideploy is not True, items[address].summary
        assert "outside twideploy" not in items[address].summary


def test_assets_that_cannot_be_verified_without_the_cache_are_a_note_not_drift(project_dir, emulator):
    """A fresh CI runner has no .twideploy/cache: asset content (no API) is unverifiable, not drift."""
    import shutil

    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions())
    shutil.rmtree(project_dir / ".twideploy" / "cache")
    report = drift.audit(open_ws(project_dir, emulator))
    assert not report.drift
    notes = [i for i in report.items if i.address == "service.crm.asset./hold.xml"]
    assert notes and notes[0].category == drift.INFO and "not verified" in notes[0].summary

    lookup = project_dir / "functions/crm/functions/lookup.js"  # a real code change still is drift
    lookup.write_text(lookup.read_text() + "\n// changed\n")
    report = drift.audit(open_ws(project_dir, emulator))
    assert report.drift and "service.crm.function./lookup" in [i.address for i in report.drifted]
    assert "service.crm.build" in [i.address for i in report.drifted]
