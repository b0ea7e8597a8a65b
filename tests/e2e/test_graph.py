"""`twideploy graph`: the three formats, --out, errors, and --env compiling references against
the emulator's account without ever showing a secret var."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .helpers import edit_yaml, run

PIN = "pin-7319-secret"


def test_graph_formats_and_out_file(project_dir, tmp_path):
    code, mermaid = run(project_dir, "graph", "ivr-main")
    assert code == 0 and mermaid.startswith("flowchart TD\n")
    assert '["lookup_caller<br/><small>run-function: crm/lookup</small>"]' in mermaid
    assert '-->|"match: 1: sales"|' in mermaid
    code, dot = run(project_dir, "graph", "Acme IVR", "--format", "dot")  # the friendly name works too
    assert code == 0 and dot.startswith("digraph flow {") and '[label="timeout"]' in dot
    out = tmp_path / "ivr.svg"
    code, output = run(project_dir, "graph", "ivr-main", "--format", "svg", "--out", str(out))
    assert (code, output) == (0, "")
    names = {t.text for t in ET.parse(out).getroot().iter("{http://www.w3.org/2000/svg}text")}
    assert {"Trigger", "main_menu", "goodbye", "keypress"} <= names


def test_graph_errors_are_one_line(project_dir, tmp_path):
    code, output = run(project_dir, "graph", "nope")
    assert (code, output) == (1, "error: unknown flow 'nope' (flows: ivr-main, sms-bot, subflows/lookup-caller)\n")
    code, output = run(project_dir, "graph", "ivr-main", "--out", str(tmp_path / "missing" / "x.svg"))
    assert code == 1 and output.startswith("error: cannot write ") and output.count("\n") == 1


def test_graph_with_env_shows_what_widgets_call_and_no_secret(project_dir, cli_env, monkeypatch):
    monkeypatch.setenv("LOCAL_PIN", PIN)
    edit_yaml(project_dir / "environments/base.yaml", lambda env: env["vars"].__setitem__("pin", "1"))
    edit_yaml(project_dir / "environments/local.yaml",
              lambda env: env["vars"].__setitem__("pin", {"secret": "${env:LOCAL_PIN}"}))

    def secret_condition(flow):
        route = next(s for s in flow["states"] if s["name"] == "route_digits")
        route["transitions"][1]["conditions"][0]["friendly_name"] = "${vars.pin}"

    edit_yaml(project_dir / "flows/ivr-main.yaml", secret_condition)
    assert run(project_dir, "apply", "--env", "local", "--auto-approve")[0] == 0
    for fmt in ("mermaid", "svg", "dot"):
        code, output = run(project_dir, "graph", "ivr-main", "--env", "local", "--format", fmt)
        assert code == 0 and PIN not in output
        assert "match: ***" in output
    code, mermaid = run(project_dir, "graph", "ivr-main", "--env", "local")
    assert "run-function: crm/lookup -#gt; crm-" in mermaid and ".twil.io/lookup</small>" in mermaid
    assert "run-subflow: subflows/lookup-caller -#gt; FW" in mermaid
