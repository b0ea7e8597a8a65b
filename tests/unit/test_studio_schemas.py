"""`validate` is never stricter than Studio: its widget rules are read from the vendored
schemas (twideploy/manifest/studio_schemas/), every example flow passes those schemas, and
flows Studio accepts (content templates, transitions carrying `name`) pass `validate`."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft7Validator

from twideploy.cli.init import init_project
from twideploy.cli.main import cli
from twideploy.emulator.studio import definition_errors
from twideploy.manifest import check_flow, load_project
from twideploy.manifest.documents import parse_yaml
from twideploy.manifest.references import AddressBook, compile_flow
from twideploy.manifest.widgets import STUDIO_TYPES, SYMBOLIC, WIDGETS, load_schema

REPO = Path(__file__).resolve().parents[2]
HELPLINE = REPO / "tests" / "fixtures" / "helpline"
MINI = REPO / "tests" / "bad_inputs" / "base"
SCHEMAS = [Draft7Validator(load_schema(name)) for name in ("flow-definition.json", "widgets.json")]


def schema_errors(definition: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for v in SCHEMAS for e in v.iter_errors(definition)]


def problems_of(text: str, file: str = "flows/f.yaml") -> list[str]:
    doc = parse_yaml(text, file)
    return [str(p) for p in check_flow(doc.data, file, doc.lines)]


@pytest.fixture
def examples(tmp_path) -> dict[str, Path]:
    """The example project, the scaffold as `twideploy init` writes it, and the helpline exports."""
    init_project(tmp_path / "scaffold")
    return {"example": REPO, "scaffold": tmp_path / "scaffold", "helpline": HELPLINE}


def test_the_vendored_schemas_are_valid_json_schemas():
    for validator in SCHEMAS:
        Draft7Validator.check_schema(validator.schema)
    assert load_schema("flow-definition.json")["$id"] == "https://schemas.twilio.com/studio/draft/2019-09/flow-definition"


def test_every_example_flow_validates_against_the_vendored_schemas(examples):
    """Each flow as each environment deploys it: compiled, vars substituted."""
    checked = []
    for label, root in examples.items():
        project = load_project(root)
        for env in project.environments.values():
            for name in env.flows:
                compiled = compile_flow(project.flows[name].definition, vars=env.vars, book=AddressBook())
                assert schema_errors(compiled) == [], (label, env.name, name)
                checked.append((label, env.name, name))
    assert {("example", "staging", "ivr-main"), ("scaffold", "local", "sms-bot"),
            ("helpline", "local", "messaging"), ("helpline", "local", "voice")} <= set(checked)


def test_every_example_project_passes_validate(examples):
    for root in examples.values():
        result = CliRunner().invoke(cli, ["validate", "--project-dir", str(root)])
        assert result.exit_code == 0, result.output
        assert " error" not in result.output, result.output


def test_widget_types_are_those_of_twilios_schema():
    assert set(WIDGETS) == set(STUDIO_TYPES) == set(load_schema("widgets.json")["definitions"]) - {"present"}
    checks = load_schema("widgets.json")["properties"]["states"]["items"]["allOf"]
    assert [c["if"]["properties"]["type"]["const"] for c in checks] == [
        c["then"]["$ref"].split("/")[-1] for c in checks
    ]
    assert {c["if"]["properties"]["type"]["const"] for c in checks} == set(STUDIO_TYPES)
    assert "send-to-auto-pilot" not in WIDGETS  # retired: not in Twilio's list, Studio refuses it
    assert any("unknown widget type 'send-to-auto-pilot'" in p for p in problems_of(
        "states:\n  - {name: Trigger, type: trigger, transitions: [{event: incomingCall, next: a}]}\n"
        "  - {name: a, type: send-to-auto-pilot}\n"))


# --------------------------------------------------------------------------- the schema and validate agree

def flow_with(state: dict) -> dict:
    """A flow whose trigger leads to `state` (or that is `state`, a trigger)."""
    widget = {"name": "w", "properties": {}, "transitions": [], **state}
    if state["type"] == "trigger":
        return {"initial_state": "w", "states": [widget]}
    return {
        "initial_state": "Trigger",
        "states": [
            {
                "name": "Trigger",
                "type": "trigger",
                "properties": {},
                "transitions": [{"event": "incomingRequest", "next": "w"}],
            },
            widget,
        ],
    }


def validate_problems(definition: dict) -> tuple[list[str], list[str]]:
    problems = check_flow(definition, "flows/f.json", parse_yaml("{}", "flows/f.json").lines)
    return ([p.message for p in problems if p.severity == "error"],
            [p.message for p in problems if p.severity == "warning"])


def complete(kind: str) -> dict:
    """Properties satisfying every group of the widget with its first Studio (not symbolic) key."""
    symbolic = set(SYMBOLIC.get(kind, {}).values())
    widget = WIDGETS[kind]
    return {next(k for k in group if k not in symbolic): "x" for group in widget.required + widget.expected}


@pytest.mark.parametrize("kind", STUDIO_TYPES)
def test_schema_and_validate_agree_on_required_properties(kind):
    widget = WIDGETS[kind]
    full = complete(kind)
    assert schema_errors(flow_with({"type": kind, "properties": full})) == []
    assert validate_problems(flow_with({"type": kind, "properties": full})) == ([], [])
    for group in widget.required:
        props = {k: v for k, v in full.items() if k not in group}
        definition = flow_with({"type": kind, "properties": props})
        assert schema_errors(definition), (kind, group)
        errors, _ = validate_problems(definition)
        assert [e for e in errors if f"{kind} needs" in e and all(repr(k) in e for k in group)], errors
    for group in widget.expected:  # Studio accepts the widget without: a warning, never an error
        definition = flow_with({"type": kind, "properties": {k: v for k, v in full.items() if k not in group}})
        assert schema_errors(definition) == []
        errors, warnings = validate_problems(definition)
        assert errors == [] and any(f"{kind} does nothing without" in w for w in warnings), warnings


@pytest.mark.parametrize("kind", [k for k in STUDIO_TYPES if WIDGETS[k].events])
def test_schema_and_validate_agree_on_transition_events(kind):
    events = WIDGETS[kind].events
    state = {"type": kind, "properties": complete(kind),
             "transitions": [{"event": e, **({"conditions": [{"arguments": ["x"], "type": "equal_to", "value": "1"}]}
                                              if e == "match" else {})} for e in events]}
    assert schema_errors(flow_with(state)) == []
    assert validate_problems(flow_with(state))[0] == []
    wrong = copy.deepcopy(state)
    wrong["transitions"].append({"event": "done"})
    assert schema_errors(flow_with(wrong))
    assert any(f"{kind} has no transition event 'done'" in e for e in validate_problems(flow_with(wrong))[0])


def test_rules_twideploy_dropped_because_studio_accepts_the_flow():
    """Widgets with what Twilio's docs call optional or defaulted: no error, no warning."""
    for state in (
        {"type": "gather-input-on-call", "properties": {"number_of_digits": 1}},  # "no required configuration"
        {"type": "record-call", "properties": {}},  # record_call defaults to false
        {"type": "make-http-request", "properties": {"url": "https://example.com"}},  # method GET, content type
        {"type": "connect-virtual-agent", "properties": {"connector": "cx"},  # CX handlers' events undocumented
         "transitions": [{"event": "completed"}, {"event": "live_agent_handoff"}]},
    ):
        assert validate_problems(flow_with(state)) == ([], []), state
        assert schema_errors(flow_with(state)) == [], state


