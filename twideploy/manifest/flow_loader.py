"""Loading `flows/`: one Studio flow per file, named by its path, as a FlowSource.

A flow's name is its path under flows/ without the suffix (`subflows/lookup-caller`), which
environments list and widgets reference, so two files for one name, or a name Studio
references cannot carry, are errors here. Scenario files (`*.test.yaml`, `twideploy test`) live
next to the flows they test and are skipped. The definition is kept with Studio's defaults
made explicit (`normalize_flow`), so that a file which leaves them out compares equal to
the flow Studio returns; export uses it to tell whether a file already says what it would write.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from twideploy.manifest.files import ProjectFiles, visible
from twideploy.manifest.models import FlowSpec
from twideploy.manifest.project import FlowSource
from twideploy.manifest.references import _FLOW_NAME

FLOW_SUFFIXES = (".yaml", ".yml", ".json")
SCENARIO_SUFFIXES = (".test.yaml", ".test.yml")  # flow tests (twideploy.flowtest), never flows


def is_scenario_file(path: Path) -> bool:
    return path.name.endswith(SCENARIO_SUFFIXES)


def load_flows(files: ProjectFiles) -> dict[str, FlowSource]:
    """Every flow under flows/ by name; a file that fails leaves its name in `files.broken`."""
    flows: dict[str, FlowSource] = {}
    seen_files: dict[str, str] = {}
    base = files.root / "flows"
    if not base.is_dir():
        return flows
    for path in sorted(p for p in base.rglob("*")
                       if p.is_file() and visible(p.relative_to(files.root)) and not is_scenario_file(p)):
        file = files.rel(path)
        if path.suffix not in FLOW_SUFFIXES:
            files.warn(file, 1, "ignored: flow files end in .yaml, .yml or .json")
            continue
        name = path.relative_to(base).with_suffix("").as_posix()
        if not _FLOW_NAME.fullmatch(name):
            files.error(file, 1, f"invalid flow name {name!r}: use letters, digits, '.', '_' and '-'")
            continue
        if name in seen_files:
            files.error(file, 1, f"flow {name!r} is also defined by {seen_files[name]}; keep one file per flow")
            continue
        seen_files[name] = file
        doc = files.read(path)
        spec = files.check(FlowSpec, doc) if doc else None
        if doc is None or spec is None:
            files.broken.add(f"flow:{name}")
            continue
        flows[name] = FlowSource(
            name=name,
            friendly_name=spec.friendly_name or name,
            file=path,
            status=spec.status or "published",
            definition=normalize_flow(doc.data),
        )
    return flows


def normalize_flow(data: dict[str, Any]) -> dict[str, Any]:
    """The Studio definition part of a flow file, with Studio's defaults made explicit."""
    definition = {k: copy.deepcopy(v) for k, v in data.items() if k not in ("friendly_name", "status")}
    definition.setdefault("description", "")
    if definition.get("flags") is None:
        definition["flags"] = {"allow_concurrent_calls": True}
    states = definition.get("states") or []
    for state in states:
        state.setdefault("properties", {})
        state.setdefault("transitions", [])
    if not definition.get("initial_state"):
        triggers = [s["name"] for s in states if s.get("type") == "trigger"]
        if len(triggers) == 1:
            definition["initial_state"] = triggers[0]
    first = ("description", "initial_state", "flags", "states")
    ordered: dict[str, Any] = {k: definition[k] for k in first if k in definition}
    ordered.update({k: v for k, v in definition.items() if k not in ordered})
    return ordered
