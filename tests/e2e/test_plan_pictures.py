"""Pictures of changed flows in `plan --format markdown` and `drift --format markdown`, against the emulator.

The Mermaid block must name the widgets that changed and mark them (added, changed, removed,
the removed ones taken from the live definition), mark rewired transitions, and carry no secret.
"""

from __future__ import annotations

import re

from .helpers import add_secret_pin_var, edit_yaml, edited, live_flow, open_ws, run, tier_condition

IVR = "flows/ivr-main.yaml"


def mermaid(markdown: str) -> str:
    [block] = re.findall(r"```mermaid\n(.*?)\n```", markdown, re.S)
    return block


def node_ids(block: str) -> dict[str, str]:
    """Widget name -> its Mermaid node id."""
    return {name: node for node, name in re.findall(r'^\s*(w\d+)\["([^<"]+)<br/>', block, re.M)}


def classes(block: str) -> dict[str, str]:
    """Mermaid node id -> its class (added, changed, removed)."""
    return {node: cls for nodes, cls in re.findall(r"^\s*class (\S+) (\w+)$", block, re.M) for node in nodes.split(",")}


def rewire_goodbye(flow: dict) -> None:
    """Change one prompt, remove `goodbye` and send record_message to a new widget instead."""
    states = flow["states"]
    next(s for s in states if s["name"] == "invalid_choice")["properties"]["say"] = "Sorry, I did not catch that."
    states[:] = [s for s in states if s["name"] != "goodbye"]
    states.append({"name": "farewell", "type": "say-play",
                   "properties": {"say": "Bye.", "offset": {"x": 400, "y": 1800}}, "transitions": []})
    for transition in next(s for s in states if s["name"] == "record_message")["transitions"]:
        if transition.get("next") == "goodbye":
            transition["next"] = "farewell"


def test_the_plan_markdown_draws_the_changed_flow_with_its_changes_marked(project_dir, cli_env):
    assert run(project_dir, "apply", "--env", "local", "--auto-approve")[0] == 0
    edit_yaml(project_dir / IVR, rewire_goodbye)

    code, markdown = run(project_dir, "plan", "--env", "local", "--format", "markdown")
    assert code == 0, markdown
    assert "🟩 added · 🟨 changed · 🟥 removed" in markdown
    assert markdown.index("```mermaid") < markdown.index("<summary>Details</summary>")
    block = mermaid(markdown)  # one picture: only ivr-main changed
    ids, marked = node_ids(block), classes(block)
    assert {name: marked.get(ids[name]) for name in ("invalid_choice", "farewell", "goodbye", "record_message",
                                                     "main_menu")} == {
        "invalid_choice": "changed", "farewell": "added", "goodbye": "removed", "record_message": "changed",
        "main_menu": None}
    record, goodbye, farewell = ids["record_message"], ids["goodbye"], ids["farewell"]
    assert f'{record} -.->|"recordingComplete"| {goodbye}' in block  # the removed arrow, dotted
    assert f'{record} -->|"recordingComplete"| {farewell}' in block
    assert "Sorry, I did not catch that." not in block  # a graph holds no property value
    # what widgets call is named as the manifests name it, not by the compiled SID or URL
    assert "run-subflow: subflows/lookup-caller" in block and "run-function: crm/lookup" in block


def test_a_picture_of_a_new_flow_marks_every_widget_added(project_dir, cli_env):
    code, markdown = run(project_dir, "plan", "--env", "local", "--format", "markdown")
    assert code == 0 and markdown.count("```mermaid") == 3, markdown  # ivr-main, sms-bot, lookup-caller
    assert "<code>flow.ivr-main</code> (13 widgets)" in markdown  # a large flow is folded
    assert "**`flow.sms-bot`**" in markdown  # a small one (9 widgets) is shown as is
    for block in re.findall(r"```mermaid\n(.*?)\n```", markdown, re.S):
        assert set(classes(block).values()) == {"added"} and set(classes(block)) == set(node_ids(block).values())


def test_no_changes_no_pictures(project_dir, cli_env):
    assert run(project_dir, "apply", "--env", "local", "--auto-approve")[0] == 0
    code, markdown = run(project_dir, "plan", "--env", "local", "--format", "markdown")
    assert code == 0 and "No changes" in markdown and "mermaid" not in markdown and "Widgets:" not in markdown


def test_the_drift_markdown_draws_a_console_edit(project_dir, cli_env):
    assert run(project_dir, "apply", "--env", "local", "--auto-approve")[0] == 0
    ws = open_ws(project_dir, cli_env)
    flow = live_flow(ws, "Acme IVR")
    cli_env.console_edit(flow.sid, edited(flow.definition, "goodbye", say="Bye, from the console"),
                         commit_message="Hotfix: shorter goodbye")

    code, markdown = run(project_dir, "drift", "--env", "local", "--format", "markdown")
    assert code == 2, markdown
    assert "Marked from the live flow to the manifests" in markdown
    block = mermaid(markdown)
    assert classes(block) == {node_ids(block)["goodbye"]: "changed"}
    code, report = run(project_dir, "drift", "--env", "local", "--format", "json")
    assert "mermaid" not in report and "pictures" not in report


def test_a_picture_never_shows_a_secret(project_dir, cli_env, monkeypatch):
    """A split's condition labels its arrow; a secret var there reads `***`, in the new and the live flow."""
    pin = "pin7319secretX"
    monkeypatch.setenv("LOCAL_PIN", pin)
    add_secret_pin_var(project_dir)

    def condition_on_the_pin(flow: dict) -> None:
        condition = tier_condition(flow)
        del condition["friendly_name"]  # the arrow is labelled with the value
        condition["value"] = "${vars.pin}"

    edit_yaml(project_dir / IVR, condition_on_the_pin)
    applied = run(project_dir, "apply", "--env", "local", "--auto-approve")
    assert applied[0] == 0, applied[1]
    edit_yaml(project_dir / IVR, rewire_goodbye)
    monkeypatch.setenv("LOCAL_PIN", pin + "rotated")  # the live flow holds the earlier value

    code, markdown = run(project_dir, "plan", "--env", "local", "--format", "markdown")
    assert code == 0 and "```mermaid" in markdown, markdown
    assert pin not in markdown and '|"match: ***"|' in mermaid(markdown)
