"""A change inside a long prompt is shown word by word in plans and drift reports (issue 11, item 1).

The old plan cut both values at 80 characters, so a change at the end of a 300-character
prompt read as two identical strings. Planned against the emulator, through the CLI.
"""

from __future__ import annotations

import json

import pytest

from .helpers import edited, live_flow, open_ws, run, set_greeting

PROMPT = ("Sorry, that is not an option. Please listen carefully as our menu options have recently changed. "
          "For sales press one, for support press two, for billing press three, to hear these options again "
          "press nine, or stay on the line and an operator will be with you shortly. Thank you for calling "
          "the Acme Corporation helpline today, goodbye.")


@pytest.mark.parametrize(("old", "new"), [("Sorry,", "Apologies,"), ("billing", "accounts"),
                                          ("goodbye.", "and farewell.")], ids=["start", "middle", "end"])
def test_the_changed_words_of_a_long_prompt_appear_in_text_markdown_and_json(project_dir, cli_env, old, new):
    assert len(PROMPT) >= 300
    set_greeting(project_dir, PROMPT)
    assert run(project_dir, "apply", "--env", "local", "--auto-approve")[0] == 0
    changed = PROMPT.replace(old, new)
    set_greeting(project_dir, changed)

    code, text = run(project_dir, "plan", "--env", "local")
    assert code == 0 and f"[-{old}-]{{+{new}+}}" in text

    code, markdown = run(project_dir, "plan", "--env", "local", "--format", "markdown")
    block = markdown.split("```diff", 1)[1].split("```", 1)[0].splitlines()
    assert code == 0
    assert any(line.startswith("-") and old in line for line in block)
    assert any(line.startswith("+") and new in line for line in block)

    code, out = run(project_dir, "plan", "--env", "local", "--format", "json")
    [change] = [w for c in json.loads(out)["changes"] for w in c["widgets"] if w["detail"] == "say"]
    assert code == 0 and (change["before"], change["after"]) == (PROMPT, changed)


def test_a_console_edit_at_the_end_of_a_long_prompt_shows_its_words_in_the_drift_report(project_dir, cli_env):
    set_greeting(project_dir, PROMPT)
    assert run(project_dir, "apply", "--env", "local", "--auto-approve")[0] == 0
    ws = open_ws(project_dir, cli_env)
    flow = live_flow(ws, "Acme IVR")
    greeting = next(s["name"] for s in flow.definition["states"] if s["properties"].get("say") == PROMPT)
    cli_env.console_edit(flow.sid, edited(flow.definition, greeting, say=PROMPT.replace("goodbye.", "bye now.")),
                         commit_message="Hotfix: friendlier")

    code, text = run(project_dir, "drift", "--env", "local")
    assert code == 2 and "[-bye now.-]{+goodbye.+}" in text  # live -> manifests
    code, markdown = run(project_dir, "drift", "--env", "local", "--format", "markdown")
    assert code == 2 and "[-bye now.-]{+goodbye.+}" in markdown
