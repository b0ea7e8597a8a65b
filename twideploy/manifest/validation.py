"""Offline checks beyond the schema: flow structure, references, environments.

`check_flow` looks at one Studio definition alone (usable on an exported or a live flow);
`validate_project` checks a loaded project as a whole. Both return problems, errors and
warnings, each located at a file and 1-based line; neither does any I/O.
"""

from __future__ import annotations

import difflib
import re
from collections import deque
from collections.abc import Iterator
from typing import Any

from twideploy.errors import Problem
from twideploy.manifest.documents import DataPath, LineMap, format_path
from twideploy.manifest.models import TransitionSpec
from twideploy.manifest.project import Environment, FlowSource, Project
from twideploy.manifest.references import FUNCTION_KEYS, FlowRef, FunctionRef, UrlTarget
from twideploy.manifest.templates import EXPRESSION, has_url_password, unterminated
from twideploy.manifest.widgets import CONDITION_TYPES, WIDGETS, Widget
from twideploy.secrets import Secret

SID = re.compile(r"\b([A-Z]{2})[0-9a-f]{32}\b")
FUNCTIONS_DOMAIN = re.compile(r"\b[a-z0-9-]+\.twil\.io\b")
LIQUID = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
WIDGET_REF = re.compile(r"\bwidgets\s*(?:\.\s*([A-Za-z0-9_]+)|\[\s*['\"]([^'\"]+)['\"]\s*\])")
VAR_REF = re.compile(r"\$\{vars\.([A-Za-z_][A-Za-z0-9_]*)\}")
STRUCTURAL = ("name", "type", "next", "event")
TRANSITION_KEYS = tuple(TransitionSpec.model_fields)  # those Studio documents, and the `name` it keeps
SYMBOLIC_SID_HINT = {
    "ZS": "function: SERVICE/PATH", "ZE": "function: SERVICE/PATH", "ZH": "function: SERVICE/PATH",
    "FW": "flow: NAME",
}


