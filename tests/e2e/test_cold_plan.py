"""A plan without `.twideploy/cache` (a fresh CI runner) against the emulator: a flow whose
current revision's commit message carries the hash of what its manifest compiles to is not
fetched, and is planned exactly as a fetched one would be; anything else is fetched."""

from __future__ import annotations

from twideploy import deploy, drift
from twideploy.plan.model import Action
from twideploy.providers.flows import definition_hash
from twideploy.state import commits

from .helpers import add_secret_pin_var, edit_yaml, edited, live_flow, open_ws, tier_condition

IVR = "flows/ivr-main.yaml"
FLOW_FETCH = "GET /v2/Flows/<Sid>"


def cold_plan(project_dir, emulator):
    """A plan of the manifests on disk with no content cache, and how many flow definitions it fetched."""
    ws = open_ws(project_dir, emulator)
    ws.paths.content_cache(ws.gateway.account_sid).unlink(missing_ok=True)
    before = emulator.stats()["by_route"].get(FLOW_FETCH, 0)
    planned = deploy.plan(ws)
    return planned, emulator.stats()["by_route"].get(FLOW_FETCH, 0) - before


def flow_changes(planned) -> dict[str, dict]:
    return {str(c.address): c.to_dict() for c in planned.plan.changes if c.kind == "flow"}


def applied(project_dir, emulator):
    ws = open_ws(project_dir, emulator)
    deploy.apply(ws, deploy.ApplyOptions())
    return ws


def test_an_unchanged_account_is_planned_from_the_flows_list_alone(project_dir, emulator):
    ws = applied(project_dir, emulator)  # from empty: flows refer to functions made in the same deploy
    for name in ("Acme IVR", "Acme SMS bot", "Acme lookup caller"):
        live = live_flow(ws, name)
        commit = commits.parse_deploy(live.commit_message)
        assert commit is not None and commit.definition_hash == definition_hash(live.definition)[:16], name
    listed = {f.friendly_name: f.commit_message for f in ws.gateway.client.studio.v2.flows.list()}
    assert listed["Acme IVR"] == live_flow(ws, "Acme IVR").commit_message  # the list says it, as Twilio's does
    warm = deploy.plan(ws)

    cold, fetched = cold_plan(project_dir, emulator)
    assert fetched == 0
    assert {c["action"] for c in flow_changes(cold).values()} == {"no-op"}
    assert flow_changes(cold) == flow_changes(warm)


def test_a_changed_manifest_is_fetched_and_diffed_layout_moves_included(project_dir, emulator):
    applied(project_dir, emulator)
    edit_yaml(project_dir / IVR, lambda flow: next(s for s in flow["states"] if s["name"] == "goodbye")[
        "properties"].__setitem__("offset", {"x": 640, "y": 1900}))
    moved, fetched = cold_plan(project_dir, emulator)
    assert fetched == 1
    [change] = [c for c in moved.plan.changes if c.action is not Action.NOOP and c.kind == "flow"]
    assert str(change.address) == "flow.ivr-main" and change.cosmetic_only

    edit_yaml(project_dir / IVR, lambda flow: tier_condition(flow).__setitem__("value", "platinum"))
    changed, fetched = cold_plan(project_dir, emulator)
    assert fetched == 1
    assert flow_changes(changed) == flow_changes(deploy.plan(open_ws(project_dir, emulator)))  # as fetched
    assert flow_changes(changed)["flow.ivr-main"]["action"] == "update"


def test_a_revision_written_outside_twideploy_is_fetched_planned_and_reported(project_dir, emulator):
    ws = applied(project_dir, emulator)
    live = live_flow(ws, "Acme SMS bot")
    ws.gateway.client.studio.v2.flows(live.sid).update(
        status="published", commit_message="fixed a typo in the console",
        definition=edited(live.definition, next(s["name"] for s in live.definition["states"]
                                                if s["type"] == "send-message"), body="Hi from the console"))
    planned, fetched = cold_plan(project_dir, emulator)
    assert fetched == 1
    assert flow_changes(planned)["flow.sms-bot"]["action"] == "update"

    ws.paths.content_cache(ws.gateway.account_sid).unlink()
    [item] = [i for i in drift.audit(ws).drifted if str(i.address) == "flow.sms-bot"]
    assert item.outside_twideploy and "fixed a typo in the console" in str(item.details)


def test_a_flow_that_may_hold_a_secret_carries_no_hash_and_is_always_fetched(project_dir, emulator, monkeypatch):
    monkeypatch.setenv("LOCAL_PIN", "pin7319secretX")
    add_secret_pin_var(project_dir)
    edit_yaml(project_dir / IVR, lambda flow: tier_condition(flow).__setitem__("value", "${vars.pin}"))
    ws = applied(project_dir, emulator)
    message = live_flow(ws, "Acme IVR").commit_message
    assert commits.parse_deploy(message).definition_hash is None and "definition" not in message
    assert commits.parse_deploy(live_flow(ws, "Acme SMS bot").commit_message).definition_hash is not None
    planned, fetched = cold_plan(project_dir, emulator)
    assert fetched == 1
    assert {c["action"] for c in flow_changes(planned).values()} == {"no-op"}
