"""Hostile and unusual input beyond the bad-inputs corpus: what must still be accepted next
to what is refused (symlinks inside the project, anchors and aliases in reason, npm version
ranges), and the work that must stay linear or iterative (subflow chains, overlays)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from twideploy.manifest import FlowSource, Project, check_flow, documents, load_project, validate_project
from twideploy.manifest.documents import LineMap, ParseError, parse_json, parse_yaml
from twideploy.manifest.environment_loader import merge_documents
from twideploy.manifest.templates import has_url_password, parse_template

MINI = Path(__file__).resolve().parents[1] / "bad_inputs" / "base"


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    shutil.copytree(MINI, tmp_path / "p")
    return tmp_path / "p"


def test_a_symlink_inside_the_project_is_followed(mini):
    shared = mini / "shared"
    shared.mkdir()
    (shared / "hello.js").write_text("exports.handler = (c, e, cb) => cb(null, 'shared');\n")
    os.symlink("../../../shared/hello.js", mini / "functions" / "svc" / "functions" / "shared.public.js")
    service = load_project(mini).services["svc"]
    assert service.function("/shared").content == b"exports.handler = (c, e, cb) => cb(null, 'shared');\n"


def test_a_project_reached_through_a_symlink_is_inside_itself(mini, tmp_path):
    link = tmp_path / "link"
    os.symlink(mini, link)
    assert load_project(link).services["svc"].function("/hello") is not None


def test_yaml_anchors_aliases_and_core_tags_within_the_limits_are_fine():
    doc = parse_yaml("base: &b {say: hi, loop: 2}\n"
                     "one: {<<: *b, loop: 3}\n"
                     "two: [*b, *b]\n"
                     "again: &b 7\n"  # a reused anchor is legal YAML, and prints no warning
                     "text: !!str 12\n"
                     "when: 2024-01-31\n", "f.yaml")
    assert doc.data == {"base": {"say": "hi", "loop": 2}, "one": {"say": "hi", "loop": 3},
                        "two": [{"say": "hi", "loop": 2}, {"say": "hi", "loop": 2}],
                        "again": 7, "text": "12", "when": "2024-01-31"}
    # 64 levels, the top-level mapping included, are fine; brackets in strings do not count
    assert parse_yaml("x: " + "[" * 63 + "1" + "]" * 63 + "\n", "f.yaml").data["x"] is not None
    assert parse_json('{"x": ' + "[" * 63 + "1" + "]" * 63 + ', "y": 1e300, "z": "[[[{"}', "f.json").data["y"] == 1e300
    for text, parse in (("x: " + "[" * 64 + "]" * 64, parse_yaml), ('{"x": ' + "[" * 64 + "]" * 64 + "}", parse_json)):
        with pytest.raises(ParseError, match="nested more than 64 levels deep"):
            parse(text, "f")


def test_a_file_of_too_many_values_stops_at_the_limit_with_its_line(monkeypatch):
    """ruamel spends about 50 microseconds on each node: a 2 MiB `[1,1,1,...]` would take
    half a minute and half a gigabyte without the limit (made small here to be quick)."""
    monkeypatch.setattr(documents, "MAX_VALUES", 50)
    with pytest.raises(ParseError, match=r"f.yaml:3: YAML: more than 50 keys and values in one file"):
        parse_yaml("a: 1\nb: [" + "1, " * 20 + "\n" + "1, " * 40 + "1]\n", "f.yaml")
    with pytest.raises(ParseError, match=r"f.json:2: JSON: more than 50 keys and values in one file"):
        parse_json('{"a": [' + "1, " * 20 + "\n" + "1, " * 40 + "1]}", "f.json")
    parse_yaml("a: [" + "1, " * 46 + "1]\n", "f.yaml")  # 50 exactly: the mapping, its key, the list, 47 items


def test_npm_names_and_version_ranges_that_twilio_installs_are_accepted(mini):
    (mini / "functions" / "svc" / "service.yaml").write_text(
        "runtime: node22\n"
        "dependencies:\n"
        '  "@twilio/runtime-handler": "1.3.0"\n'
        '  lodash: "~4.17.21"\n'
        '  JSONStream: ">=1.3 <2 || 0.x"\n'
        '  got: latest\n'
        '  axios: "1.7.0 - 1.8.x"\n')
    assert len(load_project(mini).services["svc"].dependencies) == 5


def test_templates_literal_dollar_and_passwords():
    assert parse_template("${$}{not a ref}") == ["$", "{not a ref}"]
    with pytest.raises(ValueError, match="unterminated"):
        parse_template("Hi ${vars.greeting")
    assert has_url_password("see https://ops:hunter2@example.com/x")
    assert not has_url_password("https://ops@example.com/x and https://example.com/a:b@c")


def test_a_url_with_a_password_in_a_flow_is_a_warning_that_does_not_block():
    doc = parse_yaml("states:\n"
                     "  - name: Trigger\n"
                     "    type: trigger\n"
                     "    transitions: [{event: incomingRequest, next: fetch}]\n"
                     "  - name: fetch\n"
                     "    type: make-http-request\n"
                     "    properties: {method: GET, content_type: application/json,\n"
                     "                 url: 'https://ops:hunter2@example.com/x'}\n"
                     "    transitions: [{event: success}, {event: failed}]\n", "flows/f.yaml")
    problems = [p for p in check_flow(doc.data, "flows/f.yaml", doc.lines) if "password" in p.message]
    assert [(p.line, p.severity) for p in problems] == [(8, "warning")]
    assert "hunter2" not in problems[0].message


def test_a_chain_of_1500_subflows_is_checked_without_recursion(tmp_path):
    """Validation walks subflows depth first; it used to recurse once per flow."""
    def flow(i: int, last: bool) -> FlowSource:
        states = [{"name": "Trigger", "type": "trigger", "properties": {},
                   "transitions": [] if last else [{"event": "incomingParent", "next": "sub"}]}]
        if not last:
            states.append({"name": "sub", "type": "run-subflow", "transitions": [{"event": "completed"}],
                           "properties": {"flow": f"f{i + 1}", "flow_revision": "LatestPublished"}})
        return FlowSource(f"f{i}", f"f{i}", tmp_path / "flows" / f"f{i}.yaml", "published",
                          {"initial_state": "Trigger", "states": states})

    n = 1500
    flows = {f"f{i}": flow(i, i == n - 1) for i in range(n)}
    cycle = flow(n - 1, False)  # ... and the last one calling the first closes a cycle
    cycle.definition["states"][1]["properties"]["flow"] = "f0"
    project = Project(tmp_path, "p", "dev", flows, {}, {})
    assert [p for p in validate_project(project, None) if p.severity == "error"] == []
    project.flows[f"f{n - 1}"] = cycle
    errors = [p.message for p in validate_project(project, None) if p.severity == "error"]
    assert len(errors) == 1 and errors[0].startswith("run-subflow: subflow cycle f0 -> f1 -> ")


def test_an_overlay_on_a_base_with_50000_keys_merges_in_linear_time():
    """Copying each key's lines used to scan every line of the file: minutes for this base."""
    n = 50_000
    base_lines, over_lines = LineMap("environments/base.yaml"), LineMap("environments/dev.yaml")
    base = {"vars": {f"v{i}": "x" for i in range(n)}}
    for i in range(n):
        base_lines.set(("vars", f"v{i}"), i + 2)
    base_lines.set(("vars",), 1)
    started = time.monotonic()
    data, lines = merge_documents((base, base_lines), ({"vars": {"v7": "y"}}, over_lines))
    assert time.monotonic() - started < 5
    assert data["vars"]["v7"] == "y" and lines.locate(("vars", "v49999")) == ("environments/base.yaml", 50001)
