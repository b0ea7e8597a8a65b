"""One Studio execution of a flow, offline: widgets, Liquid, split conditions and runtime limits.

The interpreter walks a flow definition (`${vars.x}` already substituted for the environment,
Run Function and Run Subflow still symbolic: `function: crm/lookup`, `flow: subflows/x`) the
way Studio does: from the trigger, each widget runs, fires one event, and the transition for
that event names the next widget; the execution ends at a transition without `next`.

The execution context is Studio's: `trigger.call.*` / `trigger.message.*` /
`trigger.request.*` / `trigger.parent.*`, `flow.data`, `flow.variables`,
`flow.channel.address` (the Twilio side), `contact.channel.address` (the caller) and
`widgets.NAME.*`, each widget's outputs under Studio's names (`Digits`, `SpeechResult`,
`inbound.Body`, `status_code`, `body`, `content_type`, `parsed`).

What touches the outside world is not performed but recorded as an `Effect` with its rendered
properties (what was said, sent, dialled); the event it fires and its outputs come from the
scenario's script (`Response`), or from `SILENT_WORLD`: a caller who says nothing and a
network where everything succeeds. Run Function and Make HTTP Request call back into the
runner (`Outside`), which runs the Function in Node.js or answers from the scenario's mocks.
Run Subflow runs the subflow as an execution of its own and comes back to `completed` or
`failed`.

Studio's runtime limits (Studio FAQ) stop an execution here as they stop it there: 1,000 steps,
the same widget 10 times in a row; Liquid loops stop after 15 iterations (`liquid`); HTTP
Request and Run Function time out after 10 seconds (the runner's Function timeout).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from twideploy.flowtest.conditions import UnknownCondition, evaluate
from twideploy.flowtest.liquid import LiquidRenderError, StudioLiquid, studio_data
from twideploy.manifest.references import map_strings

MAX_STEPS = 1000
MAX_SAME_WIDGET_IN_A_ROW = 10

TRIGGER_EVENTS = {"call": "incomingCall", "message": "incomingMessage", "request": "incomingRequest",
                  "parent": "incomingParent", "conversation": "incomingConversationMessage"}

# The event a widget with an external effect fires when the scenario says nothing about it:
# the caller stays silent, every call and message goes through.
SILENT_WORLD = {
    "say-play": "audioComplete",
    "send-message": "sent",
    "send-and-wait-for-reply": "timeout",
    "gather-input-on-call": "timeout",
    "connect-call-to": "callCompleted",
    "send-to-flex": "callComplete",
    "enqueue-call": "callComplete",
    "record-voicemail": "noAudio",
    "make-outgoing-call-v2": "answered",
    "add-twiml-redirect": "return",
    "capture-payments": "success",
    "record-call": "success",
    "fork-stream": "next",
}


class ScenarioError(Exception):
    """The scenario cannot be run as written (an unmocked request, a template Studio would not
    render, a widget type the interpreter does not model): a test error, not a flow outcome."""


@dataclass(frozen=True)
class Response:
    """What the caller or the outside world does at one visit of a widget."""

    event: str | None = None
    digits: str | None = None
    speech: str | None = None
    reply: str | None = None
    outputs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """An HTTP answer as Studio receives it, from a mock or a Function."""

    status_code: int
    body: str
    content_type: str


class Outside(Protocol):
    """The runner's side: Functions run in Node.js, HTTP answered from mocks. Each raises
    ScenarioError when the scenario leaves a request unanswered."""

    def run_function(self, function: str, event: dict[str, str]) -> Answer: ...

    def http_request(self, method: str, url: str, body: str | None) -> Answer: ...


@dataclass(frozen=True)
class Step:
    flow: str
    widget: str
    type: str
    event: str | None  # the event the widget fired; None when the execution stopped at it
    transition: int | None  # index of the transition taken in the widget's `transitions`
    next: str | None
    condition: str | None = None  # a split's matched condition (its friendly name)


@dataclass(frozen=True)
class Effect:
    flow: str
    widget: str
    type: str
    properties: dict[str, Any]  # rendered


@dataclass
class Execution:
    flow: str
    steps: list[Step] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    stopped: str | None = None  # why Studio would stop it early (a runtime limit)

    @property
    def event(self) -> str | None:
        """The last event fired in this flow: how the execution ended."""
        own = [step for step in self.steps if step.flow == self.flow]
        return own[-1].event if own else None


@dataclass(frozen=True)
class Trigger:
    kind: str  # call | message | request | parent | conversation
    fields: Mapping[str, Any]  # trigger.<kind>.*
    data: Mapping[str, Any] = field(default_factory=dict)  # flow.data


@dataclass
class _Outcome:
    event: str
    outputs: dict[str, Any] = field(default_factory=dict)
    transition: int | None = None  # a split's matched transition (its index)


class Interpreter:
    """Runs executions of the flows it is given (name -> definition) against one scenario's
    script (`responses`, per `flow:widget`, consumed one per visit) and clock."""

    def __init__(self, flows: Mapping[str, dict[str, Any]], outside: Outside, *,
                 responses: Mapping[str, list[Response]] | None = None, now: dt.datetime | None = None):
        self.flows = flows
        self.outside = outside
        self.responses = {key: list(queue) for key, queue in (responses or {}).items()}
        now = now or dt.datetime.now(dt.UTC)
        self.now = now if now.tzinfo else now.replace(tzinfo=dt.UTC)  # a clock without offset is UTC
        self.liquid = StudioLiquid()
        self.trace: list[Step] = []  # every step of every flow, subflows included (coverage)

    # ---------------------------------------------------------------- executions

    def execute(self, flow: str, trigger: Trigger) -> Execution:
        definition = self.flows.get(flow)
        if definition is None:
            raise ScenarioError(f"unknown flow {flow!r}")
        states = {state["name"]: state for state in definition.get("states") or []}
        fields = dict(trigger.fields)
        run = _Run(self, Execution(flow), {
            "trigger": {trigger.kind: fields},
            "flow": {"data": dict(trigger.data), "variables": {},
                     "channel": {"address": str(fields.get("To", ""))}},
            "contact": {"channel": {"address": str(fields.get("From", ""))}},
            "widgets": {},
        }, trigger.kind)
        current: str | None = definition.get("initial_state")
        previous, in_a_row = None, 0
        while current is not None:
            state = states.get(current)
            if state is None:
                raise ScenarioError(f"{flow}: a transition leads to {current!r}, which is not a widget of the flow")
            in_a_row = in_a_row + 1 if current == previous else 1
            previous = current
            outcome = run.step(state)
            index = outcome.transition if outcome.transition is not None else _transition_for(state, outcome.event)
            following = state["transitions"][index].get("next") if index is not None else None
            condition = None
            if outcome.event == "match" and index is not None:
                conditions = state["transitions"][index].get("conditions") or [{}]
                condition = str(conditions[0].get("friendly_name") or conditions[0].get("value") or "")
            self._record(run.execution, Step(flow, current, state["type"], outcome.event, index, following, condition))
            if len(run.execution.steps) >= MAX_STEPS and following is not None:
                run.execution.stopped = f"ended after {MAX_STEPS:,} steps (Studio's limit per execution)"
                break
            if in_a_row >= MAX_SAME_WIDGET_IN_A_ROW and following == current:
                run.execution.stopped = (f"stopped: widget {current!r} ran {MAX_SAME_WIDGET_IN_A_ROW} times in a row "
                                         "(Studio's limit)")
                break
            current = following
        run.execution.variables = dict(run.context["flow"]["variables"])
        return run.execution

    def _record(self, execution: Execution, step: Step) -> None:
        execution.steps.append(step)
        self.trace.append(step)

    def response(self, flow: str, widget: str) -> Response | None:
        """The scenario's next scripted response at `flow:widget`; the last one repeats."""
        queue = self.responses.get(f"{flow}:{widget}")
        if not queue:
            return None
        return queue.pop(0) if len(queue) > 1 else queue[0]


