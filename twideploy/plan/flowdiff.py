"""Semantic, per-widget difference between two Studio flow definitions.

A raw JSON diff of two flows is unreadable in review: states are a list, so one inserted
widget shifts every index. Here states are matched by name, transitions by event (and
match conditions by their friendly name), and layout offsets are separated out as cosmetic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deepdiff import DeepDiff

from twideploy.plan.model import WidgetChange
from twideploy.secrets import MASK

if TYPE_CHECKING:
    from twideploy.render.textdiff import StringDiff

FLOW = "(flow)"


def diff_flows(before: dict[str, Any], after: dict[str, Any]) -> list[WidgetChange]:
    changes: list[WidgetChange] = []
    for key in sorted(set(before) | set(after) - {"states"}):
        if key != "states" and before.get(key) != after.get(key):
            changes.append(WidgetChange(FLOW, "flow", key, before.get(key), after.get(key)))
    old_states = {s["name"]: s for s in before.get("states", [])}
    new_states = {s["name"]: s for s in after.get("states", [])}
    for name in new_states.keys() - old_states.keys():
        changes.append(WidgetChange(name, "added", new_states[name].get("type", "?"), None, _summary(new_states[name])))
    for name in old_states.keys() - new_states.keys():
        old = old_states[name]
        changes.append(WidgetChange(name, "removed", old.get("type", "?"), _summary(old), None))
    for name in old_states.keys() & new_states.keys():
        changes.extend(_diff_state(name, old_states[name], new_states[name]))
    order = {name: i for i, name in enumerate([*new_states, *old_states])}
    return sorted(changes, key=lambda c: (c.widget != FLOW, order.get(c.widget, -1), c.what, c.detail))


def diff_shown(before: dict[str, Any], after: dict[str, Any],
               shown_before: dict[str, Any], shown_after: dict[str, Any]) -> list[WidgetChange]:
    """The differences of `before` and `after`, with every value taken from `shown_before` and
    `shown_after` (the same definitions with secrets masked, see `mask_secret_strings`).

    A difference is found on the real definitions, so a rotated secret is still a change; what
    it shows comes only from the masked ones: a difference they do not have (only a secret
    changed) reads `***` -> `***`.
    """
    changes = diff_flows(before, after)
    if shown_before is before and shown_after is after:
        return changes
    shown = {(c.widget, c.what, c.detail): c for c in diff_flows(shown_before, shown_after)}
    return [shown.get((c.widget, c.what, c.detail)) or _masked(c) for c in changes]


def _masked(change: WidgetChange) -> WidgetChange:
    """A difference only the real definitions have: its values are secret, and so is a transition's
    detail, which names the condition that keys it (a friendly name may hold a secret var)."""
    detail = MASK if change.what == "transition" else change.detail
    return WidgetChange(change.widget, change.what, detail, MASK, MASK)


def _summary(state: dict[str, Any]) -> dict[str, Any]:
    return {"type": state.get("type"), "transitions": _edges(state)}


def _diff_state(name: str, old: dict[str, Any], new: dict[str, Any]) -> list[WidgetChange]:
    changes: list[WidgetChange] = []
    if old.get("type") != new.get("type"):
        changes.append(WidgetChange(name, "property", "type", old.get("type"), new.get("type")))
    old_props = dict(old.get("properties") or {})
    new_props = dict(new.get("properties") or {})
    old_offset, new_offset = old_props.pop("offset", None), new_props.pop("offset", None)
    if old_offset != new_offset:
        changes.append(WidgetChange(name, "layout", "offset", old_offset, new_offset))
    for key in sorted(old_props.keys() | new_props.keys()):
        if old_props.get(key) == new_props.get(key):
            continue
        changes.extend(_property_changes(name, key, old_props.get(key), new_props.get(key)))
    old_edges, new_edges = _edges(old), _edges(new)
    for edge in sorted(old_edges.keys() | new_edges.keys()):
        before, after = old_edges.get(edge), new_edges.get(edge)
        if before != after:
            changes.append(WidgetChange(name, "transition", edge, before, after))
    return changes


def _property_changes(widget: str, key: str, before: Any, after: Any) -> list[WidgetChange]:
    """One change per leaf that differs, with a readable path like `parameters[0].value`."""
    if not isinstance(before, (dict, list)) or not isinstance(after, (dict, list)):
        return [WidgetChange(widget, "property", key, before, after)]
    diff = DeepDiff(before, after, verbose_level=2, view="tree")
    changes = []
    for items in diff.values():
        for item in items:
            path = item.path(root=key).replace("['", ".").replace("']", "")
            t1 = None if _is_missing(item.t1) else item.t1
            t2 = None if _is_missing(item.t2) else item.t2
            changes.append(WidgetChange(widget, "property", path, t1, t2))
    return changes


def _is_missing(value: Any) -> bool:
    return type(value).__name__ == "NotPresent"


def _edges(state: dict[str, Any]) -> dict[str, Any]:
    """Transitions keyed by event; `match` transitions keyed by their condition's name.

    The value is the target state, plus the conditions for a match and any other key the
    transition carries (Studio keeps a `name`), so a changed condition value or label shows
    as a transition change on that branch instead of going undeployed.
    """
    edges: dict[str, Any] = {}
    for index, transition in enumerate(state.get("transitions") or []):
        event = transition.get("event", "?")
        conditions = transition.get("conditions")
        rest = {k: v for k, v in transition.items() if k not in ("event", "next")}
        if conditions:
            label = conditions[0].get("friendly_name") or str(index)
            edges[f"{event}({label})"] = {"next": transition.get("next"), **rest}
        elif rest:
            edges[event] = {"next": transition.get("next"), **rest}
        else:
            edges[event] = transition.get("next")
    return edges


def describe(change: WidgetChange) -> str:
    """One line for humans, e.g. `menu --keypress--> sales  becomes  --> support`; a changed long
    string is its word diff, `menu.say: "... [-old-]{+new+} ..."` (lines, if it has several)."""
    if change.what == "transition":
        before, after = _target(change.before), _target(change.after)
        if before == after:  # same target, another key of the transition changed
            return f"{change.widget} --{change.detail}--> {after}: {_short(change.before)} -> {_short(change.after)}"
        return f"{change.widget} --{change.detail}--> {before}  becomes  --> {after}"
    if change.what == "added":
        return f"+ widget {change.widget} ({change.detail})"
    if change.what == "removed":
        return f"- widget {change.widget} ({change.detail})"
    if change.what == "layout":
        return f"{change.widget}: moved on the canvas (cosmetic)"
    diff = string_change(change)
    if diff is not None:
        return "\n".join(diff.plain())
    return f"{label(change)}: {_short(change.before)} -> {_short(change.after)}"


def label(change: WidgetChange) -> str:
    """What changed, for a property or flow field: `menu.say`, `flow.description`."""
    return f"{'flow' if change.widget == FLOW else change.widget}.{change.detail}"


def string_change(change: WidgetChange) -> StringDiff | None:
    """The word-level (or, for several lines, unified) diff of a changed string property, which
    renderers show instead of the two values: those would be cut before a change at the end."""
    from twideploy.render.textdiff import string_diff  # twideploy.render imports this module

    return string_diff(label(change), change.before, change.after) if change.what in ("property", "flow") else None


def _target(edge: Any) -> str:
    if edge is None:
        return "(none)"
    if isinstance(edge, dict):
        edge = edge.get("next")
    return edge or "(end)"


def _short(value: Any, limit: int = 80) -> str:
    text = "(absent)" if value is None else repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= limit else text[: limit - 3] + "..."
