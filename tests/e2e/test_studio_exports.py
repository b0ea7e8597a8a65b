"""Flows exported from a production helpline's Studio (content templates, transitions that
carry a `name`) plan and apply to the emulator, and a change to what Studio keeps is deployed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from twideploy import deploy
from twideploy.plan.flowdiff import describe

from .helpers import open_ws

HELPLINE = Path(__file__).resolve().parents[1] / "fixtures" / "helpline"


@pytest.fixture
def helpline(tmp_path: Path) -> Path:
    root = tmp_path / "helpline"
    shutil.copytree(HELPLINE, root)
    return root


def live_definition(ws, friendly_name: str) -> dict:
    flows = ws.gateway.client.studio.v2.flows
    [sid] = [f.sid for f in flows.list() if f.friendly_name == friendly_name]
    definition = flows(sid).fetch().definition
    return json.loads(definition) if isinstance(definition, str) else definition


def test_helpline_exports_apply_as_they_are_and_keep_transition_names(helpline, emulator):
    ws = open_ws(helpline, emulator)
    assert {(c.address, c.action.value) for c in deploy.plan(ws).plan.actionable} >= {
        ("flow.messaging", "create"), ("flow.voice", "create")}
    deploy.apply(ws, deploy.ApplyOptions())
    exported = json.loads((helpline / "flows/messaging.json").read_text())
    assert live_definition(ws, "messaging")["states"] == exported["states"]
    assert not deploy.plan(open_ws(helpline, emulator)).plan.has_changes

    path = helpline / "flows/messaging.json"
    path.write_text(path.read_text().replace('"name": "No reply"', '"name": "No reply within an hour"'))
    ws = open_ws(helpline, emulator)
    [change] = deploy.plan(ws).plan.actionable
    assert (change.address, change.action.value) == ("flow.messaging", "update")
    assert [describe(w) for w in change.widgets] == [
        "language_menu --timeout--> no_reply_closing: {'next': 'no_reply_closing', 'name': 'No reply'} -> "
        "{'next': 'no_reply_closing', 'name': 'No reply within an hour'}"]
    deploy.apply(ws, deploy.ApplyOptions())
    timeout = next(t for s in live_definition(ws, "messaging")["states"] if s["name"] == "language_menu"
                   for t in s["transitions"] if t["event"] == "timeout")
    assert timeout == {"next": "no_reply_closing", "event": "timeout", "name": "No reply within an hour"}