def _transition_for(state: dict[str, Any], event: str) -> int | None:
    for index, transition in enumerate(state.get("transitions") or []):
        if transition.get("event") == event:
            return index
    return None


class _Run:
    """One execution in progress: its context and the widget handlers."""

    def __init__(self, interpreter: Interpreter, execution: Execution, context: dict[str, Any], trigger_kind: str):
        self.interpreter = interpreter
        self.execution = execution
        self.context = context
        self.trigger_kind = trigger_kind

    def render(self, value: Any, where: str) -> Any:
        """`value` with every string rendered as Liquid against the context now."""
        data = studio_data(self.context)
        return map_strings(value, lambda text: self._render_text(text, data, where))

    def _render_text(self, text: str, data: Mapping[str, Any], where: str) -> str:
        try:
            return self.interpreter.liquid.render(text, data)
        except LiquidRenderError as error:
            raise ScenarioError(f"{self.execution.flow}: {where}: Liquid: {error}") from error

    def step(self, state: dict[str, Any]) -> _Outcome:
        name, kind = state["name"], state["type"]
        props = {k: v for k, v in (state.get("properties") or {}).items() if k != "offset"}
        if kind == "trigger":
            return _Outcome(TRIGGER_EVENTS[self.trigger_kind])
        if kind == "split-based-on":
            return self.split(state)
        if kind == "set-variables":
            return self.set_variables(name, props)
        scripted = self.interpreter.response(self.execution.flow, name)
        handler = _HANDLERS.get(kind)
        if kind in SILENT_WORLD:
            rendered = self.render(props, name)
            self.execution.effects.append(Effect(self.execution.flow, name, kind, rendered))
            outcome = _caller_outcome(kind, scripted)
        elif scripted is not None and scripted.event:  # a scripted Function / HTTP / subflow result
            outcome = _Outcome(scripted.event, dict(scripted.outputs))
        elif handler is not None:
            outcome = handler(self, name, props)
        else:
            raise ScenarioError(f"{self.execution.flow}: widget {name!r}: type {kind!r} is not modelled by the "
                            "interpreter; script its outcome (`{event: ...}`) in the scenario")
        self.context["widgets"][name] = outcome.outputs
        return outcome

    # ---------------------------------------------------------------- flow control

    def split(self, state: dict[str, Any]) -> _Outcome:
        name = state["name"]
        props = state.get("properties") or {}
        for index, transition in enumerate(state.get("transitions") or []):
            if transition.get("event") != "match":
                continue
            conditions = transition.get("conditions") or []
            if conditions and all(self.condition(name, props, condition) for condition in conditions):
                return _Outcome("match", transition=index)
        return _Outcome("noMatch")

    def condition(self, widget: str, props: Mapping[str, Any], condition: Mapping[str, Any]) -> bool:
        arguments = condition.get("arguments") or [props.get("input", "")]
        subject = self.render(str(arguments[0]), f"{widget}.input")
        value = self.render(str(condition.get("value", "")), f"{widget}.{condition.get('friendly_name', '')}")
        try:
            return evaluate(str(condition.get("type")), subject, value, self.interpreter.now)
        except UnknownCondition as error:
            raise ScenarioError(f"{self.execution.flow}: widget {widget!r}: {error}") from error

    def set_variables(self, name: str, props: Mapping[str, Any]) -> _Outcome:
        for item in props.get("variables") or []:
            self.context["flow"]["variables"][str(item.get("key"))] = self.render(str(item.get("value", "")), name)
        return _Outcome("next")

    # ---------------------------------------------------------------- calls

    def run_function(self, name: str, props: Mapping[str, Any]) -> _Outcome:
        event = _parameters(self.render(props.get("parameters") or [], name))
        answer = self.interpreter.outside.run_function(str(props.get("function", "")), event)
        return _http_outcome(answer, "success", "fail")

    def http_request(self, name: str, props: Mapping[str, Any]) -> _Outcome:
        rendered = self.render(props, name)
        method = str(rendered.get("method", "GET")).upper()
        body = rendered.get("body")
        if body is None and rendered.get("parameters"):
            body = json.dumps(_parameters(rendered["parameters"]))
        answer = self.interpreter.outside.http_request(method, str(rendered.get("url", "")),
                                                       None if body is None else str(body))
        return _http_outcome(answer, "success", "failed")

    def run_subflow(self, name: str, props: Mapping[str, Any]) -> _Outcome:
        parameters = _parameters(self.render(props.get("parameters") or [], name))
        parent = dict(self.context["trigger"][self.trigger_kind])
        parent.update({"To": self.context["flow"]["channel"]["address"],
                       "From": self.context["contact"]["channel"]["address"], "parameters": parameters})
        sub = self.interpreter.execute(str(props.get("flow", "")), Trigger("parent", parent, parameters))
        self.execution.effects.extend(sub.effects)
        return _Outcome("failed" if sub.stopped else "completed", dict(sub.variables))