def _close(word: object, options: Any) -> str:
    match = difflib.get_close_matches(str(word), [str(o) for o in options], n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _strings(value: Any, path: DataPath) -> Iterator[tuple[DataPath, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, path + (i,))


def content_strings(definition: dict) -> Iterator[tuple[DataPath, str]]:
    """Every string of a flow that is content (where vars and Liquid live), with its path."""
    for key in ("description", "flags"):
        if key in definition:
            yield from _strings(definition[key], (key,))
    for i, state in enumerate(definition.get("states") or []):
        if not isinstance(state, dict):
            continue
        for key, value in state.items():
            if key == "transitions" and isinstance(value, list):
                for j, transition in enumerate(value):
                    if isinstance(transition, dict):
                        for tk, tv in transition.items():
                            if tk not in STRUCTURAL:
                                yield from _strings(tv, ("states", i, "transitions", j, tk))
            elif key not in STRUCTURAL:
                yield from _strings(value, ("states", i, key))


def flow_var_refs(definition: dict) -> Iterator[tuple[DataPath, str]]:
    for path, text in content_strings(definition):
        for m in VAR_REF.finditer(text):
            yield path, m.group(1)


def flow_function_refs(definition: dict) -> Iterator[tuple[DataPath, str]]:
    for i, state in enumerate(definition.get("states") or []):
        if isinstance(state, dict) and state.get("type") == "run-function":
            props = state.get("properties") or {}
            if isinstance(props, dict) and isinstance(props.get("function"), str):
                yield ("states", i, "properties", "function"), props["function"]


def flow_subflow_refs(definition: dict) -> Iterator[tuple[DataPath, str]]:
    for i, state in enumerate(definition.get("states") or []):
        if isinstance(state, dict) and state.get("type") == "run-subflow":
            props = state.get("properties") or {}
            if isinstance(props, dict) and isinstance(props.get("flow"), str):
                yield ("states", i, "properties", "flow"), props["flow"]


# --------------------------------------------------------------------------- one flow


def check_flow(definition: dict, file: str, lines: LineMap) -> list[Problem]:
    """Structural checks of one Studio definition (symbolic or raw).

    For a .json file each message starts with the JSON path of the offending value.
    """
    json_paths = file.endswith(".json")
    problems: list[Problem] = []

    def report(path: DataPath, message: str, severity: str = "error", state: str | None = None) -> None:
        text = f"state {state!r}: {message}" if state is not None else message
        if json_paths:
            text = f"{format_path(path, json_style=True)}: {text}"
        problems.append(Problem(file, lines.line(path), text, severity))

    states = definition.get("states")
    if not isinstance(states, list) or not states:
        report(("states",), "a flow needs at least one state")
        return problems

    names: dict[str, int] = {}
    triggers: list[int] = []
    for i, state in enumerate(states):
        if not isinstance(state, dict):
            report(("states", i), "a state must be a mapping")
            continue
        name = state.get("name")
        if not isinstance(name, str):
            continue
        if name in names:
            first = lines.line(("states", names[name], "name"))
            report(("states", i, "name"), f"duplicate state name {name!r} (first at line {first})")
        else:
            names[name] = i
        if state.get("type") == "trigger":
            triggers.append(i)

    trigger_name: str | None = None
    if not triggers:
        report(("states",), "no trigger state: a flow needs exactly one state of type 'trigger'")
    else:
        trigger_name = states[triggers[0]].get("name")
        for i in triggers[1:]:
            report(("states", i, "type"),
                   f"a second trigger (the first is {trigger_name!r}); a flow has exactly one trigger",
                   state=states[i].get("name"))
    initial = definition.get("initial_state")
    if initial is not None and trigger_name is not None and initial != trigger_name:
        if initial not in names:
            report(("initial_state",), f"initial_state {initial!r} names no state{_close(initial, names)}")
        else:
            report(("initial_state",), f"initial_state {initial!r} must be the trigger state {trigger_name!r}")

    for field in ("initial_state",):
        value = definition.get(field)
        if isinstance(value, str) and "${" in value:
            report((field,), f"{field}: ${{...}} references are not allowed in state names")

    # Per state: type, properties, transitions.
    for i, state in enumerate(states):
        if not isinstance(state, dict):
            continue
        name = state.get("name")
        kind = state.get("type")
        props = state.get("properties") or {}
        for field in ("name", "type"):
            value = state.get(field)
            if isinstance(value, str) and "${" in value:
                report(("states", i, field), f"{field}: ${{...}} references are not allowed here", state=name)
        widget = WIDGETS.get(kind) if isinstance(kind, str) else None
        if widget is None:
            report(("states", i, "type"), f"unknown widget type {kind!r}{_close(kind, WIDGETS)}", state=name)
        elif isinstance(props, dict):
            where = ("states", i, "properties") if ("states", i, "properties") in lines.entries else ("states", i)
            _check_properties(widget, props, where, name, report)
        if isinstance(props, dict):
            _check_symbolic(props, kind, ("states", i, "properties"), name, report)

        seen_events: dict[str, int] = {}
        for j, transition in enumerate(state.get("transitions") or []):
            if not isinstance(transition, dict):
                continue
            tpath = ("states", i, "transitions", j)
            for key in transition:
                if key not in TRANSITION_KEYS:
                    report(tpath + (key,), f"unknown transition key {key!r}{_close(key, TRANSITION_KEYS)}: "
                                           "Studio keeps it but does nothing with it", "warning", state=name)
            event = transition.get("event")
            if widget is not None and widget.events is not None and event not in widget.events:
                report(
                    tpath + ("event",),
                    f"{kind} has no transition event {event!r}{_close(event, widget.events)} "
                    f"(events: {', '.join(widget.events)})",
                    state=name,
                )
            if event != "match" and isinstance(event, str):
                if event in seen_events:
                    report(tpath + ("event",), f"transition event {event!r} appears twice", state=name)
                seen_events[event] = j
            conditions = transition.get("conditions")
            if event == "match" and not conditions:
                report(tpath, "a 'match' transition needs conditions", state=name)
            if conditions and event != "match":
                report(tpath + ("conditions",), f"only 'match' transitions have conditions, not {event!r}", state=name)
            for k, condition in enumerate(conditions or []):
                ctype = condition.get("type") if isinstance(condition, dict) else None
                if ctype is not None and ctype not in CONDITION_TYPES:
                    report(tpath + ("conditions", k, "type"),
                           f"unknown condition type {ctype!r}{_close(ctype, CONDITION_TYPES)}", state=name)
            nxt = transition.get("next")
            if isinstance(nxt, str) and "${" in nxt:
                report(tpath + ("next",), "next: ${...} references are not allowed here", state=name)
            elif nxt is not None and nxt not in names:
                report(tpath + ("next",), f"transition {event!r} goes to unknown state {nxt!r}{_close(nxt, names)}",
                       state=name)
            elif nxt is not None and nxt == trigger_name:
                report(tpath + ("next",), f"transition {event!r} goes back to the trigger; Studio does not allow that",
                       state=name)

    # Reachability from the trigger.
    if trigger_name is not None and not any(p.severity == "error" and "duplicate state" in p.message for p in problems):
        reached = {trigger_name}
        queue = deque([trigger_name])
        while queue:
            state = states[names[queue.popleft()]]
            for transition in state.get("transitions") or []:
                nxt = transition.get("next") if isinstance(transition, dict) else None
                if nxt in names and nxt not in reached:
                    reached.add(nxt)
                    queue.append(nxt)
        for name, i in names.items():
            if name not in reached:
                report(("states", i, "name"), "unreachable: no transition leads here from the trigger", "warning",
                       state=name)

    # Strings: Liquid widget references, ${...} expressions, raw SIDs.
    for path, text in content_strings(definition):
        state_name = states[path[1]].get("name") if path[0] == "states" and isinstance(states[path[1]], dict) else None
        for block in LIQUID.findall(text):
            for m in WIDGET_REF.finditer(block):
                ref = m.group(1) or m.group(2)
                if ref not in names:
                    report(path, f"{{{{widgets.{ref}...}}}} refers to no state{_close(ref, names)}", "warning",
                           state=state_name)
        for m in EXPRESSION.finditer(text):
            inner = m.group(1).strip()
            if inner.startswith("env:"):
                report(path, f"{m.group(0)}: ${{env:...}} is only allowed in environment files; "
                             "define a var there and use ${vars.NAME}", state=state_name)
            elif inner.startswith("vars.") and not re.fullmatch(r"vars\.[A-Za-z_][A-Za-z0-9_]*", inner):
                report(path, f"{m.group(0)[:60]} is not a valid ${{vars.NAME}} reference (a missing '}}'?)",
                       state=state_name)
            elif not (inner == "$" or re.fullmatch(r"vars\.[A-Za-z_][A-Za-z0-9_]*", inner)):
                report(path, f"{m.group(0)} is not a twideploy reference and stays literal "
                             "(write ${$}{ for a literal '${')", "warning", state=state_name)
        for m in SID.finditer(text):
            prefix = m.group(1)
            if prefix == "AC":
                hint = "the account differs per environment; use ${vars.NAME}"
            elif prefix in SYMBOLIC_SID_HINT:
                hint = f"use {SYMBOLIC_SID_HINT[prefix]} (`twideploy export` writes it)"
            else:
                hint = "use ${vars.NAME} with a value per environment"
            report(path, f"raw SID {m.group(0)} is not portable between environments: {hint}", "warning",
                   state=state_name)
        for m in FUNCTIONS_DOMAIN.finditer(text):
            report(path, f"{m.group(0)} is one Serverless environment's domain and is not rewritten by "
                         "promote: use `function: SERVICE/PATH` in a run-function widget, or ${vars.NAME}",
                   "warning", state=state_name)
    _check_hand_written_text(definition, states, report)
    return problems


def _check_hand_written_text(definition: dict, states: list, report) -> None:
    """Typos and secrets in content strings: an unterminated `${` would deploy as literal text
    (error); a URL with a password is printed by every plan (warning: Studio accepts it)."""
    for path, text in content_strings(definition):
        state = states[path[1]] if path[0] == "states" else None
        state_name = state.get("name") if isinstance(state, dict) else None
        if unterminated(text):
            report(path, "unterminated '${': close it with '}' (a literal '${' is written '${$}{')", state=state_name)
        if has_url_password(text):
            report(path, "a URL with a password: plans print it and the Studio console shows it; "
                         "put it in a secret var", "warning", state=state_name)


def _unset(groups: tuple[tuple[str, ...], ...], props: dict) -> Iterator[str]:
    """Each group of alternatives none of which is set, described for a message."""
    for group in groups:
        if all(props.get(key) in (None, "") for key in group):
            yield (
                f"property {group[0]!r}" if len(group) == 1 else "one of the properties " + ", ".join(map(repr, group))
            )


def _check_properties(widget: Widget, props: dict, where: DataPath, name: Any, report) -> None:
    """Errors for what Studio refuses the widget without; warnings for what it accepts but is
    useless (studio_schemas/widgets.json), or sends other than meant (a content template is
    sent only with message_type content_template, otherwise Studio sends the body)."""
    for what in _unset(widget.required, props):
        report(where, f"{widget.type} needs {what}", state=name)
    for what in _unset(widget.expected, props):
        report(where, f"{widget.type} does nothing without {what}", "warning", state=name)
    template = props.get("message_type") == "content_template"
    if template and props.get("content_sid") in (None, ""):
        report(where, "message_type 'content_template' without 'content_sid': there is no template to send",
               "warning", state=name)
    elif not template and props.get("content_sid") not in (None, ""):
        report(where, "'content_sid' is sent only with message_type 'content_template'; Studio sends the body instead",
               "warning", state=name)


def _check_symbolic(props: dict, kind: Any, path: DataPath, name: Any, report) -> None:
    if kind == "run-function" and "function" in props:
        raw = [k for k in FUNCTION_KEYS if k in props]
        if raw:
            report(
                path + (raw[0],), f"give either 'function' or {', '.join(repr(k) for k in raw)}, not both", state=name
            )
        value = props["function"]
        if not isinstance(value, str):
            report(path + ("function",), "function: expected SERVICE/PATH, e.g. crm/lookup", state=name)
        else:
            try:
                FunctionRef.parse(value)
            except ValueError as exc:
                report(path + ("function",), str(exc), state=name)
    if kind == "run-subflow" and "flow" in props:
        if "flow_sid" in props:
            report(path + ("flow_sid",), "give either 'flow' or 'flow_sid', not both", state=name)
        if not isinstance(props["flow"], str) or not props["flow"]:
            report(path + ("flow",), "flow: expected the name of a flow, e.g. subflows/lookup-caller", state=name)


# --------------------------------------------------------------------------- the project


class _Validator:
    def __init__(self, project: Project, env_names: list[str] | None):
        self.project = project
        self.env_names = env_names
        self.problems: list[Problem] = []

    def rel(self, path) -> str:
        return path.relative_to(self.project.root).as_posix()

    def flow_lines(self, flow: FlowSource) -> LineMap:
        file = self.rel(flow.file)
        return self.project.sources.get(file) or LineMap(file)

    def at(self, lines: LineMap, path: DataPath, message: str, severity: str = "error") -> None:
        self.problems.append(lines.problem(path, message, severity))

    def flow_message(self, flow: FlowSource, path: DataPath, message: str) -> str:
        if flow.file.suffix == ".json":
            return f"{format_path(path, json_style=True)}: {message}"
        return message

    def known_flow(self, name: str) -> bool:
        return name in self.project.flows or f"flow:{name}" in self.project.broken

    def known_service(self, name: str) -> bool:
        return name in self.project.services or f"service:{name}" in self.project.broken

    # ---------------------------------------------------------------- run

    def run(self) -> list[Problem]:
        project = self.project
        for flow in project.flows.values():
            self.problems += check_flow(flow.definition, self.rel(flow.file), self.flow_lines(flow))
            self.flow_references(flow)
        self.subflow_cycles()
        self.friendly_names()

        if self.env_names is None:
            selected = list(project.environments)
        else:
            selected = []
            for name in self.env_names:
                if name in project.environments:
                    selected.append(name)
                elif f"env:{name}" not in project.broken:
                    known = ", ".join(sorted(project.environments)) or "none"
                    what = "is abstract" if name in project.abstract_environments else "does not exist"
                    self.problems.append(Problem(f"environments/{name}.yaml", 0,
                                                 f"environment {name!r} {what} (environments: {known})"))
        for name in selected:
            self.environment(project.environments[name])

        if self.env_names is None:
            deployed_flows = {f for env in project.environments.values() for f in env.flows}
            deployed_services = {s for env in project.environments.values() for s in env.services}
            for flow in project.flows.values():
                if flow.name not in deployed_flows and project.environments:
                    self.problems.append(Problem(self.rel(flow.file), 1,
                                                 f"flow {flow.name!r} is not deployed by any environment", "warning"))
            for service in project.services.values():
                if service.name not in deployed_services and project.environments:
                    self.problems.append(
                        Problem(
                            f"functions/{service.name}/service.yaml",
                            1,
                            f"service {service.name!r} is not deployed by any environment",
                            "warning",
                        )
                    )
        return self.problems

    # ---------------------------------------------------------------- flows

    def flow_references(self, flow: FlowSource) -> None:
        lines = self.flow_lines(flow)
        for path, text in flow_function_refs(flow.definition):
            try:
                ref = FunctionRef.parse(text)
            except ValueError:
                continue  # reported by check_flow
            message = self.function_problem(ref)
            if message:
                self.at(lines, path, self.flow_message(flow, path, message))
        for path, name in flow_subflow_refs(flow.definition):
            if not self.known_flow(name):
                self.at(lines, path, self.flow_message(
                    flow, path, f"run-subflow: no flow {name!r} (flows/{name}.yaml){_close(name, self.project.flows)}"))
            elif name in self.project.flows:
                sub = self.project.flows[name]
                if not _has_parent_trigger(sub.definition):
                    self.at(lines, path, self.flow_message(
                        flow, path, f"run-subflow: flow {name!r} has no 'incomingParent' transition on its trigger, "
                                    "so it does nothing when run as a subflow"), "warning")
        # Vars used by the flow must exist wherever it is deployed.
        deploying = [env for env in self.project.environments.values() if flow.name in env.flows]
        all_vars = {v for env in self.project.environments.values() for v in env.vars}
        for path, var in flow_var_refs(flow.definition):
            if deploying:
                for env in deploying:
                    if var not in env.vars:
                        self.at(lines, path, self.flow_message(
                            flow, path, f"${{vars.{var}}} is not defined in environment {env.name!r} "
                                        f"({self.rel(env.file)}){_close(var, env.vars)}"))
                    elif isinstance(env.vars[var], Secret):
                        self.at(lines, path, self.flow_message(
                            flow, path, f"${{vars.{var}}} is a secret in environment {env.name!r}: its value will be "
                                        "visible in the Studio flow definition"), "warning")
            elif var not in all_vars and not any(b.startswith("env:") for b in self.project.broken):
                self.at(lines, path, self.flow_message(
                    flow, path, f"${{vars.{var}}} is not defined in any environment{_close(var, all_vars)}"))

    def function_problem(self, ref: FunctionRef) -> str | None:
        if not self.known_service(ref.service):
            hint = _close(ref.service, self.project.services)
            return f"no service {ref.service!r} (functions/{ref.service}/service.yaml){hint}"
        service = self.project.services.get(ref.service)
        if service is None:
            return None
        code = service.function(ref.path)
        if code is None:
            paths = [f.path for f in service.functions]
            asset = " (that is an asset)" if service.file(ref.path) else ""
            return f"service {ref.service!r} has no function {ref.path}{asset}{_close(ref.path, paths)}"
        if code.visibility == "private":
            return f"function {ref} is private ({self.rel(code.file)}); it cannot be called by URL"
        return None

    def subflow_cycles(self) -> None:
        graph: dict[str, list[tuple[str, DataPath]]] = {
            name: [(sub, path) for path, sub in flow_subflow_refs(flow.definition) if sub in self.project.flows]
            for name, flow in self.project.flows.items()
        }
        reported: set[frozenset[str]] = set()
        state: dict[str, int] = {}  # 1: on the current path, 2: done

        # Depth-first with an explicit stack (flow, its next edge), not recursion: a chain of
        # a thousand subflows must not end in a RecursionError.
        for root in sorted(graph):
            if root in state:
                continue
            state[root] = 1
            stack: list[list] = [[root, 0]]
            while stack:
                name, index = stack[-1]
                if index == len(graph[name]):
                    state[name] = 2
                    stack.pop()
                    continue
                stack[-1][1] += 1
                sub, path = graph[name][index]
                if state.get(sub) == 1:
                    names = [n for n, _ in stack]
                    cycle = names[names.index(sub):]
                    key = frozenset(cycle)
                    if key not in reported:
                        reported.add(key)
                        flow = self.project.flows[name]
                        text = " -> ".join([*cycle, sub])
                        self.at(self.flow_lines(flow), path,
                                self.flow_message(flow, path, f"run-subflow: subflow cycle {text}"))
                elif state.get(sub) is None:
                    state[sub] = 1
                    stack.append([sub, 0])

    def friendly_names(self) -> None:
        seen: dict[str, FlowSource] = {}
        for flow in self.project.flows.values():
            if flow.friendly_name in seen:
                other = seen[flow.friendly_name]
                lines = self.flow_lines(flow)
                path = ("friendly_name",) if ("friendly_name",) in lines.entries else ()
                self.at(lines, path, f"friendly_name {flow.friendly_name!r} is also used by flow {other.name!r}; "
                                     "Studio flows are identified by friendly_name")
            else:
                seen[flow.friendly_name] = flow

    # ---------------------------------------------------------------- environments

    def environment(self, env: Environment) -> None:
        lines = env.lines or LineMap(self.rel(env.file))
        for name in env.services:
            if not self.known_service(name):
                self.at(
                    lines,
                    ("services", name),
                    f"services: no service {name!r} (functions/{name}/service.yaml)"
                    f"{_close(name, self.project.services)}",
                )
        flows_index: dict[str, int] = {}
        for i, name in enumerate(env.flows):
            flows_index.setdefault(name, i)
        for name, i in flows_index.items():
            path: DataPath = ("flows", i)
            if not self.known_flow(name):
                self.at(lines, path, f"flows: no flow {name!r} (flows/{name}.yaml){_close(name, self.project.flows)}")
                continue
            flow = self.project.flows.get(name)
            if flow is None:
                continue
            for _, text in flow_function_refs(flow.definition):
                try:
                    ref = FunctionRef.parse(text)
                except ValueError:
                    continue
                if ref.service not in env.services and self.known_service(ref.service):
                    self.at(lines, path, f"flows: {name!r} runs function {ref}, but service {ref.service!r} is not "
                                         f"deployed to environment {env.name!r} (add it under services:)")
            for _, sub in flow_subflow_refs(flow.definition):
                if sub not in flows_index and self.known_flow(sub):
                    self.at(lines, path, f"flows: {name!r} runs subflow {sub!r}, which environment {env.name!r} "
                                         "does not deploy (add it to flows:)")
        for number, binding in env.numbers.items():
            targets = binding.targets()
            for field, target in targets.items():
                path = ("numbers", number, field)
                where = format_path(path)
                if isinstance(target, FlowRef):
                    if field == "status_callback":
                        self.at(lines, path, f"{where}: a flow cannot receive status "
                                             "callbacks; use a function or URL")
                    elif not self.known_flow(target.name):
                        self.at(lines, path, f"{where}: no flow {target.name!r}"
                                             f"{_close(target.name, self.project.flows)}")
                    elif target.name not in env.flows:
                        self.at(lines, path, f"{where}: flow {target.name!r} is not in this "
                                             f"environment's flows list")
                elif isinstance(target, FunctionRef):
                    message = self.function_problem(target)
                    if message:
                        self.at(lines, path, f"{where}: {message}")
                    elif target.service not in env.services and self.known_service(target.service):
                        self.at(lines, path, f"{where}: service {target.service!r} is not deployed "
                                             f"to environment {env.name!r} (add it under services:)")
                elif isinstance(target, UrlTarget):
                    pass
            for fallback, primary in (("voice_fallback", "voice"), ("sms_fallback", "sms")):
                if fallback in targets and primary not in targets:
                    self.at(
                        lines,
                        ("numbers", number, fallback),
                        f"{format_path(('numbers', number, fallback))} without {primary}: the fallback is never used",
                        "warning",
                    )
        if self.env_names is not None:
            for problem in env.missing_env():
                if problem not in self.problems:
                    self.problems.append(problem)


def _has_parent_trigger(definition: dict) -> bool:
    for state in definition.get("states") or []:
        if isinstance(state, dict) and state.get("type") == "trigger":
            return any(isinstance(t, dict) and t.get("event") == "incomingParent" and t.get("next")
                       for t in state.get("transitions") or [])
    return True


def validate_project(project: Project, env_names: list[str] | None) -> list[Problem]:
    """Every error and warning about `project` beyond parsing and schema.

    With `env_names` None every deployable environment is checked, and environment variables
    are not (a laptop need not hold prod's secrets). With a list, only those environments
    are checked, including that every `${env:NAME}` they need is set.
    """
    return _Validator(project, env_names).run()


def validate_directory(root, env_names: list[str] | None) -> list[Problem]:
    """Load (leniently) and validate the project at `root`: everything `validate` reports,
    the flow scenario files (`flows/**/*.test.yaml`) included."""
    from twideploy.flowtest.scenario import load_scenario_files, scenario_problems
    from twideploy.manifest.loader import analyze

    project, problems = analyze(root)
    scenario_files, scenario_schema_problems = load_scenario_files(project.root)
    seen = set(problems)
    for problem in [*validate_project(project, env_names), *scenario_schema_problems,
                    *scenario_problems(project, scenario_files)]:
        if problem not in seen:
            seen.add(problem)
            problems.append(problem)
    return sorted(problems, key=lambda p: (p.file, p.line, p.severity != "error"))
