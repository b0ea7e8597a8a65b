"""Run Function in flow tests: the project's real Functions run in Node.js, offline.

Every test runs real code in a real `node` process through `FunctionRunner`: the example's
`crm/lookup` (its axios call answered by the mock layer) and small services written to a
temporary project for what the example does not exercise. The npm packages go to the
repository's own `.twideploy/cache/node` (what `twideploy test` uses), so only the first run
on a machine installs them. Without node the tests are skipped, except under CI=true.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import textwrap
import time
from pathlib import Path

import pytest

from tests.example import REPO
from twideploy.flowtest.functions import FunctionInvocation, FunctionOutcome, FunctionRunner, FunctionRuntimeError
from twideploy.flowtest.http_mocks import HttpMock, find_mock, url_pattern_problem
from twideploy.secrets import MASK, Secret

CRM = REPO / "functions" / "crm"
CRM_DEPENDENCIES = {"axios": "^1.7.0"}
CALLER = "+15551234567"
CRM_VARIABLES = {"CRM_URL": "https://crm.example.com", "LOOKUP_TIMEOUT_MS": "3000", "CRM_TOKEN": Secret("tok-s3cr3t")}


@pytest.fixture(scope="module")
def runner() -> FunctionRunner:
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.environ.get("CI"):
            pytest.fail("node and npm are needed to run Functions; under CI they are required")
        pytest.skip("node and npm are not installed")
    return FunctionRunner(REPO / ".twideploy" / "cache" / "node")


def lookup(runner: FunctionRunner, *mocks: HttpMock, caller: str = CALLER) -> FunctionOutcome:
    return runner.run(FunctionInvocation(CRM, "/lookup", {"from": caller}, CRM_VARIABLES, mocks,
                                         dependencies=CRM_DEPENDENCIES))


def write_service(root: Path, files: dict[str, str], name: str = "svc") -> Path:
    """functions/<name>/ under `root` holding service.yaml and `files` (paths under the service)."""
    folder = root / "functions" / name
    (folder / "service.yaml").parent.mkdir(parents=True)
    (folder / "service.yaml").write_text(f"unique_name: {name}\nruntime: node22\n")
    for path, text in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(textwrap.dedent(text))
    return folder


def run_code(runner: FunctionRunner, tmp_path: Path, code: str, *, event: dict[str, str] | None = None,
             variables: dict[str, str | Secret] | None = None, mocks: tuple[HttpMock, ...] = (),
             timeout: float = 10.0, extra: dict[str, str] | None = None) -> FunctionOutcome:
    """Run `code` as /fn of a temporary service."""
    service = write_service(tmp_path, {"functions/fn.js": code, **(extra or {})})
    return runner.run(FunctionInvocation(service, "/fn", event or {}, variables or {}, mocks, timeout))


# --- the example's crm/lookup --------------------------------------------------------------


def test_a_known_caller_is_looked_up_in_the_mocked_crm(runner: FunctionRunner):
    crm = HttpMock("GET", "https://crm.example.com/customers?phone=+15551234567", body={"name": "Ada", "tier": "gold"})
    outcome = lookup(runner, crm)
    assert (outcome.status_code, outcome.content_type, outcome.error) == (200, "application/json", None)
    assert json.loads(outcome.body) == {"known": True, "name": "Ada", "tier": "gold"}
    [call] = outcome.http_calls
    assert (call.method, call.url, call.mock) == ("GET", "https://crm.example.com/customers?phone=%2B15551234567", crm)


def test_a_caller_the_crm_does_not_know_is_unknown(runner: FunctionRunner):
    outcome = lookup(runner, HttpMock("GET", "https://crm.example.com/customers*", status=404))
    assert outcome.status_code == 200
    assert json.loads(outcome.body) == {"known": False, "name": "", "tier": "standard"}


def test_a_crm_failure_is_the_functions_error(runner: FunctionRunner):
    outcome = lookup(runner, HttpMock("*", r"re:https://crm\.example\.com/.*", status=500, body="down"))
    assert outcome.status_code == 500
    assert outcome.error == "AxiosError: Request failed with status code 500"
    assert json.loads(outcome.body)["message"] == "Request failed with status code 500"
    assert outcome.logs == ("[error] CRM lookup failed: Request failed with status code 500",)
    assert outcome.unmocked == ()


def test_an_unmocked_request_is_an_error_naming_it(runner: FunctionRunner):
    outcome = lookup(runner, HttpMock("GET", "https://other.example.com/*"))
    assert outcome.status_code == 500
    assert outcome.error == "unmocked request GET https://crm.example.com/customers?phone=%2B15551234567"
    assert [call.url for call in outcome.unmocked] == ["https://crm.example.com/customers?phone=%2B15551234567"]


def test_without_a_caller_the_crm_is_not_asked(runner: FunctionRunner):
    outcome = lookup(runner, caller="  ")
    assert json.loads(outcome.body)["known"] is False
    assert outcome.http_calls == ()


def test_twiml_is_answered_as_xml(runner: FunctionRunner):
    outcome = runner.run(FunctionInvocation(CRM, "/hello", {}, {}))
    assert (outcome.status_code, outcome.content_type) == (200, "text/xml")
    assert outcome.body.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Say voice="Polly.Joanna"')
    assert outcome.body.endswith("<Hangup/></Response>")


def test_an_unknown_function_path_is_refused(runner: FunctionRunner):
    with pytest.raises(FunctionRuntimeError, match=r"functions/crm has no function /nope \(it has /hello, /lookup\)"):
        runner.run(FunctionInvocation(CRM, "/nope", {}, {}))


# --- what the runtime gives a function -----------------------------------------------------


def test_a_handler_that_never_calls_back_times_out(runner: FunctionRunner, tmp_path: Path):
    started = time.monotonic()
    outcome = run_code(runner, tmp_path, """
        exports.handler = (context, event, callback) => { setInterval(() => {}, 1000); };
    """, timeout=0.5)
    assert time.monotonic() - started < 5
    assert outcome.status_code == 500
    assert outcome.error == "timed out after 0.5 s (the handler never called callback)"


def test_the_timeout_is_twilios_ten_seconds_by_default():
    assert FunctionInvocation(CRM, "/lookup", {}, {}).timeout_seconds == 10.0


def test_context_and_event_are_built_as_twilios_runtime_builds_them(runner: FunctionRunner, tmp_path: Path):
    outcome = run_code(runner, tmp_path, """
        exports.handler = (context, event, callback) => callback(null, {
          path: context.PATH, domain: context.DOMAIN_NAME, greeting: context.GREETING,
          fromEnv: process.env.GREETING, event, client: typeof context.getTwilioClient,
        });
    """, event={"from": CALLER, "digits": "1"}, variables={"GREETING": "hi"})
    assert json.loads(outcome.body) == {
        "path": "/fn", "domain": "svc.twil.io", "greeting": "hi", "fromEnv": "hi", "client": "function",
        "event": {"from": CALLER, "digits": "1", "request": {
            "headers": {"host": "svc.twil.io", "content-type": "application/x-www-form-urlencoded",
                        "user-agent": "TwilioProxy/1.1"},
            "cookies": {}}},
    }


def test_twilio_response_sets_status_headers_and_body(runner: FunctionRunner, tmp_path: Path):
    outcome = run_code(runner, tmp_path, """
        exports.handler = (context, event, callback) => {
          const response = new Twilio.Response();
          response.setStatusCode(202);
          response.setHeaders({'X-One': '1'});
          response.appendHeader('Content-Type', 'text/csv');
          response.setBody('a,b');
          callback(null, response);
        };
    """)
    assert (outcome.status_code, outcome.content_type, outcome.body, outcome.error) == (202, "text/csv", "a,b", None)


def test_a_response_body_object_is_json(runner: FunctionRunner, tmp_path: Path):
    outcome = run_code(runner, tmp_path, """
        exports.handler = (context, event, callback) => {
          const response = new Twilio.Response();
          response.setStatusCode(404);
          response.setBody({missing: true});
          callback(null, response);
        };
    """)
    assert (outcome.status_code, outcome.content_type, json.loads(outcome.body)) == (404, "application/json",
                                                                                       {"missing": True})


def test_a_string_is_text_and_nothing_is_an_empty_json_answer(runner: FunctionRunner, tmp_path: Path):
    text = run_code(runner, tmp_path / "a", "exports.handler = (c, e, callback) => callback(null, 'plain');")
    nothing = run_code(runner, tmp_path / "b", "exports.handler = (c, e, callback) => callback();")
    assert (text.status_code, text.content_type, text.body) == (200, "text/plain", "plain")
    assert (nothing.status_code, nothing.content_type, nothing.body) == (200, "application/json", "")


def test_a_throw_is_a_500_naming_the_error(runner: FunctionRunner, tmp_path: Path):
    outcome = run_code(runner, tmp_path, "exports.handler = async (context) => context.missing.field;")
    assert outcome.status_code == 500
    assert outcome.error is not None and outcome.error.startswith("TypeError: Cannot read properties of undefined")


def test_the_twilio_client_fails_clearly_offline(runner: FunctionRunner, tmp_path: Path):
    outcome = run_code(runner, tmp_path, """
        exports.handler = (context, event, callback) => callback(null, context.getTwilioClient().api);
    """)
    assert outcome.error == ("Error: context.getTwilioClient() is not available in flow tests: they run offline, "
                             "without a Twilio account")


def test_runtime_lists_the_services_functions_and_private_assets(runner: FunctionRunner, tmp_path: Path):
    outcome = run_code(runner, tmp_path, """
        exports.handler = (context, event, callback) => {
          const { greet } = require(Runtime.getFunctions()['util/greet'].path);
          const prices = JSON.parse(Runtime.getAssets()['/prices.json'].open());
          callback(null, { greeting: greet('Ada'), prices, assets: Object.keys(Runtime.getAssets()) });
        };
    """, extra={
        "functions/util/greet.private.js": "exports.greet = (name) => `Hello ${name}`;",
        "assets/prices.private.json": '{"gold": 10}',
        "assets/logo.txt": "public, so not listed",
    })
    assert json.loads(outcome.body) == {"greeting": "Hello Ada", "prices": {"gold": 10}, "assets": ["/prices.json"]}


def test_console_output_is_captured_in_order(runner: FunctionRunner, tmp_path: Path):
    outcome = run_code(runner, tmp_path, """
        exports.handler = (context, event, callback) => {
          console.log('one %d', 1);
          console.warn('two');
          process.stdout.write('three\\n');
          callback(null, {});
        };
    """)
    assert outcome.logs == ("one 1", "[warn] two", "three")


def test_fetch_is_answered_from_mocks_and_its_body_recorded(runner: FunctionRunner, tmp_path: Path):
    mock = HttpMock("POST", "https://api.example.com/orders", status=201, body={"id": 7})
    outcome = run_code(runner, tmp_path, """
        exports.handler = async (context, event, callback) => {
          const answer = await fetch('https://api.example.com/orders', {method: 'POST', body: 'qty=2'});
          callback(null, { status: answer.status, order: await answer.json() });
        };
    """, mocks=(mock,))
    assert json.loads(outcome.body) == {"status": 201, "order": {"id": 7}}
    [call] = outcome.http_calls
    assert (call.method, call.body, call.mock) == ("POST", "qty=2", mock)


def test_secret_variables_never_come_back(runner: FunctionRunner, tmp_path: Path):
    outcome = run_code(runner, tmp_path, """
        exports.handler = async (context, event, callback) => {
          console.log(`token ${context.TOKEN}`);
          await fetch(`https://api.example.com/?key=${process.env.TOKEN}`, {method: 'POST', body: context.TOKEN});
          callback(new Error(`bad ${context.TOKEN}`));
        };
    """, variables={"TOKEN": Secret("hunter2-very-secret"), "PLAIN": "hunter2"},
        mocks=(HttpMock("*", "https://api.example.com/*"),))
    text = repr(outcome)
    assert "hunter2-very-secret" not in text
    assert outcome.logs == (f"token {MASK}",)
    assert outcome.error == f"Error: bad {MASK}"
    [call] = outcome.http_calls
    assert (call.url, call.body) == (f"https://api.example.com/?key={MASK}", MASK)


# --- npm ------------------------------------------------------------------------------------


def path_with_node_only(tmp_path: Path) -> str:
    """A PATH on which node is found and npm is not."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "node").symlink_to(shutil.which("node") or "node")
    return str(bin_dir)


