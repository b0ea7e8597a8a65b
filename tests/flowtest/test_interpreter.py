"""The flow interpreter, widget by widget, against what Studio's widget library documents.

Run Function and Make HTTP Request reach the outside through the runner's `Outside` (Node.js
and the scenario's mocks); here a small recorder stands in for it, so each test shows what the
widget sends out and how it maps the answer to Studio's outputs and events. The runner's own
side is tested end to end in tests/e2e/test_flow_tests.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from twideploy.flowtest.interpreter import (
    MAX_SAME_WIDGET_IN_A_ROW,
    MAX_STEPS,
    SILENT_WORLD,
    Answer,
    Interpreter,
    Response,
    ScenarioError,
    Trigger,
)
from twideploy.manifest.widgets import WIDGETS

CALL = Trigger("call", {"From": "+15551230001", "To": "+15005550006", "CallSid": "CA1"})


class Recorder:
    """Answers Function and HTTP calls from fixed answers, and keeps what was asked."""

    def __init__(self, answer: Answer | None = None):
        self.answer = answer or Answer(200, '{"tier": "gold"}', "application/json")
        self.calls: list[tuple[Any, ...]] = []

    def run_function(self, function: str, event: dict[str, str]) -> Answer:
        self.calls.append((function, event))
        return self.answer

    def http_request(self, method: str, url: str, body: str | None) -> Answer:
        self.calls.append((method, url, body))
        return self.answer


def flow(*states: dict[str, Any], trigger_event: str = "incomingCall") -> dict[str, Any]:
    first = states[0]["name"]
    return {"initial_state": "Trigger", "states": [
        {"name": "Trigger", "type": "trigger", "properties": {}, "transitions": [{"event": trigger_event,
                                                                                    "next": first}]},
        *({"properties": {}, "transitions": [], **state} for state in states)]}


def run(*states: dict[str, Any], trigger: Trigger = CALL, outside: Recorder | None = None,
        responses: dict[str, list[Response]] | None = None, flows: dict[str, Any] | None = None,
        now: dt.datetime | None = None):
    event = {"call": "incomingCall", "message": "incomingMessage", "request": "incomingRequest",
             "parent": "incomingParent"}[trigger.kind]
    interpreter = Interpreter({"main": flow(*states, trigger_event=event), **(flows or {})}, outside or Recorder(),
                              responses={f"main:{k}": v for k, v in (responses or {}).items()}, now=now)
    return interpreter.execute("main", trigger)


def path(execution) -> list[str]:
    return [step.widget for step in execution.steps]


def test_every_widget_type_with_events_is_modelled_or_answered_by_the_scenario():
    """Each type whose events Studio documents runs on its own or has a silent-world default."""
    modelled = {"trigger", "split-based-on", "set-variables", "run-function", "make-http-request", "run-subflow"}
    documented = {kind for kind, widget in WIDGETS.items() if widget.events}
    assert documented <= modelled | set(SILENT_WORLD)
    for kind, event in SILENT_WORLD.items():
        assert event in WIDGETS[kind].events


def test_the_trigger_fires_the_event_of_its_trigger_kind_and_fills_the_context():
    message = Trigger("message", {"From": "+15551230001", "To": "+15005550006", "Body": "hi"})
    execution = run({"name": "reply", "type": "send-message",
                     "properties": {"to": "{{contact.channel.address}}", "from": "{{flow.channel.address}}",
                                    "body": "You said {{trigger.message.Body}}"}}, trigger=message)
    assert execution.steps[0].event == "incomingMessage"
    assert execution.effects[0].properties == {"to": "+15551230001", "from": "+15005550006", "body": "You said hi"}
    assert execution.event == "sent"


def test_say_play_is_an_effect_with_its_rendered_text():
    execution = run({"name": "hello", "type": "say-play", "properties": {"say": "Hi {{trigger.call.From}}",
                                                                         "offset": {"x": 1, "y": 2}}})
    assert [(e.widget, e.properties) for e in execution.effects] == [("hello", {"say": "Hi +15551230001"})]
    assert execution.event == "audioComplete"


def test_gather_keypress_speech_and_timeout_set_studio_outputs():
    states = [
        {"name": "ask", "type": "gather-input-on-call", "properties": {"say": "Press a key"},
         "transitions": [{"event": "keypress", "next": "echo"}, {"event": "speech", "next": "echo"},
                         {"event": "timeout", "next": "bye"}]},
        {"name": "echo", "type": "say-play",
         "properties": {"say": "{{widgets.ask.Digits}}{{widgets.ask.SpeechResult}}"}},
        {"name": "bye", "type": "say-play", "properties": {"say": "bye"}},
    ]
    pressed = run(*states, responses={"ask": [Response(digits="42")]})
    assert path(pressed) == ["Trigger", "ask", "echo"] and pressed.effects[1].properties["say"] == "42"
    spoken = run(*states, responses={"ask": [Response(speech="sales please")]})
    assert spoken.steps[1].event == "speech" and spoken.effects[1].properties["say"] == "sales please"
    silent = run(*states)
    assert path(silent) == ["Trigger", "ask", "bye"]


def test_send_and_wait_for_reply_exposes_the_reply_as_inbound_body():
    states = [
        {"name": "ask", "type": "send-and-wait-for-reply", "properties": {"body": "Yes or no?"},
         "transitions": [{"event": "incomingMessage", "next": "echo"}, {"event": "timeout"}]},
        {"name": "echo", "type": "send-message", "properties": {"body": "Got {{widgets.ask.inbound.Body}}"}},
    ]
    replied = run(*states, responses={"ask": [Response(reply="YES")]})
    assert replied.effects[-1].properties["body"] == "Got YES"
    assert path(run(*states)) == ["Trigger", "ask"] and run(*states).event == "timeout"


def test_split_takes_the_first_matching_transition_else_no_match():
    states = [
        {"name": "split", "type": "split-based-on", "properties": {"input": "{{trigger.call.From}}"},
         "transitions": [
             {"event": "noMatch", "next": "other"},
             {"event": "match", "next": "us", "conditions": [
                 {"friendly_name": "US", "arguments": ["{{trigger.call.From}}"], "type": "starts_with",
                  "value": "+1"}]},
             {"event": "match", "next": "other", "conditions": [
                 {"friendly_name": "also US", "arguments": ["{{trigger.call.From}}"], "type": "contains",
                  "value": "555"}]}]},
        {"name": "us", "type": "say-play", "properties": {"say": "US"}},
        {"name": "other", "type": "say-play", "properties": {"say": "other"}},
    ]
    assert path(run(*states)) == ["Trigger", "split", "us"]
    assert run(*states).steps[1].condition == "US"
    elsewhere = Trigger("call", {"From": "+4420", "To": "+15005550006"})
    assert path(run(*states, trigger=elsewhere)) == ["Trigger", "split", "other"]


def test_set_variables_renders_values_into_flow_variables():
    execution = run(
        {"name": "set", "type": "set-variables", "properties": {"variables": [
            {"key": "caller", "value": "{{trigger.call.From}}"},
            {"key": "greeting", "value": "Hi {{flow.variables.caller}}"}]},
         "transitions": [{"event": "next", "next": "say"}]},
        {"name": "say", "type": "say-play", "properties": {"say": "{{flow.variables.greeting}}"}})
    assert execution.variables == {"caller": "+15551230001", "greeting": "Hi +15551230001"}
    assert execution.effects[0].properties["say"] == "Hi +15551230001"


def test_run_function_sends_rendered_parameters_and_maps_the_answer_to_studio_outputs():
    outside = Recorder(Answer(200, '{"tier": "gold", "name": "Ada"}', "application/json"))
    execution = run(
        {"name": "fn", "type": "run-function", "properties": {
            "function": "crm/lookup", "parameters": [{"key": "from", "value": "{{trigger.call.From}}"}]},
         "transitions": [{"event": "success", "next": "say"}, {"event": "fail"}]},
        {"name": "say", "type": "say-play", "properties": {
            "say": "{{widgets.fn.parsed.name}} {{widgets.fn.status_code}} {{widgets.fn.content_type}}"}},
        outside=outside)
    assert outside.calls == [("crm/lookup", {"from": "+15551230001"})]
    assert execution.effects[0].properties["say"] == "Ada 200 application/json"


@pytest.mark.parametrize("status, event", [(200, "success"), (204, "success"), (404, "fail"), (500, "fail")])
def test_run_function_succeeds_on_2xx_only(status, event):
    execution = run({"name": "fn", "type": "run-function", "properties": {"function": "crm/lookup"},
                     "transitions": [{"event": "success"}, {"event": "fail"}]},
                    outside=Recorder(Answer(status, "plain text", "text/plain")))
    assert execution.event == event


def test_make_http_request_renders_the_url_and_has_no_parsed_output_for_text():
    outside = Recorder(Answer(503, "down", "text/plain"))
    execution = run(
        {"name": "http", "type": "make-http-request", "properties": {
            "method": "post", "url": "https://x.example/o?p={{trigger.call.From | url_encode}}", "body": '{"a": 1}'},
         "transitions": [{"event": "success"}, {"event": "failed", "next": "say"}]},
        {"name": "say", "type": "say-play", "properties": {"say": "[{{widgets.http.body}}|{{widgets.http.parsed}}]"}},
        outside=outside)
    assert outside.calls == [("POST", "https://x.example/o?p=%2B15551230001", '{"a": 1}')]
    assert path(execution)[-1] == "say" and execution.effects[0].properties["say"] == "[down|]"


def test_run_subflow_passes_parameters_as_flow_data_and_returns_its_variables():
    subflow = flow({"name": "remember", "type": "set-variables", "properties": {"variables": [
        {"key": "who", "value": "{{flow.data.caller}} via {{trigger.parent.parameters.caller}}"}]}},
        trigger_event="incomingParent")
    execution = run(
        {"name": "sub", "type": "run-subflow", "properties": {
            "flow": "subflows/x", "parameters": [{"key": "caller", "value": "{{trigger.call.From}}"}]},
         "transitions": [{"event": "completed", "next": "say"}, {"event": "failed"}]},
        {"name": "say", "type": "say-play", "properties": {"say": "{{widgets.sub.who}}"}},
        flows={"subflows/x": subflow})
    assert execution.steps[1].event == "completed"
    assert execution.effects[0].properties["say"] == "+15551230001 via +15551230001"


def test_a_subflow_stopped_by_a_runtime_limit_returns_failed():
    looping = flow({"name": "again", "type": "say-play", "properties": {"say": "x"},
                    "transitions": [{"event": "audioComplete", "next": "again"}]}, trigger_event="incomingParent")
    execution = run({"name": "sub", "type": "run-subflow", "properties": {"flow": "loop"},
                     "transitions": [{"event": "completed"}, {"event": "failed"}]}, flows={"loop": looping})
    assert execution.event == "failed"


@pytest.mark.parametrize("kind", sorted(SILENT_WORLD))
def test_effect_widgets_fire_the_silent_world_event_or_the_scripted_one(kind):
    events = WIDGETS[kind].events
    scripted = events[-1]
    assert run({"name": "w", "type": kind, "properties": {}}).event == SILENT_WORLD[kind]
    execution = run({"name": "w", "type": kind, "properties": {"x": "{{trigger.call.From}}"}},
                    responses={"w": [Response(event=scripted, outputs={"k": "v"})]})
    assert execution.event == scripted
    assert execution.effects[0].type == kind and execution.effects[0].properties == {"x": "+15551230001"}


def test_scripted_responses_are_used_one_per_visit_and_the_last_repeats():
    states = [{"name": "ask", "type": "gather-input-on-call", "properties": {},
               "transitions": [{"event": "keypress", "next": "split"}, {"event": "timeout"}]},
              {"name": "split", "type": "split-based-on", "properties": {}, "transitions": [
                  {"event": "noMatch", "next": "ask"},
                  {"event": "match", "next": "done", "conditions": [
                      {"arguments": ["{{widgets.ask.Digits}}"], "type": "equal_to", "value": "1"}]}]},
              {"name": "done", "type": "say-play", "properties": {}}]
    execution = run(*states, responses={"ask": [Response(digits="7"), Response(digits="8"), Response(digits="1")]})
    assert path(execution) == ["Trigger", "ask", "split", "ask", "split", "ask", "split", "done"]


def test_the_same_widget_ten_times_in_a_row_stops_the_execution():
    execution = run({"name": "ask", "type": "gather-input-on-call", "properties": {},
                     "transitions": [{"event": "keypress"}, {"event": "timeout", "next": "ask"}]})
    assert MAX_SAME_WIDGET_IN_A_ROW == 10
    assert path(execution) == ["Trigger"] + ["ask"] * 10
    assert "10 times in a row" in execution.stopped


def test_an_execution_ends_after_1000_steps():
    execution = run(
        {"name": "a", "type": "say-play", "properties": {}, "transitions": [{"event": "audioComplete", "next": "b"}]},
        {"name": "b", "type": "say-play", "properties": {}, "transitions": [{"event": "audioComplete", "next": "a"}]})
    assert MAX_STEPS == 1000 and len(execution.steps) == 1000
    assert "1,000 steps" in execution.stopped


def test_time_conditions_use_the_scenarios_clock():
    states = [{"name": "open", "type": "split-based-on", "properties": {}, "transitions": [
        {"event": "noMatch", "next": "closed_msg"},
        {"event": "match", "next": "open_msg", "conditions": [
            {"arguments": [""], "type": "is_before_time", "value": "17:00"}]}]},
        {"name": "open_msg", "type": "say-play", "properties": {}},
        {"name": "closed_msg", "type": "say-play", "properties": {}}]
    morning = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    evening = dt.datetime(2026, 1, 5, 18, 0, tzinfo=dt.UTC)
    assert path(run(*states, now=morning))[-1] == "open_msg"
    assert path(run(*states, now=evening))[-1] == "closed_msg"


@pytest.mark.parametrize("state, message", [
    ({"name": "w", "type": "say-play", "properties": {"say": "{{ x | nope }}"}}, "w: Liquid: unknown filter"),
    ({"name": "w", "type": "create-task", "properties": {}}, "type 'create-task' is not modelled"),
])
def test_what_studio_would_refuse_is_a_test_error(state, message):
    with pytest.raises(ScenarioError, match=message):
        run(state)
