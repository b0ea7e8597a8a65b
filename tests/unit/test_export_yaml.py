"""The YAML writer `export` uses: what it writes reads back as the same data, and updating a
file changes only what changed (comments, key order, quoting and folded strings survive).

Read back with twideploy's own reader (`documents.parse_yaml`, YAML 1.2 core schema), since
the point is that `plan` after `export` sees exactly what export meant to write.
"""

from __future__ import annotations

import copy
import io
from pathlib import Path

import pytest

from twideploy.manifest.documents import parse_yaml
from twideploy.yaml_writer import new_document, plain, round_trip_yaml, update_node

REPO = Path(__file__).resolve().parents[2]

# Strings that a careless writer would turn into something else: booleans, nulls, numbers,
# E.164 numbers, YAML syntax, templates, Liquid, blank and multi-line text.
TRICKY = ["yes", "no", "on", "Off", "y", "~", "null", "NULL", "true", "False", "0123", "0o17", "0x1F", "1e3", "1_000",
          ".5", "-.inf", ".nan", "+15005550006", "12:30:00", "2024-01-01", "${vars.greeting}", "{{trigger.call.From}}",
          "a: b", "a #b", "#c", " lead", "trail ", "", "'", '"', "- x", "? x", "[x]", "{x}", "&a", "*a", "!t", "%p",
          "@x", "`x", "|", ">", "<<", "=", "multi\nline\n", "no final newline\nhere", "tab\there", "ünïcödé ☎",
          "  indented\nblock", "two blank\n\n", "\nleading newline", "x" * 300]


def write(doc: dict) -> str:
    """A new file, as export writes one."""
    buffer = io.StringIO()
    round_trip_yaml().dump(new_document(doc), buffer)
    return buffer.getvalue()


def update(text: str, new: dict) -> str:
    """An existing file updated in place to mean `new`, as export updates one."""
    yaml = round_trip_yaml()
    buffer = io.StringIO()
    yaml.dump(update_node(yaml.load(text), new), buffer)
    return buffer.getvalue()


def read(text: str) -> dict:
    return parse_yaml(text, "flows/f.yaml").data


def test_a_written_flow_reads_back_as_the_same_data():
    doc = {
        "friendly_name": "Acme IVR",
        "status": "published",
        "description": "",
        "initial_state": "Trigger",
        "flags": {"allow_concurrent_calls": True},
        "states": [
            {"name": "Trigger", "type": "trigger", "properties": {"offset": {"x": 0, "y": 0}},
             "transitions": [{"event": "incomingCall", "next": "greet"}, {"event": "incomingMessage"}]},
            {"name": "greet", "type": "say-play",
             "properties": {**{f"p{i}": text for i, text in enumerate(TRICKY)}, "loop": 1, "volume": -1.5,
                            "stop": False, "digits": ["1", "2", "yes"], "offset": {"x": 100, "y": 200}},
             "transitions": [{"event": "audioComplete"}]},
        ],
        "extra": TRICKY,
    }
    assert read(write(doc)) == doc


def test_multi_line_text_is_written_as_a_literal_block():
    text = write({"states": [{"name": "say", "properties": {"say": "Hello.\nPress 1.\n"}}]})
    assert "      say: |\n        Hello.\n        Press 1.\n" in text, text


def test_keys_that_look_like_other_types_stay_strings():
    keys = ["+15005550006", "yes", "null", "1", "0123", "true", "1e3", "~", "", "a: b", "#x", "key with space"]
    doc = {"numbers": {key: {"voice": "flow:ivr-main"} for key in keys}}
    assert read(write(doc)) == doc


ORIGINAL = """\
# The IVR, adopted from the console.
friendly_name: Acme IVR   # shown in Studio
status: published
description: ''
states:
  # the entry point
  - name: Trigger
    type: trigger
    properties: {offset: {x: 0, y: 0}}
    transitions:
      - {event: incomingCall, next: greet}   # calls start here
  - name: greet   # says hello
    type: say-play
    properties:
      say: "Welcome to Acme"   # double quotes on purpose
      voice: Polly.Joanna
      notes: >-
        folded text that
        goes on
      loop: 1
      barge: 1
      old: drop me   # removed by the update
    transitions:
      - {event: audioComplete}
  - name: bye   # last
    type: say-play
    properties: {say: Goodbye.}
    transitions: []
"""


def test_an_update_changes_only_what_changed():
    new = plain(round_trip_yaml().load(ORIGINAL))
    greet = new["states"][1]["properties"]
    greet["voice"] = "Polly.Matthew"
    greet["loop"] = "1"  # a number that became a string is written as a string
    greet["barge"] = True  # and 1 that became true (equal in Python) is written as true
    del greet["old"]
    new["states"] = [new["states"][0], {"name": "menu", "type": "gather-input-on-call",
                                        "properties": {"say": "Press 1: sales"}, "transitions": []},
                     new["states"][2], new["states"][1]]  # a widget added, two swapped
    new = {"friendly_name": new["friendly_name"], "status": new["status"], "initial_state": "Trigger",
           **{k: v for k, v in new.items() if k not in ("friendly_name", "status")}}

    text = update(ORIGINAL, new)
    assert read(text) == new
    assert text == """\
# The IVR, adopted from the console.
friendly_name: Acme IVR   # shown in Studio
status: published
initial_state: Trigger
description: ''
states:
  # the entry point
  - name: Trigger
    type: trigger
    properties: {offset: {x: 0, y: 0}}
    transitions:
      - {event: incomingCall, next: greet}   # calls start here
  - name: menu
    type: gather-input-on-call
    properties: {say: 'Press 1: sales'}
    transitions: []
  - name: bye   # last
    type: say-play
    properties: {say: Goodbye.}
    transitions: []
  - name: greet   # says hello
    type: say-play
    properties:
      say: "Welcome to Acme"   # double quotes on purpose
      voice: Polly.Matthew
      notes: >-
        folded text that
        goes on
      loop: '1'
      barge: true
    transitions:
      - {event: audioComplete}
"""


@pytest.mark.parametrize("rel", ["flows/ivr-main.yaml", "flows/subflows/lookup-caller.yaml",
                                 "environments/base.yaml", "environments/staging.yaml", "environments/local.yaml",
                                 "functions/crm/service.yaml", "twideploy.yaml"])
def test_updating_an_example_manifest_to_what_it_says_leaves_every_byte(rel: str):
    text = (REPO / rel).read_text()
    assert update(text, copy.deepcopy(plain(round_trip_yaml().load(text)))) == text
