"""The per-widget flow diff and the plan's data round trip."""

from __future__ import annotations

import copy

from rich.console import Console

from twideploy.plan.flowdiff import describe, diff_flows
from twideploy.plan.model import Action, Change, Plan
from twideploy.render import render_json, render_markdown, render_text

BASE = {
    "description": "IVR", "initial_state": "Trigger", "flags": {"allow_concurrent_calls": True},
    "states": [
        {"name": "Trigger", "type": "trigger", "properties": {"offset": {"x": 0, "y": 0}},
         "transitions": [{"event": "incomingCall", "next": "menu"}]},
        {"name": "menu", "type": "gather-input-on-call", "properties": {"say": "Press 1", "offset": {"x": 0, "y": 100}},
         "transitions": [{"event": "keypress", "next": "route"}]},
        {"name": "route", "type": "split-based-on", "properties": {"input": "{{widgets.menu.Digits}}"},
         "transitions": [{"event": "noMatch", "next": "menu"},
                         {"event": "match", "next": "sales", "conditions": [
                             {"friendly_name": "one", "arguments": ["{{widgets.menu.Digits}}"], "type": "equal_to",
                              "value": "1"}]}]},
        {"name": "sales", "type": "say-play", "properties": {"say": "Sales"}, "transitions": []},
        {"name": "support", "type": "say-play", "properties": {"say": "Support"}, "transitions": []},
    ],
}


def changed(edit) -> dict:
    after = copy.deepcopy(BASE)
    edit(after)
    return after


def state(definition, name):
    return next(s for s in definition["states"] if s["name"] == name)


def test_identical_flows_have_no_changes():
    assert diff_flows(BASE, copy.deepcopy(BASE)) == []


def test_reordering_states_is_not_a_change():
    assert diff_flows(BASE, changed(lambda d: d["states"].reverse())) == []


def test_property_change_names_the_widget_and_property():
    [change] = diff_flows(BASE, changed(lambda d: state(d, "menu")["properties"].__setitem__("say", "Press 2")))
    assert (change.widget, change.what, change.detail, change.before, change.after) == \
        ("menu", "property", "say", "Press 1", "Press 2")
    assert describe(change) == 'menu.say: "Press 1" -> "Press 2"'


def test_transition_change_reads_like_an_edge():
    [change] = diff_flows(BASE, changed(lambda d: state(d, "menu")["transitions"][0].__setitem__("next", "support")))
    assert change.what == "transition" and change.detail == "keypress"
    assert describe(change) == "menu --keypress--> route  becomes  --> support"


def test_match_branch_is_keyed_by_condition_name():
    [change] = diff_flows(BASE, changed(lambda d: state(d, "route")["transitions"][1].__setitem__("next", "support")))
    assert change.detail == "match(one)" and change.before["next"] == "sales" and change.after["next"] == "support"


def test_a_transitions_other_keys_are_part_of_it():
    """Studio keeps keys such as a transition's `name`: changing one is a change to deploy."""
    named = changed(lambda d: state(d, "menu")["transitions"][0].__setitem__("name", "Pressed"))
    [change] = diff_flows(BASE, named)
    assert (change.widget, change.what, change.detail) == ("menu", "transition", "keypress")
    assert describe(change) == "menu --keypress--> route: \"route\" -> {'next': 'route', 'name': 'Pressed'}"
    renamed = copy.deepcopy(named)
    state(renamed, "menu")["transitions"][0]["name"] = "Key pressed"
    [change] = diff_flows(named, renamed)
    assert change.before == {"next": "route", "name": "Pressed"} and change.after == {
        "next": "route",
        "name": "Key pressed",
    }
    assert diff_flows(named, copy.deepcopy(named)) == []


def test_layout_is_cosmetic_and_separate():
    [change] = diff_flows(
        BASE, changed(lambda d: state(d, "menu")["properties"].__setitem__("offset", {"x": 9, "y": 9}))
    )
    assert change.what == "layout" and change.cosmetic


def test_added_and_removed_widgets_and_nested_properties():
    def edit(d):
        d["states"] = [s for s in d["states"] if s["name"] != "support"]
        d["states"].append({"name": "hours", "type": "say-play", "properties": {"say": "9-5"}, "transitions": []})
        state(d, "sales")["properties"]["parameters"] = [{"key": "a", "value": "1"}]
    after = changed(edit)
    after2 = copy.deepcopy(after)
    state(after2, "sales")["properties"]["parameters"][0]["value"] = "2"
    kinds = {(c.widget, c.what) for c in diff_flows(BASE, after)}
    assert {("hours", "added"), ("support", "removed"), ("sales", "property")} == kinds
    [nested] = diff_flows(after, after2)
    assert nested.detail == "parameters[0].value" and (nested.before, nested.after) == ("1", "2")


def test_top_level_fields_are_flow_changes():
    [change] = diff_flows(BASE, changed(lambda d: d.__setitem__("description", "new")))
    assert (change.widget, change.what, change.detail) == ("(flow)", "flow", "description")


def make_plan(changes) -> Plan:
    return Plan(environment="staging", account_sid="AC" + "0" * 32, changes=changes, fingerprint={"flows": {}})


def test_plan_round_trips_through_its_json_form_and_counts_only_real_changes():
    widgets = diff_flows(BASE, changed(lambda d: state(d, "menu")["properties"].__setitem__("offset", {"x": 1})))
    plan = make_plan([
        Change("flow", "flow.ivr", Action.UPDATE, {"status": "published"}, {"status": "published"}, widgets),
        Change("variable", "service.crm.variable.X", Action.CREATE, None, {"value": "1"}),
        Change("flow", "flow.other", Action.UNMANAGED, {"friendly_name": "other"}),
    ])
    assert plan.summary() == {"create": 1, "update": 0, "delete": 0}  # the layout-only flow does not count
    again = Plan.from_dict(__import__("json").loads(render_json(plan)))
    assert again.to_dict() == plan.to_dict()


def test_renderers_show_symbols_and_summary():
    plan = make_plan([Change("variable", "service.crm.variable.X", Action.CREATE, None, {"value": "1"}),
                      Change("flow", "flow.old", Action.DELETE, {"friendly_name": "old"})])
    console = Console(record=True, width=200)
    render_text(plan, console)
    text = console.export_text()
    assert "+ service.crm.variable.X" in text and "- flow.old" in text
    assert "Plan: 1 to create, 0 to update, 1 to delete." in text
    markdown = render_markdown(plan)
    assert "| `-` | `flow.old` | delete |" in markdown and "**Plan: 1 to create" in markdown
