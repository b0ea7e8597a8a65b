"""`twideploy test` end to end: the example's scenarios through the real flows, the real
crm/lookup Function in Node.js (its CRM call answered by the scenarios' mocks), output formats,
coverage, and what a broken flow or Function looks like."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.e2e.helpers import add_secret_pin_var, edit_yaml, run, set_greeting
from tests.example import REPO
from twideploy.manifest import load_project


@pytest.fixture(autouse=True)
def shared_npm_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """The repository's npm cache (as tests/flowtest/test_functions.py uses): each test's copy of
    the project would otherwise install axios again."""
    monkeypatch.setenv("TWIDEPLOY_CACHE_DIR", str(REPO / ".twideploy" / "cache"))


def scenario_json(project_dir: Path, *args: str) -> tuple[int, dict]:
    code, output = run(project_dir, "test", "--format", "json", *args)
    return code, json.loads(output)


def route(flow: dict, digit: str) -> dict:
    split = next(s for s in flow["states"] if s["name"] == "route_digits")
    return next(t for t in split["transitions"] if t.get("conditions") and t["conditions"][0]["value"] == digit)


def test_the_example_scenarios_pass_and_cover_every_widget_and_transition(project_dir: Path):
    code, report = scenario_json(project_dir)
    assert code == 0, report
    assert report["counts"] == {"passed": 18, "failed": 0, "error": 0}
    assert {c["flow"]: (c["widgets_reached"], c["widgets"], c["transitions_taken"], c["transitions"])
            for c in report["coverage"]} == {"ivr-main": (13, 13, 19, 19), "sms-bot": (9, 9, 8, 8),
                                             "subflows/lookup-caller": (4, 4, 3, 3)}
    gold = next(s for s in report["scenarios"] if s["name"].startswith("a gold customer"))
    assert gold["http_calls"] == ["GET http://localhost:8081/customers?phone=%2B15551230001 -> 200 "
                                  "(flows/ivr-main.test.yaml:6)"]


def test_scenario_files_are_not_flows_and_validate_accepts_them(project_dir: Path):
    assert sorted(load_project(project_dir).flows) == ["ivr-main", "sms-bot", "subflows/lookup-caller"]
    code, output = run(project_dir, "validate")
    assert code == 0 and "test.yaml" not in output


def test_rewiring_one_transition_of_ivr_main_fails_a_scenario_with_a_readable_divergence(project_dir: Path):
    edit_yaml(project_dir / "flows/ivr-main.yaml", lambda flow: route(flow, "2").__setitem__("next", "sales"))
    code, output = run(project_dir, "test", str(project_dir / "flows/ivr-main.test.yaml"))
    assert code == 1
    assert ("FAIL  ivr-main: an unknown caller presses 2 and reaches support with the subflow's details  "
            "(flows/ivr-main.test.yaml:32)\n"
            "  after 'route_digits' fired 'match' (2: support), the execution went to 'sales'; "
            "expected 'caller_details'\n"
            "    expected path: Trigger -> lookup_caller -> check_tier -> main_menu -> route_digits -> caller_details"
            " -> support_queue\n"
            "  actual path: Trigger -> lookup_caller -> check_tier -> main_menu -> route_digits -> sales\n") in output
    assert '  effect: sales (connect-call-to) to: "+15005550009"' in output
    assert "widgets not reached: caller_details, support_queue\n" in output
    assert "\n6 passed, 3 failed in " in output  # the two others that go through support fail too


def test_breaking_lookup_js_fails_the_scenarios_that_run_it(project_dir: Path):
    lookup = project_dir / "functions/crm/functions/lookup.js"
    lookup.write_text(lookup.read_text().replace("tier: customer.tier || 'standard'", "tier: 'standard'"))
    code, report = scenario_json(project_dir, "-k", "gold")
    assert code == 1
    [result] = report["scenarios"]
    assert result["status"] == "failed"
    assert result["message"].startswith("after 'check_tier' fired 'noMatch', the execution went to 'main_menu'; "
                                        "expected 'priority_line'")


def test_a_function_that_throws_takes_the_fail_transition(project_dir: Path):
    lookup = project_dir / "functions/crm/functions/lookup.js"
    lookup.write_text(lookup.read_text().replace("const from =", "null.boom; const from ="))
    code, report = scenario_json(project_dir, "-k", "gold")
    assert code == 1
    assert report["scenarios"][0]["path"] == ["Trigger", "lookup_caller", "main_menu", "voicemail_prompt",
                                              "record_message", "goodbye"]
    assert any("TypeError" in line for line in report["scenarios"][0]["logs"])


def test_an_unmocked_request_is_a_test_error_naming_method_and_url(project_dir: Path):
    edit_yaml(project_dir / "flows/sms-bot.test.yaml",
              lambda doc: doc["scenarios"][1].__setitem__("mocks", []))
    code, output = run(project_dir, "test", str(project_dir / "flows/sms-bot.test.yaml"), "-k", "order, in any case")
    assert code == 1
    assert ("ERROR ivr-main" not in output and "ERROR sms-bot: order, in any case" in output
            and "unmocked request GET http://localhost:8081/orders/latest?phone=%2B15551230002: add a mock" in output)


def test_junit_xml_has_one_testcase_per_scenario_and_the_divergence_of_each_failure(project_dir: Path, tmp_path):
    edit_yaml(project_dir / "flows/sms-bot.test.yaml",
              lambda doc: doc["scenarios"][0]["caller"]["menu"].__setitem__("reply", "hello"))
    junit = tmp_path / "results.xml"
    code, _ = run(project_dir, "test", str(project_dir / "flows/sms-bot.test.yaml"), "--junit-xml", str(junit))
    assert code == 1
    suites = ElementTree.parse(junit).getroot()
    assert (suites.get("tests"), suites.get("failures"), suites.get("errors")) == ("6", "1", "0")
    [failure] = suites.iter("failure")
    assert failure.get("message") == ("after 'route_keyword' fired 'noMatch', the execution went to 'send_help'; "
                                      "expected 'send_hours'")
    assert ('effect: send_help (send-message) body: "Sorry, I did not understand. Reply HOURS, ORDER or AGENT.", '
            'to: "+15551230002"') in failure.text


def test_markdown_draws_what_no_scenario_reached_on_the_flows_picture(project_dir: Path):
    code, output = run(project_dir, "test", "--format", "markdown", "-k", "HOURS")
    assert code == 0
    assert "| sms-bot | 4/9 (44%) | 3/8 (37%) |" in output
    picture = output.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert "classDef unreached" in picture
    unreached = next(line for line in picture.splitlines() if line.strip().startswith("class "))
    assert len(unreached.split()[1].split(",")) == 5  # fetch_order, send_order, ..._unavailable, agent, help
    assert picture.count("-.->") == 5


def test_a_secret_var_never_shows_in_any_output(project_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path):
    add_secret_pin_var(project_dir)
    monkeypatch.setenv("LOCAL_PIN", "7431-secret")
    set_greeting(project_dir, "Your pin is ${vars.pin}.")  # invalid_choice now says the pin
    junit = tmp_path / "results.xml"
    outputs = [run(project_dir, "test", "-k", "wrong key", "--format", fmt, "--junit-xml", str(junit))[1]
               for fmt in ("text", "json", "markdown")]
    for output in [*outputs, junit.read_text()]:
        assert "7431-secret" not in output
        assert "Your pin is ***." in output


def test_a_scenario_that_hits_a_runtime_limit(project_dir: Path):
    edit_yaml(project_dir / "flows/ivr-main.yaml", lambda flow: next(
        t for s in flow["states"] if s["name"] == "main_menu" for t in s["transitions"] if t["event"] == "timeout"
    ).__setitem__("next", "main_menu"))
    code, report = scenario_json(project_dir, "-k", "silent caller")
    assert code == 1
    assert report["scenarios"][0]["message"].startswith("the execution stopped: widget 'main_menu' ran 10 times in "
                                                        "a row (Studio's limit)")
    edit_yaml(project_dir / "flows/ivr-main.test.yaml",
              lambda doc: doc["scenarios"][4].__setitem__("expect", {"stopped": True}))
    assert scenario_json(project_dir, "-k", "silent caller")[0] == 0


def test_bad_scenario_files_are_file_line_errors_and_nothing_runs(project_dir: Path):
    scenarios = project_dir / "flows/ivr-main.test.yaml"
    text = scenarios.read_text().replace('main_menu: {digits: "1"}', 'main_menu: {digits: "1", event: x}', 1)
    scenarios.write_text(text)
    code, output = run(project_dir, "test")
    assert code == 1
    assert output == ("flows/ivr-main.test.yaml:24: widget 'main_menu' (gather-input-on-call) has no event 'x' "
                      "(events: keypress, speech, timeout)\n")


def test_k_selects_scenarios_and_a_pattern_matching_none_is_an_error(project_dir: Path):
    code, report = scenario_json(project_dir, "-k", "lookup-caller.test.yaml::")
    assert code == 0 and len(report["scenarios"]) == 3
    assert run(project_dir, "test", "-k", "no such scenario") == (
        1, "error: no scenario matches -k 'no such scenario'\n")
