"""Scenario files, `flows/**/*.test.yaml`: the format (pydantic), loading with file:line, and checks.

A scenario file sits next to the flow it tests (`flows/ivr-main.test.yaml` tests `ivr-main`,
or says `flow:`) and holds scenarios: a trigger, the caller's behaviour per widget, HTTP mocks
and what is expected (the path of widgets, effects, flow variables, the final event).
docs/flow-tests.md has the format with examples.

Loading goes through the manifest loader's `ProjectFiles`, so a scenario file is read with the
same bounds and every problem is `file:line: message`. `scenario_problems` is what `validate`
adds for scenario files: unknown flows, widgets, events and environments, located at the line
that names them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from twideploy.errors import Problem
from twideploy.flowtest.http_mocks import url_pattern_problem
from twideploy.flowtest.interpreter import SILENT_WORLD, TRIGGER_EVENTS, Response
from twideploy.manifest.documents import DataPath, LineMap
from twideploy.manifest.files import ProjectFiles, visible
from twideploy.manifest.flow_loader import SCENARIO_SUFFIXES, is_scenario_file
from twideploy.manifest.project import Project
from twideploy.manifest.widgets import WIDGETS

# Widgets that run without the outside world: a script for them would never be read.
UNSCRIPTABLE = frozenset({"trigger", "split-based-on", "set-variables"})


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ResponseSpec(_Spec):
    """What happens at one visit of a widget: a shorthand (digits, speech, reply) or an event."""

    event: str | None = Field(None, description="The event the widget fires (e.g. hangup, failed, noAnswer).")
    digits: str | None = Field(None, description="Gather: the keys pressed (keypress, widgets.NAME.Digits).")
    speech: str | None = Field(None, description="Gather: what was said (speech, widgets.NAME.SpeechResult).")
    reply: str | None = Field(None, description="Send & Wait: the SMS reply (widgets.NAME.inbound.Body).")
    outputs: dict[str, JsonValue] = Field(default_factory=dict, description="More outputs, widgets.NAME.<key>.")

    def response(self) -> Response:
        return Response(self.event, self.digits, self.speech, self.reply, dict(self.outputs))


class MockSpec(_Spec):
    method: str = Field("*", description='"GET", "POST", ... or "*" for any.')
    url: str = Field(description='A glob ("https://crm.example.com/customers*", query string included) '
                                 'or "re:<regex>".')
    status: int = 200
    body: JsonValue = Field(None, description="A mapping or list is answered as JSON, a string as text.")
    headers: dict[str, str] = Field(default_factory=dict)


class TriggerSpec(_Spec):
    """How the execution starts: exactly one of call, message, request, parent, conversation."""

    call: dict[str, str] | None = Field(None, description="trigger.call.* (From, To, ...): an incoming call.")
    message: dict[str, str] | None = Field(None, description="trigger.message.* (From, To, Body, ...).")
    request: dict[str, str] | None = Field(None, description="trigger.request.*: the REST API (From, To).")
    parent: dict[str, str] | None = Field(None, description="trigger.parent.*: started by a Run Subflow widget.")
    conversation: dict[str, str] | None = Field(None, description="trigger.conversation.*.")
    data: dict[str, JsonValue] = Field(default_factory=dict,
                                       description="flow.data: the REST API's Parameters or the subflow's parameters.")

    def kind(self) -> str | None:
        given = [kind for kind in TRIGGER_EVENTS if getattr(self, kind) is not None]
        return given[0] if len(given) == 1 else None


class EffectExpectation(BaseModel):
    """One expected effect: the widget, and any of its rendered properties (say, body, to, ...)."""

    model_config = ConfigDict(extra="allow", strict=True)
    widget: str

    def properties(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Expectation(_Spec):
    path: list[str] | None = Field(None, min_length=1, description="Every widget visited, in order, exactly.")
    path_includes: list[str] | None = Field(None, description="These widgets visited in this order (others between).")
    effects: list[EffectExpectation] | None = Field(None, description="Each of these effects happened (others too).")
    variables: dict[str, str] | None = Field(None, description="flow.variables at the end (these keys).")
    event: str | None = Field(None, description="The last event: how the execution ended.")
    stopped: bool = Field(False, description="true: the execution hits a Studio runtime limit.")


class ScenarioSpec(_Spec):
    name: str = Field(min_length=1)
    env: str | None = Field(None, description="Environment whose vars and service variables apply.")
    now: str | None = Field(None, description="The clock, ISO 8601 (time-based split conditions); default: now.")
    trigger: TriggerSpec
    caller: dict[str, ResponseSpec | list[ResponseSpec]] = Field(
        default_factory=dict, description="Per widget (`FLOW:WIDGET` for a subflow's): one response, or one per visit.")
    mocks: list[MockSpec] = Field(default_factory=list)
    expect: Expectation

    @field_validator("now")
    @classmethod
    def _iso_time(cls, value: str | None) -> str | None:
        if value is not None:
            dt.datetime.fromisoformat(value)
        return value


class ScenarioFileSpec(_Spec):
    flow: str | None = Field(None, description="The flow tested; default: this file's name without .test.yaml.")
    env: str | None = Field(None, description="Default environment of the scenarios.")
    mocks: list[MockSpec] = Field(default_factory=list, description="Mocks shared by every scenario of the file.")
    scenarios: list[ScenarioSpec] = Field(min_length=1)


@dataclass
class ScenarioFile:
    file: str  # relative to the project root
    flow: str
    spec: ScenarioFileSpec
    lines: LineMap

    def line(self, *path: Any) -> int:
        return self.lines.line(tuple(path))


def flow_of(file: str, spec: ScenarioFileSpec) -> str:
    """The flow a scenario file tests: its `flow:`, else its path under flows/ without the suffix."""
    if spec.flow:
        return spec.flow
    name = file.removeprefix("flows/")
    for suffix in SCENARIO_SUFFIXES:
        name = name.removesuffix(suffix)
    return name


def scenario_paths(root: Path, paths: list[Path] | None = None) -> list[Path]:
    """The scenario files under `paths` (files or folders), default flows/; sorted."""
    found: set[Path] = set()
    for given in paths or [root / "flows"]:
        given = given if given.is_absolute() else (Path.cwd() / given)
        if given.is_file():
            found.add(given.resolve())
        elif given.is_dir():
            found.update(p.resolve() for p in given.rglob("*")
                         if p.is_file() and is_scenario_file(p) and visible(p.relative_to(given)))
    return sorted(found)


def load_scenario_files(root: Path, paths: list[Path] | None = None) -> tuple[list[ScenarioFile], list[Problem]]:
    """Every scenario file under `paths`, schema-checked; problems as file:line."""
    files = ProjectFiles(root.resolve())
    loaded: list[ScenarioFile] = []
    for path in scenario_paths(files.root, paths):
        if not path.is_relative_to(files.root):
            files.error(str(path), 0, "outside the project directory; scenario files live under flows/")
            continue
        if not is_scenario_file(path):
            files.error(files.rel(path), 0, "not a scenario file: scenario files end in .test.yaml")
            continue
        doc = files.read(path)
        spec = files.check(ScenarioFileSpec, doc) if doc else None
        if doc is not None and spec is not None:
            loaded.append(ScenarioFile(doc.file, flow_of(doc.file, spec), spec, doc.lines))
    return loaded, files.problems


# --------------------------------------------------------------------------- checks


def scenario_problems(project: Project, scenario_files: list[ScenarioFile]) -> list[Problem]:
    """What `validate` reports about scenario files beyond their schema."""
    problems: list[Problem] = []
    for sf in scenario_files:
        problems += _FileCheck(project, sf).run()
    return problems


class _FileCheck:
    def __init__(self, project: Project, sf: ScenarioFile):
        self.project, self.sf = project, sf
        self.problems: list[Problem] = []

    def at(self, path: DataPath, message: str) -> None:
        self.problems.append(self.sf.lines.problem(path, message))

    def states(self, flow: str) -> dict[str, dict[str, Any]]:
        source = self.project.flows.get(flow)
        return {s["name"]: s for s in source.definition.get("states") or []} if source else {}

    def known_env(self, path: DataPath, env: str | None) -> None:
        if env is not None and env not in self.project.environments and f"env:{env}" not in self.project.broken:
            known = ", ".join(sorted(self.project.environments)) or "none"
            self.at(path, f"unknown environment {env!r} (environments: {known})")

    def run(self) -> list[Problem]:
        sf = self.sf
        if sf.flow not in self.project.flows:
            if f"flow:{sf.flow}" not in self.project.broken:
                known = ", ".join(sorted(self.project.flows)) or "none"
                self.at(("flow",), f"unknown flow {sf.flow!r} (flows: {known})")
            return self.problems
        self.known_env(("env",), sf.spec.env)
        self.mocks(("mocks",), sf.spec.mocks)
        states = self.states(sf.flow)
        names = [s.name for s in sf.spec.scenarios]
        for index, scenario in enumerate(sf.spec.scenarios):
            here = ("scenarios", index)
            if names.index(scenario.name) != index:
                self.at((*here, "name"), f"scenario {scenario.name!r} is defined twice in this file")
            self.known_env((*here, "env"), scenario.env)
            kind = scenario.trigger.kind()
            if kind is None:
                self.at((*here, "trigger"), "a trigger is exactly one of: " + ", ".join(TRIGGER_EVENTS))
            self.mocks((*here, "mocks"), scenario.mocks)
            self.caller(here, scenario)
            self.expectation((*here, "expect"), scenario.expect, states)
        return self.problems

    def mocks(self, path: DataPath, mocks: list[MockSpec]) -> None:
        for index, mock in enumerate(mocks):
            problem = url_pattern_problem(mock.url)
            if problem:
                self.at((*path, index, "url"), problem)

    def widget(self, path: DataPath, flow: str, name: str, states: dict[str, dict[str, Any]]) -> dict | None:
        if name not in states:
            self.at(path, f"flow {flow!r} has no widget {name!r}")
            return None
        return states[name]

    def caller(self, here: DataPath, scenario: ScenarioSpec) -> None:
        for key, given in scenario.caller.items():
            path = (*here, "caller", key)
            flow, _, name = key.rpartition(":")
            flow = flow or self.sf.flow
            if flow not in self.project.flows:
                self.at(path, f"unknown flow {flow!r} in {key!r}")
                continue
            state = self.widget(path, flow, name, self.states(flow))
            if state is None:
                continue
            if state["type"] in UNSCRIPTABLE:
                self.at(path, f"widget {name!r} is a {state['type']}: it runs on its own, a script is never read")
                continue
            for i, response in enumerate(given if isinstance(given, list) else [given]):
                self.response((*path, i) if isinstance(given, list) else path, state, response)

    def response(self, path: DataPath, state: dict[str, Any], response: ResponseSpec) -> None:
        kind = state["type"]
        events = WIDGETS[kind].events if kind in WIDGETS else None
        if response.event is not None and events is not None and response.event not in events:
            self.at((*path, "event"), f"widget {state['name']!r} ({kind}) has no event {response.event!r} "
                                      f"(events: {', '.join(events)})")
        shorthand = {"digits": "gather-input-on-call", "speech": "gather-input-on-call",
                     "reply": "send-and-wait-for-reply"}
        for key, wanted in shorthand.items():
            if getattr(response, key) is not None and kind != wanted:
                self.at((*path, key), f"{key!r} is for {wanted} widgets; {state['name']!r} is a {kind}")
        if kind not in SILENT_WORLD and response.event is None:
            self.at(path, f"widget {state['name']!r} ({kind}) is run, not answered: a script for it needs an event")

    def expectation(self, here: DataPath, expect: Expectation, states: dict[str, dict[str, Any]]) -> None:
        for key in ("path", "path_includes"):
            for i, name in enumerate(getattr(expect, key) or []):
                self.widget((*here, key, i), self.sf.flow, name, states)
        for i, effect in enumerate(expect.effects or []):
            flow, _, name = effect.widget.rpartition(":")
            self.widget((*here, "effects", i, "widget"), flow or self.sf.flow, name, self.states(flow or self.sf.flow))
        if expect.event is not None:
            events: set[str] = set()
            for state in states.values():
                events.update((WIDGETS[state["type"]].events or ()) if state["type"] in WIDGETS else ())
                events.update(str(t.get("event")) for t in state.get("transitions") or [])
            if expect.event not in events:
                self.at((*here, "event"), f"no widget of flow {self.sf.flow!r} fires {expect.event!r}")
