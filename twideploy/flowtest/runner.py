"""`twideploy test`: run scenario files through the interpreter, compare, measure coverage.

Node's npm packages are cached in `.twideploy/cache/node` of the project, or under
`$TWIDEPLOY_CACHE_DIR` (CI can keep it between runs).

Each scenario runs in the environment it names (else its file's, else `--env`, else the
project's default): that environment's vars are substituted into the flows and its service
variables are what the Functions see. Functions run in Node.js through one `FunctionRunner`
per run (it installs each service's dependencies once); HTTP requests, the Functions' and the
Make HTTP Request widget's, are answered from the scenario's mocks, and a request no mock
answers is a test error naming method and URL.

A result is `passed`, `failed` (the flow did not do what the scenario expects: the first
divergence is the message) or `error` (the scenario could not run as written). Every text a
result carries has the environment's secret values replaced by the mask, so no output of
`twideploy test` can show one.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twideploy.errors import ManifestError, TwideployError
from twideploy.flowtest.functions import FunctionInvocation, FunctionRunner, FunctionRuntimeError
from twideploy.flowtest.http_mocks import HttpCall, HttpMock, find_mock
from twideploy.flowtest.interpreter import Answer, Execution, Interpreter, ScenarioError, Step, Trigger
from twideploy.flowtest.scenario import (
    MockSpec,
    ScenarioFile,
    ScenarioSpec,
    load_scenario_files,
    scenario_problems,
)
from twideploy.manifest import Environment, FunctionRef, Project, load_project
from twideploy.manifest.references import map_strings, substitute_flow_vars
from twideploy.render.flowgraph import FlowGraph, event_label
from twideploy.secrets import MASK, Secret, reveal
from twideploy.state.paths import StatePaths

FUNCTION_TIMEOUT_SECONDS = 10.0  # Studio FAQ: Run Function and HTTP Request time out after 10 seconds
PASSED, FAILED, ERROR = "passed", "failed", "error"


@dataclass
class ScenarioResult:
    file: str
    line: int
    flow: str
    name: str
    env: str
    status: str  # PASSED | FAILED | ERROR
    message: str = ""  # the first divergence, or the error
    path: list[str] = field(default_factory=list)
    effects: list[dict[str, Any]] = field(default_factory=list)  # {"widget", "type", properties...}
    variables: dict[str, Any] = field(default_factory=dict)
    event: str | None = None
    stopped: str | None = None
    http_calls: list[str] = field(default_factory=list)  # "GET url -> 200 (flows/x.test.yaml:12)"
    logs: list[str] = field(default_factory=list)  # Functions' console output
    seconds: float = 0.0

    @property
    def id(self) -> str:
        return f"{self.file}::{self.name}"


@dataclass
class FlowCoverage:
    """Which widgets and transitions of one flow the scenarios reached."""

    flow: str
    graph: FlowGraph  # of the symbolic flow: labels carry no substituted (secret) value
    reached: set[str] = field(default_factory=set)
    taken: set[tuple[str, str, str]] = field(default_factory=set)  # Edge.key

    @property
    def missed_widgets(self) -> list[str]:
        return [node.name for node in self.graph.nodes if node.name not in self.reached]

    @property
    def missed_transitions(self) -> list[tuple[str, str, str]]:
        return [edge.key for edge in self.graph.edges if edge.key not in self.taken]


@dataclass
class TestReport:
    results: list[ScenarioResult]
    coverage: list[FlowCoverage]
    seconds: float

    def count(self, status: str) -> int:
        return sum(result.status == status for result in self.results)

    @property
    def ok(self) -> bool:
        return all(result.status == PASSED for result in self.results)


def run_tests(root: Path, paths: list[Path] | None = None, *, env_name: str | None = None,
              keyword: str | None = None) -> TestReport:
    """Run the scenarios under `paths` (default flows/), those whose name or id contains `keyword`."""
    started = time.monotonic()
    project = load_project(root)
    files, problems = load_scenario_files(project.root, paths)
    problems += scenario_problems(project, files)
    if problems:
        raise ManifestError(problems)
    if not files:
        where = ", ".join(str(path) for path in paths) if paths else "flows/"
        raise TwideployError(f"no scenario files (*.test.yaml) under {where}")
    session = _Session(project, env_name)
    results = [session.run(sf, index) for sf in files for index, scenario in enumerate(sf.spec.scenarios)
               if _selected(sf, scenario, keyword)]
    if not results:
        raise TwideployError(f"no scenario matches -k {keyword!r}")
    coverage = session.coverage({result.flow for result in results})
    return TestReport(results, coverage, time.monotonic() - started)


def _selected(sf: ScenarioFile, scenario: ScenarioSpec, keyword: str | None) -> bool:
    return keyword is None or keyword.casefold() in f"{sf.file}::{scenario.name}".casefold()


class _EnvFlows(Mapping[str, dict[str, Any]]):
    """The project's flows with one environment's vars substituted, each when first asked for."""

    def __init__(self, project: Project, env: Environment):
        self.project, self.env = project, env
        self._done: dict[str, dict[str, Any]] = {}

    def __getitem__(self, name: str) -> dict[str, Any]:
        if name not in self._done:
            source = self.project.flows[name]
            try:
                self._done[name] = substitute_flow_vars(source.definition, self.env.vars)
            except ValueError as error:
                raise ScenarioError(f"flow {name!r} in environment {self.env.name!r}: {error}") from error
        return self._done[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.project.flows)

    def __len__(self) -> int:
        return len(self.project.flows)


class _Session:
    """What the scenarios of one run share: the project, the Node runner, the steps taken."""

    def __init__(self, project: Project, env_name: str | None):
        self.project = project
        self.env_name = env_name or project.default_environment
        self._functions: FunctionRunner | None = None
        self.trace: list[Step] = []

    def functions(self) -> FunctionRunner:
        if self._functions is None:
            self._functions = FunctionRunner(StatePaths(self.project.root).node_cache)
        return self._functions

    def run(self, sf: ScenarioFile, index: int) -> ScenarioResult:
        scenario = sf.spec.scenarios[index]
        env_name = scenario.env or sf.spec.env or self.env_name
        result = ScenarioResult(sf.file, sf.line("scenarios", index), sf.flow, scenario.name, env_name, ERROR)
        started = time.monotonic()
        secrets: list[str] = []
        try:
            env = self.project.environment(env_name)
            secrets = _secret_values(env)
            outside = _Outside(self, env, _mocks(sf, index))
            now = dt.datetime.fromisoformat(scenario.now) if scenario.now else None
            interpreter = Interpreter(_EnvFlows(self.project, env), outside, now=now, responses={
                (key if ":" in key else f"{sf.flow}:{key}"): [r.response() for r in
                                                              (given if isinstance(given, list) else [given])]
                for key, given in scenario.caller.items()})
            trigger_kind = scenario.trigger.kind() or "call"
            trigger = Trigger(trigger_kind, dict(getattr(scenario.trigger, trigger_kind) or {}),
                              dict(scenario.trigger.data))
            try:
                execution = interpreter.execute(sf.flow, trigger)
            finally:
                self.trace += interpreter.trace
                result.http_calls, result.logs = outside.calls, outside.logs
            _describe(result, execution)
            divergence = first_divergence(scenario, execution)
            result.status, result.message = (FAILED, divergence) if divergence else (PASSED, "")
        except (ScenarioError, ManifestError) as error:
            result.message = str(error)
        result.seconds = time.monotonic() - started
        return _masked(result, secrets)

    def coverage(self, tested: set[str]) -> list[FlowCoverage]:
        flows = sorted(tested | {step.flow for step in self.trace})
        out = {name: FlowCoverage(name, FlowGraph.from_definition(self.project.flows[name].definition))
               for name in flows if name in self.project.flows}
        for step in self.trace:
            cover = out.get(step.flow)
            if cover is None:
                continue
            cover.reached.add(step.widget)
            if step.transition is not None and step.next is not None:
                transitions = _states(self.project.flows[step.flow].definition)[step.widget]["transitions"]
                cover.taken.add((step.widget, event_label(transitions[step.transition]), step.next))
        return list(out.values())


def _states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {state["name"]: state for state in definition.get("states") or []}


def _mocks(sf: ScenarioFile, index: int) -> tuple[HttpMock, ...]:
    """The scenario's own mocks first (they win), then the file's."""
    def mock(spec: MockSpec, *path: Any) -> HttpMock:
        return HttpMock(spec.method.upper(), spec.url, spec.status, spec.body, dict(spec.headers),
                        f"{sf.file}:{sf.line(*path)}")
    own = [mock(m, "scenarios", index, "mocks", i) for i, m in enumerate(sf.spec.scenarios[index].mocks)]
    return (*own, *(mock(m, "mocks", i) for i, m in enumerate(sf.spec.mocks)))


def _secret_values(env: Environment) -> list[str]:
    values = [v for v in env.vars.values() if isinstance(v, Secret)]
    values += [v for service in env.services.values() for v in service.variables.values() if isinstance(v, Secret)]
    return sorted({reveal(v) for v in values if reveal(v)}, key=len, reverse=True)


class _Outside:
    """One scenario's answers to the outside world: its mocks, and the project's Functions."""

    def __init__(self, session: _Session, env: Environment, mocks: tuple[HttpMock, ...]):
        self.session, self.env, self.mocks = session, env, mocks
        self.calls: list[str] = []
        self.logs: list[str] = []

    def _note(self, call: HttpCall) -> None:
        answered = f"{call.mock.status} ({call.mock.where})" if call.mock else "unmocked"
        self.calls.append(f"{call.method} {call.url} -> {answered}")

    def http_request(self, method: str, url: str, body: str | None) -> Answer:
        mock = find_mock(self.mocks, method, url)
        self._note(HttpCall(method, url, body, mock))
        if mock is None:
            raise ScenarioError(f"unmocked request {method} {url}: add a mock for it to the scenario")
        headers = {name.lower(): value for name, value in mock.response_headers().items()}
        return Answer(mock.status, mock.body_text(), headers.get("content-type", "text/plain"))

    def run_function(self, function: str, event: dict[str, str]) -> Answer:
        ref = FunctionRef.parse(function)
        service = self.session.project.services.get(ref.service)
        deployed = self.env.services.get(ref.service)
        if service is None or service.function(ref.path) is None:
            raise ScenarioError(f"Run Function: no function {function!r} in functions/")
        if deployed is None:
            raise ScenarioError(f"Run Function: environment {self.env.name!r} does not deploy service {ref.service!r}")
        try:
            outcome = self.session.functions().run(FunctionInvocation(
                service_dir=self.session.project.root / "functions" / ref.service,
                path=ref.path,
                event=event,
                variables=dict(deployed.variables),  # secrets stay Secret: the runtime masks them in logs
                mocks=self.mocks,
                timeout_seconds=FUNCTION_TIMEOUT_SECONDS,
                dependencies=dict(service.dependencies),
            ))
        except FunctionRuntimeError as error:  # no Node.js, npm install failed: this scenario cannot run
            raise ScenarioError(f"{function}: {error}") from error
        for call in outcome.http_calls:
            self._note(call)
        self.logs += [f"{function}: {line}" for line in outcome.logs]
        unmocked = [call for call in outcome.http_calls if call.mock is None]
        if unmocked:
            raise ScenarioError(f"{function}: unmocked request {unmocked[0].method} {unmocked[0].url}: add a mock "
                            "for it to the scenario")
        if outcome.error:
            self.logs.append(f"{function}: {outcome.error}")
        return Answer(outcome.status_code, outcome.body, outcome.content_type)


def _describe(result: ScenarioResult, execution: Execution) -> None:
    result.path = [step.widget for step in execution.steps if step.flow == execution.flow]
    result.effects = [{"widget": e.widget if e.flow == execution.flow else f"{e.flow}:{e.widget}", "type": e.type,
                       **e.properties} for e in execution.effects]
    result.variables = dict(execution.variables)
    result.event = execution.event
    result.stopped = execution.stopped
    if execution.stopped:
        result.message = execution.stopped


# --------------------------------------------------------------------------- expectations


def _arrows(names: list[str]) -> str:
    return " -> ".join(names) or "(nothing)"


def first_divergence(scenario: ScenarioSpec, execution: Execution) -> str | None:
    """The first way `execution` differs from what `scenario` expects, readable; None if it does not."""
    expect = scenario.expect
    own = [step for step in execution.steps if step.flow == execution.flow]
    execution_path = [step.widget for step in own]
    if execution.stopped and not expect.stopped:
        return f"the execution {execution.stopped}\n  path: {_arrows(execution_path[-12:])}"
    if expect.stopped and not execution.stopped:
        return "expected the execution to hit a Studio runtime limit; it ended normally"
    if expect.path is not None and expect.path != execution_path:
        return _path_divergence(expect.path, own)
    if expect.path_includes is not None:
        missing = _not_in_order(expect.path_includes, execution_path)
        if missing is not None:
            return (f"expected {missing!r} to be visited (in this order: {_arrows(expect.path_includes)})\n"
                    f"  actual path: {_arrows(execution_path)}")
    for index, wanted in enumerate(expect.effects or []):
        problem = _missing_effect(index, wanted.widget, wanted.properties(), execution)
        if problem:
            return problem
    for key, value in (expect.variables or {}).items():
        actual = execution.variables.get(key)
        if actual != value:
            shown = "unset" if actual is None else repr(actual)
            return f"flow.variables.{key}: expected {value!r}, got {shown}"
    if expect.event is not None and expect.event != execution.event:
        last = own[-1].widget if own else "?"
        return f"expected the execution to end with event {expect.event!r}; it ended with {execution.event!r} at {last}"
    return None


def _path_divergence(expected: list[str], steps: list[Step]) -> str:
    actual = [step.widget for step in steps]
    same = (i for i, (want, got) in enumerate(zip(expected, actual, strict=False)) if want != got)
    at = next(same, min(len(expected), len(actual)))  # the first step that differs
    lines = []
    if at == 0:
        lines.append(f"the execution starts at {actual[0]!r}, expected {expected[0]!r}")
    else:
        before = steps[at - 1]
        fired = f"after {before.widget!r} fired {before.event!r}"
        if before.condition:
            fired += f" ({before.condition})"
        if at >= len(actual):
            lines.append(f"{fired}, the execution ended; expected it to go on to {expected[at]!r}")
        elif at >= len(expected):
            lines.append(f"{fired}, the execution went on to {actual[at]!r}; expected it to end")
        else:
            lines.append(f"{fired}, the execution went to {actual[at]!r}; expected {expected[at]!r}")
    lines.append(f"  expected path: {_arrows(expected)}")
    return "\n".join(lines)


def _not_in_order(wanted: list[str], actual: list[str]) -> str | None:
    position = 0
    for name in wanted:
        try:
            position = actual.index(name, position) + 1
        except ValueError:
            return name
    return None


def _qualified(execution: Execution, flow: str, widget: str) -> str:
    return widget if flow == execution.flow else f"{flow}:{widget}"


def _missing_effect(index: int, widget: str, wanted: dict[str, Any], execution: Execution) -> str | None:
    """Effect `index` of the expectation: some effect at `widget` has each of the `wanted` properties."""
    at_widget = [e for e in execution.effects if _qualified(execution, e.flow, e.widget) == widget]
    for effect in at_widget:
        if all(_same(effect.properties.get(key), value) for key, value in wanted.items()):
            return None
    if not at_widget:
        return f"expected effect #{index + 1} at {widget!r}; the execution never reached it"
    shown = "\n".join(f"    {key}: {effect.properties.get(key)!r}" for effect in at_widget for key in wanted)
    expected = "\n".join(f"    {key}: {value!r}" for key, value in wanted.items())
    return f"effect at {widget!r} differs\n  expected:\n{expected}\n  actual:\n{shown}"


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, str) and not isinstance(actual, str):
        return json.dumps(actual) == expected or str(actual) == expected
    return bool(actual == expected)


# --------------------------------------------------------------------------- secrets


def _masked(result: ScenarioResult, secrets: list[str]) -> ScenarioResult:
    def mask(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, MASK)
        return text

    for name in ("message", "path", "effects", "variables", "http_calls", "logs", "stopped"):
        setattr(result, name, map_strings(getattr(result, name), mask))
    return result