def _parameters(items: Any) -> dict[str, str]:
    """Studio's `[{key, value}]` parameter lists as the mapping a Function or subflow receives."""
    return {str(item.get("key")): str(item.get("value", "")) for item in items or [] if isinstance(item, dict)}


def _http_outcome(answer: Answer, success: str, failure: str) -> _Outcome:
    """Studio's outputs of Run Function and Make HTTP Request; `parsed` only for a JSON body."""
    outputs: dict[str, Any] = {"status_code": answer.status_code, "body": answer.body,
                               "content_type": answer.content_type}
    try:
        outputs["parsed"] = json.loads(answer.body)
    except ValueError:
        pass
    return _Outcome(success if 200 <= answer.status_code < 300 else failure, outputs)


def _caller_outcome(kind: str, scripted: Response | None) -> _Outcome:
    """The event and outputs of a widget the caller or the network answers."""
    response = scripted or Response()
    outputs = dict(response.outputs)
    if response.digits is not None:
        outputs.setdefault("Digits", response.digits)
        return _Outcome(response.event or "keypress", outputs)
    if response.speech is not None:
        outputs.setdefault("SpeechResult", response.speech)
        return _Outcome(response.event or "speech", outputs)
    if response.reply is not None:
        outputs.setdefault("inbound", {"Body": response.reply})
        return _Outcome(response.event or "incomingMessage", outputs)
    return _Outcome(response.event or SILENT_WORLD[kind], outputs)


_HANDLERS: dict[str, Callable[[_Run, str, Mapping[str, Any]], _Outcome]] = {
    "run-function": _Run.run_function,
    "make-http-request": _Run.http_request,
    "run-subflow": _Run.run_subflow,
}