def test_installed_packages_are_reused_without_npm(runner: FunctionRunner, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch):
    lookup(runner)  # installs, if no earlier test did
    monkeypatch.setenv("PATH", path_with_node_only(tmp_path))
    fresh_runner = FunctionRunner(runner.cache_dir)
    assert json.loads(lookup(fresh_runner, caller="").body)["known"] is False


def test_without_npm_the_install_fails_clearly(runner: FunctionRunner, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", path_with_node_only(tmp_path))
    with pytest.raises(FunctionRuntimeError, match=r"^npm is needed to install the flow-test runtime's packages"):
        lookup(FunctionRunner(tmp_path / "empty-cache"))


def test_a_failed_dependency_install_is_a_clear_error_and_caches_nothing(runner: FunctionRunner, tmp_path: Path):
    service = write_service(tmp_path, {"functions/fn.js": "exports.handler = (c, e, cb) => cb();"})
    missing = {"axios": "0.0.0-no-such-version"}
    expected = ("npm install of the service's dependencies (axios@0.0.0-no-such-version) failed: "
                "npm error notarget No matching version found for axios@0.0.0-no-such-version.")
    with pytest.raises(FunctionRuntimeError, match=f"^{re.escape(expected)}$"):
        runner.run(FunctionInvocation(service, "/fn", {}, {}, dependencies=missing))
    assert not [p for p in runner.cache_dir.iterdir() if ".partial-" in p.name]


# --- http_mocks ----------------------------------------------------------------------------


def test_mocks_match_by_method_and_url_first_one_wins():
    crm_get = HttpMock("GET", "https://crm.example.com/customers*")
    anything = HttpMock("*", "re:https://crm\\.example\\.com/.*", status=500)
    mocks = [crm_get, anything]
    assert find_mock(mocks, "get", "https://crm.example.com/customers?phone=%2B1555") is crm_get
    assert find_mock(mocks, "POST", "https://crm.example.com/customers") is anything
    assert find_mock(mocks, "GET", "https://crm.example.com.evil.test/customers") is None
    assert find_mock(mocks, "GET", "http://crm.example.com/customers") is None


def test_a_mock_matches_the_url_as_sent_or_decoded():
    decoded = HttpMock("GET", "https://x.test/?phone=+1555")
    encoded = HttpMock("GET", "https://x.test/?phone=%2B1555")
    for mock in (decoded, encoded):
        assert find_mock([mock], "GET", "https://x.test/?phone=%2B1555") is mock


def test_a_mock_body_is_sent_as_json_or_text():
    assert (HttpMock("GET", "*", body={"a": 1}).body_text(), HttpMock("GET", "*", body="hi").body_text()) == (
        '{"a": 1}', "hi")
    assert HttpMock("GET", "*", body=[1]).response_headers() == {"Content-Type": "application/json"}
    assert HttpMock("GET", "*", body="hi", headers={"content-type": "text/xml"}).response_headers() == {
        "content-type": "text/xml"}


def test_an_invalid_regex_pattern_is_named():
    assert url_pattern_problem("re:https://(") is not None
    assert url_pattern_problem("https://x.test/*") is None
