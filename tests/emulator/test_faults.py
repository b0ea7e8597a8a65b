"""Fault injection: each kind, reproducible from its seed; admin requests are never faulted."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from tests.emulator.helpers import admin, api_request, definition, sdk_client, upload_version
from twideploy.emulator import FaultConfig
from twideploy.emulator.faults import FaultInjector


def outcomes(emu, count: int) -> list[str]:
    """The fate of `count` GET /v2/Flows through the SDK: the status code, or "drop"."""
    client = sdk_client(emu)
    seen = []
    for _ in range(count):
        try:
            seen.append(str(api_request(client, "GET", "/v2/Flows").status_code))
        except requests.ConnectionError:
            seen.append("drop")
    return seen


MIXED = {"rate_429": 0.2, "rate_5xx": 0.2, "rate_drop": 0.1, "retry_after_s": 0.05}


def test_same_seed_gives_the_same_sequence_of_outcomes(emu):
    emu.set_faults(FaultConfig(seed=7, **MIXED))
    first = outcomes(emu, 40)
    assert set(first) == {"200", "429", "500", "503", "drop"}
    assert emu.stats()["faults"] == {fault: first.count(fault) for fault in ("429", "500", "503", "drop")}
    emu.set_faults(FaultConfig(seed=7, **MIXED))
    assert outcomes(emu, 40) == first
    emu.set_faults(FaultConfig(seed=8, **MIXED))
    assert outcomes(emu, 40) != first


def test_429_carries_retry_after_in_seconds(emu, client):
    emu.set_faults(FaultConfig(rate_429=1, retry_after_s=0.05))
    response = api_request(client, "GET", "/v2/Flows")
    assert (response.status_code, response.headers["Retry-After"]) == (429, "0.05")
    assert json.loads(response.text)["code"] == 20429
    emu.set_faults(FaultConfig(rate_429=1, retry_after_s=2))
    with pytest.raises(TwilioRestException) as error:
        client.studio.v2.flows.create(friendly_name="f", status="draft", definition=definition())
    assert (error.value.status, error.value.code) == (429, 20429)
    emu.set_faults(FaultConfig())
    assert client.studio.v2.flows.list() == []  # the refused create changed nothing


def test_max_in_flight_refuses_what_exceeds_it_with_429_and_changes_nothing(emu, client):
    emu.set_faults(FaultConfig(max_in_flight=3, latency_ms=300, retry_after_s=0.5))
    with ThreadPoolExecutor(8) as pool:  # 8 creates at once: 3 are served, 5 are refused
        outcomes = list(pool.map(lambda i: api_request(client, "POST", "/v2/Flows", data={
            "FriendlyName": f"f{i}", "Status": "draft", "Definition": json.dumps(definition())}), range(8)))
    refused = [o for o in outcomes if o.status_code == 429]
    assert (len(refused), sorted({o.headers["Retry-After"] for o in refused})) == (5, ["0.5"])
    assert {json.loads(o.text)["code"] for o in refused} == {20429}
    assert emu.stats()["faults"] == {"max_in_flight": 5}
    assert len(client.studio.v2.flows.list()) == 3  # the refused creates made nothing


def test_stats_count_requests_by_route(emu, client):
    flow = client.studio.v2.flows.create(friendly_name="f", status="draft", definition=definition())
    client.studio.v2.flows(flow.sid).fetch()
    client.studio.v2.flows(flow.sid).fetch()
    client.studio.v2.flows.list()
    assert emu.stats()["by_route"] == {"GET /v2/Flows": 1, "GET /v2/Flows/<Sid>": 2, "POST /v2/Flows": 1}


def test_5xx_answers_500_and_503(emu, client):
    emu.set_faults(FaultConfig(rate_5xx=1, seed=3))
    statuses = outcomes(emu, 20)
    assert set(statuses) == {"500", "503"}
    response = api_request(client, "GET", "/v1/Services")
    assert json.loads(response.text)["code"] == {500: 20500, 503: 20503}[response.status_code]


def test_drop_closes_the_connection_without_an_answer(emu, client):
    emu.set_faults(FaultConfig(rate_drop=1))
    with pytest.raises(requests.ConnectionError):
        client.studio.v2.flows.list()
    with pytest.raises(requests.ConnectionError):
        client.studio.v2.flows.create(friendly_name="f", status="draft", definition=definition())
    assert admin(emu, "GET", "stats")["faults"] == {"drop": 2}


def test_latency_delays_api_requests_but_not_admin_ones(emu):
    emu.set_faults(FaultConfig(latency_ms=300))
    started = time.monotonic()
    outcomes(emu, 1)
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    admin(emu, "GET", "stats")
    assert time.monotonic() - started < 0.3


def test_jitter_is_bounded_and_reproducible():
    def delays(seed: int) -> list[float]:
        injector = FaultInjector(FaultConfig(seed=seed, latency_ms=10, jitter_ms=50))
        return [injector.decide("GET").delay_s for _ in range(20)]

    first = delays(1)
    assert first == delays(1) and first != delays(2)
    assert all(0.010 <= d <= 0.060 for d in first) and len(set(first)) == 20


def test_fail_nth_write_fails_only_that_write_and_changes_nothing(emu, client):
    flows = client.studio.v2.flows
    emu.set_faults(FaultConfig(fail_nth_write=3))
    flow = flows.create(friendly_name="a", status="draft", definition=definition())  # write 1
    flows.list()  # reads do not count
    flow.update(status="published")  # write 2
    assert admin(emu, "GET", "faults")["fail_nth_write"] == 1  # the next write fails
    with pytest.raises(TwilioRestException) as error:
        flows.create(friendly_name="b", status="draft", definition=definition())  # write 3
    assert (error.value.status, error.value.code) == (500, 20500)
    assert [f.friendly_name for f in flows.list()] == ["a"]
    assert flows.create(friendly_name="c", status="draft", definition=definition()).friendly_name == "c"
    assert admin(emu, "GET", "faults")["fail_nth_write"] is None
    assert emu.stats()["faults"] == {"nth_write": 1}


def test_fail_writes_fails_each_listed_write_once(emu, client):
    """Two failures far apart: e.g. one in an apply's forward writes, one in its rollback."""
    flows = client.studio.v2.flows
    emu.set_faults(FaultConfig(fail_writes=(2, 4)))
    outcomes = []
    for name in "abcde":
        try:
            flows.create(friendly_name=name, status="draft", definition=definition())
            outcomes.append(name)
        except TwilioRestException as error:
            outcomes.append(error.status)
        if name == "a":
            assert admin(emu, "GET", "faults")["fail_writes"] == [1, 3]  # counted from now
    assert outcomes == ["a", 500, "c", 500, "e"]
    assert sorted(f.friendly_name for f in flows.list()) == ["a", "c", "e"]
    assert admin(emu, "GET", "faults")["fail_writes"] == []
    assert emu.stats()["faults"] == {"nth_write": 2}


