"""The reliability campaign (`reliability/`): its checks, and a tiny run of the whole thing.

The campaign itself runs on demand (hundreds of runs); here it only has to work: its
per-resource check must catch what it is there to catch, and a 3-run campaign must finish
with a report (exit 0, or 1 when it found violations in the engine), not a crash.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from reliability.campaign import named_command, touched_kinds
from reliability.snapshot import Hidden, compare

REPO = Path(__file__).resolve().parents[2]
BEFORE = {"flow A": {"status": "published", "definition": {"states": [{"name": "say", "text": "hi"}]}},
          "number +1": {"sms_url": "https://webhooks.twilio.com/v1/Accounts/ACCOUNT/Flows/flow:A"},
          "service s environment e variable V": "1", "service s environment e variable TOKEN": Hidden("old")}
AFTER = {"flow A": {"status": "published", "definition": {"states": [{"name": "say", "text": "hello"}]}},
         "flow B": {"status": "published", "definition": {"states": []}},
         "number +1": {"sms_url": "https://webhooks.twilio.com/v1/Accounts/ACCOUNT/Flows/flow:B"},
         "service s environment e variable TOKEN": Hidden("new")}


def test_each_resource_must_be_at_its_before_or_after_state():
    assert compare(BEFORE, BEFORE, AFTER, "before") == []
    assert compare(AFTER, BEFORE, AFTER, "after") == []
    mixed = {**BEFORE, "flow B": AFTER["flow B"]}
    assert compare(mixed, BEFORE, AFTER, None) == []
    assert compare(mixed, BEFORE, AFTER, "before") == [
        "flow B: at its after-state, expected its before-state: (before -> live) value: absent -> "
        "{'status': 'published', 'definition': {'states': []}}"]


def test_a_binding_to_a_flow_that_is_gone_is_neither_state():
    dangling = {
        **BEFORE,
        "number +1": {"sms_url": "https://webhooks.twilio.com/v1/Accounts/ACCOUNT/Flows/<missing FW1>"},
    }
    [problem] = compare(dangling, BEFORE, AFTER, "before")
    assert problem.startswith("number +1: neither its before- nor its after-state: (before -> live) sms_url:")


def test_a_flow_change_is_shown_by_widget_and_secrets_never():
    edited = {**BEFORE, "flow A": {"status": "published", "definition": {"states": [{"name": "say", "text": "bye"}]}},
              "service s environment e variable TOKEN": Hidden("leaked?")}
    problems = compare(edited, BEFORE, AFTER, "before")
    assert problems[0] == ("flow A: neither its before- nor its after-state: (before -> live) "
                           "definition.states[say].text: 'hi' -> 'bye'")
    assert problems[1].endswith("value: '***' -> '***'") and "leaked" not in "".join(problems)


def test_the_command_an_error_names():
    interrupted = ("error: deploy X on local was interrupted after 3 completed write(s).\n"
                   "  To undo it:               twideploy rollback --env local\n"
                   "  To keep it and carry on:  twideploy apply --env local --abandon-unfinished (apply converges)")
    assert named_command(interrupted) == ["twideploy", "rollback", "--env", "local"]
    assert named_command("error: apply failed: boom; finish with `twideploy apply --env prod --abandon-unfinished`.") \
        == ["twideploy", "apply", "--env", "prod", "--abandon-unfinished"]
    assert named_command("error: apply failed: boom; the rollback was incomplete") is None


def test_touched_kinds_sees_content_inside_a_build():
    build = {"functions": {"/f": {"sha256": "1"}}, "assets": {"/a": {"sha256": "1"}}}
    assert touched_kinds({"service s environment e build": build},
                         {"service s environment e build": {**build, "assets": {"/a": {"sha256": "2"}}}}) \
        == {"build", "asset"}


@pytest.mark.parametrize("state", ["local", "account"])
def test_a_tiny_campaign_runs_to_its_report(tmp_path, state):
    done = subprocess.run([sys.executable, "-m", "reliability.campaign", "--runs", "2", "--kills", "1", "--seed", "1",
                           "--work-dir", str(tmp_path), "--state", state], cwd=REPO, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert "runs: 3 (fault applies: 2, kills: 1)" in done.stdout and "Traceback" not in done.stderr
    assert done.returncode == 0 or "VIOLATION run" in done.stdout
