"""Validation rules that the bad-inputs corpus cannot show (warnings, single-flow checks),
and the output formats of `twideploy validate`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from twideploy.cli.main import cli
from twideploy.manifest import check_flow, load_project, validate_project
from twideploy.manifest.documents import parse_json, parse_yaml
from twideploy.manifest.validation import validate_directory
from twideploy.manifest.widgets import WIDGETS

REPO = Path(__file__).resolve().parents[2]
MINI = REPO / "tests" / "bad_inputs" / "base"


def flow_problems(text: str, file: str = "flows/f.yaml"):
    doc = parse_json(text, file) if file.endswith(".json") else parse_yaml(text, file)
    return check_flow(doc.data, file, doc.lines)


def messages(problems, severity=None):
    return [str(p) for p in problems if severity is None or p.severity == severity]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_API_KEY", "TWILIO_API_SECRET", "CRM_TOKEN", "GITHUB_ACTIONS"):
        monkeypatch.delenv(name, raising=False)


VALID = """\
states:
  - name: Trigger
    type: trigger
    transitions:
      - {event: incomingMessage, next: reply}
  - name: reply
    type: send-message
    properties: {body: "Hi {{widgets.reply.outbound.To}}"}
    transitions:
      - {event: sent}
"""


def test_a_valid_flow_has_no_problems():
    assert flow_problems(VALID) == []


def test_unreachable_state_is_a_warning():
    text = VALID + "  - name: orphan\n    type: say-play\n    properties: {say: hi}\n"
    problems = flow_problems(text)
    assert messages(problems) == [
        "flows/f.yaml:11: warning: state 'orphan': unreachable: no transition leads here from the trigger"
    ]


def test_widget_reference_to_missing_state_is_a_warning():
    problems = flow_problems(VALID.replace("widgets.reply.outbound", "widgets.repyl.outbound"))
    assert messages(problems, "warning") == [
        "flows/f.yaml:8: warning: state 'reply': {{widgets.repyl...}} refers to no state (did you mean 'reply'?)"]


def test_raw_sids_warn_with_json_path():
    text = json.dumps({"states": [
        {"name": "Trigger", "type": "trigger", "transitions": [{"event": "incomingCall", "next": "f"}]},
        {"name": "f", "type": "run-function", "properties": {
            "service_sid": "ZS" + "1" * 32, "environment_sid": "ZE" + "1" * 32, "function_sid": "ZH" + "1" * 32,
            "url": "https://x-1234.twil.io/f"}, "transitions": []},
        {"name": "q", "type": "send-to-flex", "properties": {"workflow": "WW" + "2" * 32, "channel": "TC" + "3" * 32},
         "transitions": []},
    ]}, indent=1)
    problems = flow_problems(text, "flows/raw.json")
    warnings = messages(problems, "warning")
    assert any(
        "$.states[1].properties.function_sid: state 'f': raw SID ZH111" in w
        and "use function: SERVICE/PATH" in w
        and "twideploy export" in w
        for w in warnings
    )
    assert any(
        "$.states[2].properties.workflow: state 'q': raw SID WW222" in w and "${vars.NAME}" in w for w in warnings
    )
    assert messages(problems, "error") == []


def test_literal_dollar_brace_warns_and_env_refs_are_errors():
    problems = flow_problems(VALID.replace('"Hi {{', '"Hi ${foo} ${env:X} {{'))
    assert any("${foo} is not a twideploy reference" in m for m in messages(problems, "warning"))
    assert any("${env:X}: ${env:...} is only allowed in environment files" in m for m in messages(problems, "error"))


@pytest.mark.parametrize("kind", sorted(k for k, w in WIDGETS.items() if w.required))
def test_required_properties_of_every_widget(kind):
    widget = WIDGETS[kind]
    text = VALID + f"  - name: w\n    type: {kind}\n    properties: {{offset: {{x: 0, y: 0}}}}\n"
    text = text.replace("      - {event: sent}", "      - {event: sent, next: w}")
    errors = messages(flow_problems(text), "error")
    assert len(errors) == len(widget.required)
    for group, error in zip(widget.required, errors, strict=True):
        assert error.startswith(f"flows/f.yaml:13: state 'w': {kind} needs ")
        assert all(repr(key) in error for key in group)


def test_allowed_events_come_from_the_widget_library():
    text = VALID.replace("      - {event: sent}", "      - {event: sent}\n      - {event: delivered}")
    assert messages(flow_problems(text)) == [
        "flows/f.yaml:11: state 'reply': send-message has no transition event 'delivered' (events: sent, failed)"]
    assert WIDGETS["trigger"].events == ("incomingMessage", "incomingCall", "incomingConversationMessage",
                                         "incomingRequest", "incomingParent")


def test_vars_in_state_names_are_errors():
    problems = flow_problems(VALID.replace("next: reply", "next: \"${vars.x}\""))
    assert any("next: ${...} references are not allowed here" in m for m in messages(problems, "error"))


# --------------------------------------------------------------------------- project-level


def project_with(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "p"
    shutil.copytree(MINI, root)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_secret_var_in_a_flow_is_a_warning(tmp_path):
    root = project_with(tmp_path, {})
    for env in ("dev", "prod"):
        path = root / f"environments/{env}.yaml"
        path.write_text(path.read_text().replace("greeting: Hello there", "greeting: {secret: Hello there}"))
    problems = validate_project(load_project(root), None)
    assert any(p.severity == "warning" and "${vars.greeting} is a secret in environment 'dev'" in p.message
               for p in problems)


def test_subflow_without_incoming_parent_and_undeployed_things_warn(tmp_path):
    root = project_with(tmp_path, {
        "flows/sub.yaml": (MINI / "flows/sub.yaml").read_text().replace("incomingParent", "incomingCall"),
        "flows/lonely.yaml": "states:\n  - {name: T, type: trigger}\n",
    })
    problems = validate_directory(root, None)
    assert "flows/main.yaml:23: warning: run-subflow: flow 'sub' has no 'incomingParent' transition on its trigger, " \
           "so it does nothing when run as a subflow" in messages(problems)
    assert "flows/lonely.yaml:1: warning: flow 'lonely' is not deployed by any environment" in messages(problems)
    assert not messages(problems, "error")


def test_without_env_missing_variables_are_not_reported_with_env_they_are():
    assert validate_directory(REPO, None) == []
    problems = validate_directory(REPO, ["prod"])
    assert {p.file for p in problems} == {"environments/prod.yaml", "environments/base.yaml"}
    assert all(p.severity == "error" and "is not set" in p.message for p in problems)


def test_example_project_is_valid_for_every_environment(monkeypatch):
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "a" * 32)
    monkeypatch.setenv("TWILIO_API_KEY", "SK" + "b" * 32)
    monkeypatch.setenv("TWILIO_API_SECRET", "s")
    monkeypatch.setenv("CRM_TOKEN", "t")
    assert validate_directory(REPO, ["local", "staging", "prod"]) == []


# --------------------------------------------------------------------------- the command


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, ["validate", *args], env=env)


def test_text_output_and_exit_codes(tmp_path):
    ok = run("--project-dir", str(REPO))
    assert (ok.exit_code, ok.output) == (0, "valid\n")
    root = project_with(tmp_path, {"flows/lonely.yaml": "states:\n  - {name: T, type: trigger}\n"})
    warned = run("--project-dir", str(root))
    assert warned.exit_code == 0  # warnings do not fail
    assert warned.output.endswith("valid, 1 warning\n")
    (root / "flows/lonely.yaml").write_text("states:\n  - {name: T, type: triger}\n")
    failed = run("--project-dir", str(root))
    assert failed.exit_code == 1
    assert "flows/lonely.yaml:2: state 'T': unknown widget type 'triger' (did you mean 'trigger'?)" in failed.output
    assert failed.output.splitlines()[-1].startswith("2 errors")  # no trigger + unknown type


def test_json_output(tmp_path):
    root = project_with(tmp_path, {"flows/lonely.yaml": "states:\n  - {name: T, type: trigger}\n"})
    (root / "environments/dev.yaml").write_text((root / "environments/dev.yaml").read_text() + "prune: 1\n")
    result = run("--project-dir", str(root), "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["version"] == 1 and report["valid"] is False
    assert {"file": "environments/dev.yaml", "line": 10, "severity": "error",
            "message": "prune: expected true or false, got an integer"} in report["problems"]
    assert all(set(p) == {"file", "line", "severity", "message"} for p in report["problems"])
    assert json.loads(run("--project-dir", str(REPO), "--format", "json").output) == {
        "version": 1, "valid": True, "problems": []}


def test_github_annotations(tmp_path):
    root = project_with(tmp_path, {"flows/lonely.yaml": "states:\n  - {name: T, type: trigger}\n"})
    (root / "flows/main.yaml").write_text(
        (root / "flows/main.yaml").read_text().replace("next: details", "next: nowhere")
    )
    result = run("--project-dir", str(root), env={"GITHUB_ACTIONS": "true"})
    lines = result.output.splitlines()
    assert (
        "::error file=flows/main.yaml,line=19::state 'say': transition 'audioComplete' goes to unknown state 'nowhere'"
        in lines
    )
    assert "::warning file=flows/lonely.yaml,line=1::flow 'lonely' is not deployed by any environment" in lines
    assert not any(line.startswith("::") for line in run("--project-dir", str(root)).output.splitlines())


def test_unknown_env_option_is_an_error():
    result = run("--project-dir", str(REPO), "--env", "qa")
    assert result.exit_code == 1
    assert "environment 'qa' does not exist (environments: local, prod, staging)" in result.output


def test_functions_domain_in_a_flow_warns_that_promote_keeps_it():
    text = VALID + (
        "  - name: http\n    type: make-http-request\n"
        "    properties: {method: GET, url: 'https://crm-1234-stage.twil.io/orders', content_type: application/json}\n"
        "    transitions: [{event: success}, {event: failed}]\n")
    warnings = messages(flow_problems(text), "warning")
    assert any("crm-1234-stage.twil.io is one Serverless environment's domain" in w for w in warnings)