# --------------------------------------------------------------------------- content templates

CONTENT_TEMPLATES = """\
states:
  - name: Trigger
    type: trigger
    transitions:
      - {event: incomingMessage, next: ask}
  - name: ask
    type: send-and-wait-for-reply
    properties:
      from: "{{flow.channel.address}}"
      message_type: content_template
      content_sid: HX00000000000000000000000000000000
      content_variables: [{key: "1", value: "{{trigger.message.ProfileName}}"}]
      timeout: "3600"
    transitions:
      - {event: incomingMessage, next: thanks}
      - {event: timeout, next: thanks}
      - {event: deliveryFailure}
  - name: thanks
    type: send-message
    properties:
      message_type: content_template
      content_sid: HX00000000000000000000000000000001
    transitions:
      - {event: sent}
      - {event: failed}
"""


def test_content_template_widgets_without_a_body_pass():
    problems = problems_of(CONTENT_TEMPLATES)
    assert [p for p in problems if "warning" not in p] == []
    assert all("raw SID HX" in p for p in problems), problems  # content SIDs differ per account


def test_a_message_widget_with_neither_body_nor_template_warns():
    text = CONTENT_TEMPLATES.replace(
        "      message_type: content_template\n      content_sid: HX00000000000000000000000000000001\n",
        '      to: "{{contact.channel.address}}"\n',
    )
    assert [p for p in problems_of(text) if "HX" not in p] == [
        "flows/f.yaml:20: warning: state 'thanks': send-message does nothing without one of the properties "
        "'body', 'content_sid'"]