def test_a_lost_response_is_a_request_carried_out_whose_answer_never_arrives(emu, client):
    emu.set_faults(FaultConfig(rate_lost_response=1))
    with pytest.raises(requests.ConnectionError):
        client.studio.v2.flows.create(friendly_name="made", status="draft", definition=definition())
    emu.set_faults(FaultConfig())
    assert [f.friendly_name for f in client.studio.v2.flows.list()] == ["made"]
    assert emu.stats()["faults"] == {"lost_response": 1}


def test_admin_reads_the_content_of_any_version(emu, client):
    """Twilio has no API for an asset's content; the admin endpoint serves it to checks."""
    service = client.serverless.v1.services.create(unique_name="svc", friendly_name="svc")
    asset = client.serverless.v1.services(service.sid).assets.create(friendly_name="hold")
    version = upload_version(emu, service.sid, "Assets", asset.sid, path="/hold.xml", content=b"<Say/>").json()
    response = requests.get(f"{emu.base_url}/_admin/versions/{version['sid']}/content", timeout=5)
    assert (response.status_code, response.content) == (200, b"<Say/>")
    missing = requests.get(f"{emu.base_url}/_admin/versions/ZN{'0' * 32}/content", timeout=5)
    assert missing.status_code == 404


def test_fail_nth_write_on_update_and_delete_leaves_state_unchanged(emu, client):
    flow = client.studio.v2.flows.create(friendly_name="a", status="draft", definition=definition())
    emu.set_faults(FaultConfig(fail_nth_write=1))
    with pytest.raises(TwilioRestException):
        flow.update(status="published", definition=definition(first=None))
    assert client.studio.v2.flows(flow.sid).fetch().revision == 1
    emu.set_faults(FaultConfig(fail_nth_write=1))
    with pytest.raises(TwilioRestException):
        flow.delete()
    assert client.studio.v2.flows(flow.sid).fetch().status == "draft"


