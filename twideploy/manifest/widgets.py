"""The Studio widget library as far as `validate` checks it, read from `studio_schemas/`.

The widget types are those of Twilio's flow-definition schema (`flow-definition.json`);
each type's transition events, the properties Studio refuses it without, and those it is
useless without come from `widgets.json`, which says where each rule comes from (see
studio_schemas/README.md). Keeping the rules in those files, not here, lets the tests check
every example flow against exactly what `validate` enforces.

`required` and `expected` are lists of alternatives groups: each group needs at least one of
its keys. A missing `required` group is an error, a missing `expected` group a warning. The
symbolic keys `function` (run-function) and `flow` (run-subflow) satisfy the groups of the
`url` and `flow_sid` they compile to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).parent / "studio_schemas"

# Symbolic key -> the Studio property it compiles to, per widget type (references.compile_flow).
SYMBOLIC = {"run-function": {"url": "function"}, "run-subflow": {"flow_sid": "flow"}}


@dataclass(frozen=True)
class Widget:
    type: str
    events: tuple[str, ...] | None  # None: not checked (types no source documents)
    required: tuple[tuple[str, ...], ...] = ()
    expected: tuple[tuple[str, ...], ...] = ()


def load_schema(name: str) -> dict[str, Any]:
    """One of the vendored JSON Schemas: `flow-definition.json` (Twilio's) or `widgets.json`."""
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def _widget(kind: str, spec: dict[str, Any]) -> Widget:
    symbolic = SYMBOLIC.get(kind, {})

    def with_symbolic(keys: list[str]) -> tuple[str, ...]:
        out: list[str] = []
        for key in keys:
            if key in symbolic:
                out.append(symbolic[key])
            out.append(key)
        return tuple(out)

    fields = spec.get("properties", {})
    event = fields.get("transitions", {}).get("items", {}).get("properties", {}).get("event")
    groups = fields.get("properties", {}).get("allOf", [])
    return Widget(
        kind,
        tuple(event["enum"]) if event else None,
        tuple(with_symbolic([alt["required"][0] for alt in group["anyOf"]]) for group in groups),
        tuple(with_symbolic(group) for group in spec.get("x-twideploy-expected", [])),
    )


STUDIO_TYPES: tuple[str, ...] = tuple(
    load_schema("flow-definition.json")["properties"]["states"]["items"]["properties"]["type"]["enum"])

_DEFINITIONS = load_schema("widgets.json")["definitions"]
WIDGETS: dict[str, Widget] = {kind: _widget(kind, _DEFINITIONS.get(kind, {})) for kind in STUDIO_TYPES}

CONDITION_TYPES = frozenset({
    "equal_to", "not_equal_to", "matches_any_of", "does_not_match_any_of", "is_blank",
    "is_not_blank", "contains", "does_not_contain", "starts_with", "does_not_start_with",
    "less_than", "greater_than", "is_after_time", "is_before_time", "is_after", "is_before",
    "regex",
})