def test_message_type_and_content_sid_must_agree():
    no_type = CONTENT_TEMPLATES.replace(
        "      message_type: content_template\n      content_sid: HX00000000000000000000000000000001",
        "      body: Thanks\n      content_sid: HX00000000000000000000000000000001",
    )
    assert "flows/f.yaml:20: warning: state 'thanks': 'content_sid' is sent only with message_type " \
           "'content_template'; Studio sends the body instead" in problems_of(no_type)
    no_sid = CONTENT_TEMPLATES.replace(
        "      content_sid: HX00000000000000000000000000000001\n", "      body: Thanks\n"
    )
    assert "flows/f.yaml:20: warning: state 'thanks': message_type 'content_template' without 'content_sid': " \
           "there is no template to send" in problems_of(no_sid)


# --------------------------------------------------------------------------- project-level: the file formats

def validate_project_with(tmp_path: Path, flow: str) -> tuple[int, str]:
    root = tmp_path / "p"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(MINI, root)
    (root / "flows" / "sub.yaml").write_text(flow)
    result = CliRunner().invoke(cli, ["validate", "--project-dir", str(root)])
    return result.exit_code, result.output


SUB = (MINI / "flows" / "sub.yaml").read_text()


def test_transitions_may_carry_the_keys_studio_keeps(tmp_path):
    assert "next: " in SUB
    code, output = validate_project_with(tmp_path, SUB.replace("next: ", "name: Go on, next: ", 1))
    assert code == 0 and "warning" not in output, output
    code, output = validate_project_with(tmp_path, SUB.replace("next: ", "nxt: x, next: ", 1))
    assert code == 0, output
    assert "unknown transition key 'nxt' (did you mean 'next'?): Studio keeps it but does nothing with it" in output


def test_top_level_keys_of_twilios_schema(tmp_path):
    code, output = validate_project_with(
        tmp_path, '"$schema": https://schemas.twilio.com/studio/draft/2019-09/flow-definition\n' + SUB)
    assert code == 0, output
    code, output = validate_project_with(tmp_path, '"$schema": https://example.com/other\n' + SUB)
    assert code == 1 and 'flows/sub.yaml:1: ["$schema"]: expected \'https://schemas.twilio.com' in output, output
    code, output = validate_project_with(tmp_path, "flags: {}\n" + SUB)
    assert code == 1 and "flows/sub.yaml:1: flags: missing required key 'allow_concurrent_calls'" in output, output


# --------------------------------------------------------------------------- the emulator's Studio

def test_the_emulator_accepts_every_widget_type_studio_does():
    definition = {"initial_state": "Trigger", "states": [
        {"name": "Trigger", "type": "trigger", "transitions": [{"event": "incomingRequest", "next": "s0"}]},
        *({"name": f"s{i}", "type": kind, "properties": {}, "transitions": [{"event": "x", "name": "label"}]}
          for i, kind in enumerate(t for t in STUDIO_TYPES if t != "trigger")),
    ]}
    assert definition_errors(definition) == []
    definition["states"][1]["type"] = "send-to-autopilot"
    assert [e["property_path"] for e in definition_errors(definition)] == ["#/states/1/type"]