def test_a_write_chosen_by_its_request_line_fails_once_whenever_it_comes(emu, client):
    """`fail_writes_matching`: each pattern fails the first write it finds, however many writes
    came before (writes in flight together reach the emulator in any order)."""
    emu.set_faults(FaultConfig(fail_writes_matching=("^POST /v2/Flows .*FriendlyName=Second",)))
    client.studio.v2.flows.create(friendly_name="First", status="draft", definition=definition())
    with pytest.raises(TwilioRestException):
        client.studio.v2.flows.create(friendly_name="Second", status="draft", definition=definition())
    assert admin(emu, "GET", "faults")["fail_writes_matching"] == []  # spent
    client.studio.v2.flows.create(friendly_name="Second", status="draft", definition=definition())
    assert sorted(f.friendly_name for f in client.studio.v2.flows.list()) == ["First", "Second"]


def test_admin_faults_endpoint_sets_reads_and_validates(emu):
    config = {"seed": 5, "latency_ms": 0, "jitter_ms": 0, "rate_429": 0.5, "retry_after_s": 0.05,
              "rate_5xx": 0.25, "rate_drop": 0, "rate_lost_response": 0.1, "fail_nth_write": 2,
              "fail_writes": [3, 7], "fail_next_build": True, "max_in_flight": 4,
              "fail_writes_matching": ["^POST /v2/Flows "], "slow_write_matching": "Key=X", "slow_write_s": 0.5}
    assert admin(emu, "POST", "faults", config) == config
    assert admin(emu, "GET", "faults") == config
    for bad in ({"rate_429": 2}, {"rate_429": 0.6, "rate_5xx": 0.6}, {"rate_teapot": 1},
                {"fail_nth_write": 0}, {"fail_next_build": "yes"}, ["rate_429"], {"fail_writes": [0]},
                {"fail_writes": 3}, {"rate_lost_response": 0.5, "rate_5xx": 0.6}, {"max_in_flight": 0},
                {"fail_writes_matching": "^POST"}, {"fail_writes_matching": ["("]}, {"slow_write_s": -1}):
        response = requests.post(f"{emu.base_url}/_admin/faults", json=bad, timeout=5)
        assert response.status_code == 400 and response.json()["code"] == 20001, bad
    assert admin(emu, "POST", "faults", {}) == FaultConfig().to_dict()


def test_admin_requests_are_never_faulted(emu):
    emu.set_faults(FaultConfig(rate_drop=1, fail_nth_write=1))
    assert admin(emu, "POST", "numbers", ["+15005550006"])
    assert admin(emu, "POST", "reset") == {"reset": True}
    assert admin(emu, "GET", "faults")["fail_nth_write"] == 1
    with pytest.raises(requests.ConnectionError):
        sdk_client(emu).api.v2010.account.incoming_phone_numbers.list()
