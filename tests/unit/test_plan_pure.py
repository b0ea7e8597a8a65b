"""The pure parts of planning: flow order, what a plan would do, and how a saved plan is compared.

`order_flows` decides that a subflow is written before the flows that run it; `actionable`
and `summary` are what `plan` shows and `apply` does; `comparable` and `describe_moves`
decide whether a saved plan may still be applied, and what to say when it may not.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from twideploy.deploy import check_saved_plan, describe_moves
from twideploy.errors import StalePlanError
from twideploy.plan.desired import order_flows
from twideploy.plan.model import Action, Change, Plan, WidgetChange
from twideploy.plan.planner import comparable, comparable_fingerprints

# --------------------------------------------------------------------------- order_flows


def flow(name: str, *subflows: str, other: str | None = None) -> SimpleNamespace:
    """A flow source whose run-subflow widgets run `subflows`; `other` is a widget of another
    type that happens to have a `flow` property."""
    states = [{"name": "Trigger", "type": "trigger", "properties": {}}]
    states += [
        {"name": f"run_{i}", "type": "run-subflow", "properties": {"flow": sub}} for i, sub in enumerate(subflows)
    ]
    if other:
        states.append({"name": "other", "type": "say-play", "properties": {"flow": other}})
    return SimpleNamespace(name=name, definition={"states": states})


def names(sources) -> list[str]:
    return [s.name for s in order_flows(sources)]


def test_a_subflow_comes_before_the_flows_that_run_it_and_the_rest_keep_their_order():
    sources = [flow("main", "sub"), flow("other"), flow("sub", "leaf"), flow("leaf"), flow("last")]
    assert names(sources) == ["leaf", "sub", "main", "other", "last"]


def test_a_subflow_run_by_several_flows_comes_once_before_all_of_them():
    sources = [flow("a", "shared"), flow("b", "shared", "c"), flow("c", "shared"), flow("shared")]
    assert names(sources) == ["shared", "a", "c", "b"]


def test_only_run_subflow_widgets_of_flows_being_deployed_order_flows():
    sources = [flow("main", "not-deployed", other="late"), flow("late")]
    assert names(sources) == ["main", "late"]


def test_a_cycle_keeps_every_flow_once():
    assert names([flow("a", "b"), flow("b", "a"), flow("c", "c")]) == ["b", "a", "c"]


def test_a_chain_of_thousands_of_subflows_is_ordered_without_recursion():
    """validate accepts it (its cycle check is iterative too); plan used to end in a RecursionError."""
    count = 5000
    sources = [flow(f"f{i}", *([f"f{i + 1}"] if i + 1 < count else [])) for i in range(count)]
    assert names(sources) == [f"f{i}" for i in reversed(range(count))]


# --------------------------------------------------------------------------- a plan's changes


def layout(widget: str = "greet") -> WidgetChange:
    return WidgetChange(widget, "layout", "moved", {"x": 0, "y": 0}, {"x": 10, "y": 0})


def prop(widget: str = "greet") -> WidgetChange:
    return WidgetChange(widget, "property", "say", "Hello", "Welcome")


def make_plan(*changes: Change, include_layout: bool = False) -> Plan:
    return Plan("local", "AC" + "0" * 32, list(changes), {"flows": {}, "services": {}, "numbers": {}},
                include_layout=include_layout)


CHANGES = [
    Change("flow", "flow.new", Action.CREATE, None, {"friendly_name": "New"}),
    Change("flow", "flow.edited", Action.UPDATE, {"v": 1}, {"v": 2}, [prop(), layout("menu")]),
    Change("flow", "flow.moved", Action.UPDATE, {"v": 1}, {"v": 1}, [layout()]),
    Change("number", "number.+15005550006", Action.UPDATE, {"voice_url": "a"}, {"voice_url": "b"}),
    Change("service", "service.gone", Action.DELETE, {"unique_name": "gone"}, None),
    Change("flow", "flow.same", Action.NOOP),
    Change("flow", "flow.by-hand", Action.UNMANAGED, {"friendly_name": "By hand"}),
]


def test_actionable_is_what_apply_would_write_and_layout_only_edits_need_include_layout():
    plan = make_plan(*CHANGES)
    assert [c.address for c in plan.actionable] == [
        "flow.new", "flow.edited", "number.+15005550006", "service.gone"]
    assert plan.summary() == {"create": 1, "update": 2, "delete": 1}
    assert plan.summary_line() == "Plan: 1 to create, 2 to update, 1 to delete."
    with_layout = make_plan(*CHANGES, include_layout=True)
    assert [c.address for c in with_layout.actionable] == [
        "flow.new", "flow.edited", "flow.moved", "number.+15005550006", "service.gone"]
    assert with_layout.summary() == {"create": 1, "update": 3, "delete": 1}


def test_a_plan_of_no_op_unmanaged_and_layout_moves_has_no_changes():
    plan = make_plan(*CHANGES[2:3], *CHANGES[5:])
    assert plan.actionable == [] and not plan.has_changes
    assert plan.summary() == {"create": 0, "update": 0, "delete": 0}
    assert plan.summary_line() == "No changes. The live account matches the manifests."
    assert plan.to_dict()["summary"] == plan.summary()


# --------------------------------------------------------------------------- saved plans


def saved(plan: Plan) -> Plan:
    """The plan as `apply plan.json` reads it back."""
    return Plan.from_dict(json.loads(json.dumps(plan.to_dict())))


def test_comparable_survives_the_plan_file_and_ignores_what_apply_leaves_alone():
    plan = make_plan(*CHANGES)
    assert comparable(saved(plan)) == comparable(plan)
    assert [c["address"] for c in comparable(plan)] == [c.address for c in plan.actionable]
    edited = next(c for c in comparable(plan) if c["address"] == "flow.edited")
    assert [w["what"] for w in edited["widgets"]] == ["property"]  # the layout move is left alone
    with_layout = make_plan(*CHANGES, include_layout=True)
    edited = next(c for c in comparable(with_layout) if c["address"] == "flow.edited")
    assert [w["what"] for w in edited["widgets"]] == ["property", "layout"]


def test_comparable_differs_when_what_apply_would_write_differs():
    plan = make_plan(*CHANGES)
    moved_more = make_plan(*CHANGES[:2], Change("flow", "flow.moved", Action.UPDATE, {"v": 1}, {"v": 1},
                                                [layout(), layout("menu")]), *CHANGES[3:])
    assert comparable(moved_more) == comparable(plan)  # only layout: apply writes the same
    unmanaged_now_managed = make_plan(*CHANGES[:6], Change("flow", "flow.by-hand", Action.DELETE,
                                                           {"friendly_name": "By hand"}))
    assert comparable(unmanaged_now_managed) != comparable(plan)
    other_value = make_plan(*CHANGES[:3], Change("number", "number.+15005550006", Action.UPDATE,
                                                 {"voice_url": "a"}, {"voice_url": "c"}), *CHANGES[4:])
    assert comparable(other_value) != comparable(plan)


def test_describe_moves_names_each_resource_that_appeared_disappeared_or_changed():
    before = {"flows": {"FW1": {"revision": 1}, "FW2": {"revision": 4}},
              "services": {"crm": {"build": "ZB1"}},
              "numbers": {"+15005550006": {"voice_url": "a"}}}
    after = {"flows": {"FW1": {"revision": 2}, "FW3": {"revision": 1}},
             "services": {"crm": {"build": "ZB1"}},
             "numbers": {}}
    assert describe_moves(before, after) == [
        "flow FW1 changed", "flow FW2 disappeared", "flow FW3 appeared", "number +15005550006 disappeared"]
    assert describe_moves(before, before) == []


def test_variables_are_compared_only_when_both_plans_have_the_same_plan_key():
    def fingerprint(key: str, token: str) -> dict:
        return {"flows": {}, "numbers": {}, "plan_key": key,
                "services": {"crm": {"build": "ZB1", "variables": {"TOKEN": token}}}}

    same_key = comparable_fingerprints(fingerprint("k1", "hmac-a"), fingerprint("k1", "hmac-b"))
    assert describe_moves(*same_key) == ["service crm changed"]
    other_key = comparable_fingerprints(fingerprint("k1", "hmac-a"), fingerprint("k2", "hmac-b"))
    assert describe_moves(*other_key) == []


def test_a_stale_plan_names_at_most_five_moves():
    plan = make_plan(*CHANGES)
    fresh = make_plan(*CHANGES)
    fresh.fingerprint = {**plan.fingerprint, "numbers": {f"+1500555000{i}": {"voice_url": "x"} for i in range(7)}}
    with pytest.raises(StalePlanError) as stale:
        check_saved_plan(saved(plan), fresh)
    message = str(stale.value)
    assert message.startswith("the live account changed since the plan was made (number +15005550000 appeared;")
    assert "+15005550004 appeared; and 2 more). Make a new plan" in message
    check_saved_plan(saved(plan), make_plan(*CHANGES))  # nothing moved: no error
