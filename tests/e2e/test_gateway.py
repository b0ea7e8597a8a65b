"""The gateway's retries, paging and counting, against the emulator's seeded faults."""

from __future__ import annotations

import time

import pytest

from twideploy.emulator import Emulator, FaultConfig
from twideploy.errors import TwilioApiError
from twideploy.secrets import Secret
from twideploy.twilio_api import numbers
from twideploy.twilio_api.gateway import AdaptiveLimit, Credentials, Gateway, call

from .helpers import emulator_gateway

DEFINITION = {"description": "t", "initial_state": "Trigger", "flags": {"allow_concurrent_calls": True},
              "states": [{"name": "Trigger", "type": "trigger", "properties": {"offset": {"x": 0, "y": 0}},
                          "transitions": []}]}


@pytest.fixture
def emu(tmp_path):
    with Emulator(tmp_path / "e.sqlite") as emulator:
        yield emulator


def make_flow(gw: Gateway, name: str = "f") -> str:
    return gw.client.studio.v2.flows.create(friendly_name=name, status="published", definition=DEFINITION).sid


def test_429_is_retried_after_retry_after_and_counted(emu):
    gw = emulator_gateway(emu)
    sid = make_flow(gw)
    emu.set_faults(FaultConfig(seed=7, rate_429=0.3, retry_after_s=0.2))
    start, before = time.monotonic(), gw.requests_made
    for _ in range(10):
        assert gw.client.studio.v2.flows(sid).fetch().sid == sid
    extra = gw.requests_made - before - 10
    assert extra > 0  # some attempts were answered 429 and retried
    assert time.monotonic() - start >= extra * 0.2 * 0.9  # and each retry waited Retry-After


def test_same_seed_gives_the_same_number_of_attempts(emu):
    gw = emulator_gateway(emu)
    sid = make_flow(gw)
    counts = []
    for _ in range(2):
        emu.set_faults(FaultConfig(seed=42, rate_429=0.3, retry_after_s=0.01))
        before = gw.requests_made
        for _ in range(15):
            gw.client.studio.v2.flows(sid).fetch()
        counts.append(gw.requests_made - before)
    assert counts[0] == counts[1] > 15


def test_reads_survive_dropped_connections(emu):
    gw = emulator_gateway(emu, timeout=2)
    sid = make_flow(gw)
    emu.set_faults(FaultConfig(seed=3, rate_drop=0.3))
    before = gw.requests_made
    for _ in range(10):
        assert gw.client.studio.v2.flows(sid).fetch().sid == sid
    assert gw.requests_made > before + 10


def test_a_failed_write_is_not_blindly_resent(emu):
    gw = emulator_gateway(emu)
    emu.set_faults(FaultConfig(fail_nth_write=1))
    before = gw.requests_made
    with pytest.raises(TwilioApiError) as error:
        call(lambda: gw.client.studio.v2.flows.create(friendly_name="x", status="published", definition=DEFINITION))
    assert error.value.status == 500
    assert gw.requests_made - before == 1  # a 500 after a POST may have been applied: no retry
    assert gw.list_all(gw.client.studio.v2.flows) == []


def test_retries_give_up_after_max_attempts(emu):
    gw = emulator_gateway(emu, max_attempts=3)
    sid = make_flow(gw)
    emu.set_faults(FaultConfig(rate_5xx=1.0))
    before = gw.requests_made
    with pytest.raises(TwilioApiError):
        call(lambda: gw.client.studio.v2.flows(sid).fetch())
    assert gw.requests_made - before == 3


def test_list_all_reads_every_page_in_pages_of_1000(emu):
    gw = emulator_gateway(emu)
    for i in range(5):
        make_flow(gw, f"flow-{i}")
    before = gw.requests_made
    flows = gw.list_all(gw.client.studio.v2.flows)
    assert sorted(f.friendly_name for f in flows) == [f"flow-{i}" for i in range(5)]
    assert gw.requests_made - before == 1


def test_map_bounds_concurrency_and_keeps_order(emu):
    gw = emulator_gateway(emu, concurrency=4)
    sids = [make_flow(gw, f"f{i}") for i in range(12)]
    emu.set_faults(FaultConfig(latency_ms=100))
    start = time.monotonic()
    names = gw.map(lambda sid: gw.client.studio.v2.flows(sid).fetch().friendly_name, sids)
    elapsed = time.monotonic() - start
    assert names == [f"f{i}" for i in range(12)]
    assert 0.28 <= elapsed < 1.0  # 12 requests of 100 ms, 4 at a time: about 3 round trips


def test_wrong_credentials_are_an_error_not_a_retry(emu):
    gw = Gateway(Credentials(emu.account_sid, emu.account_sid, Secret("not-the-token-xyz")), base_url=emu.base_url)
    with pytest.raises(TwilioApiError) as error:
        call(lambda: gw.client.studio.v2.flows.list())
    assert error.value.status == 401 and gw.requests_made == 1
    assert "not-the-token-xyz" not in str(error.value)


def test_the_bound_holds_when_map_calls_nest(emu):
    gw = emulator_gateway(emu, concurrency=4)
    sids = [make_flow(gw, f"f{i}") for i in range(12)]
    emu.set_faults(FaultConfig(latency_ms=100))
    groups = [sids[0:4], sids[4:8], sids[8:12]]
    start = time.monotonic()
    names = gw.map(lambda group: gw.map(lambda sid: gw.client.studio.v2.flows(sid).fetch().friendly_name, group),
                   groups)
    elapsed = time.monotonic() - start
    assert [n for group in names for n in group] == [f"f{i}" for i in range(12)]
    assert elapsed >= 0.28  # 12 requests, 4 in flight at most: 3 round trips, not 1


def test_a_validation_answered_500_is_sent_again(emu):
    from twideploy.providers import flows

    gw = emulator_gateway(emu)
    emu.set_faults(FaultConfig(fail_nth_write=1))
    before = gw.requests_made
    flows.studio_validate(gw, "f", "f", "published", DEFINITION)  # no error: the second attempt passed
    assert gw.requests_made - before == 2


def test_a_validation_that_keeps_failing_is_not_studio_rejecting_the_flow(emu):
    from twideploy.errors import ApplyError
    from twideploy.providers import flows

    gw = emulator_gateway(emu, max_attempts=2)
    emu.set_faults(FaultConfig(fail_writes=(1, 2)))
    with pytest.raises(TwilioApiError) as error:
        flows.studio_validate(gw, "f", "f", "published", DEFINITION)
    assert error.value.status == 500 and not isinstance(error.value, ApplyError)
    assert "could not validate flow f" in str(error.value) and "rejected" not in str(error.value)
    with pytest.raises(ApplyError, match="Studio rejected flow f"):  # a 400 is Studio's verdict
        flows.studio_validate(gw, "f", "f", "published", {**DEFINITION, "initial_state": "nowhere"})


def test_a_create_whose_connection_dropped_is_sent_once_and_said_so(emu):
    gw = emulator_gateway(emu, timeout=2)
    for fault in ({"rate_drop": 1.0}, {"rate_lost_response": 1.0}):  # not carried out / carried out
        emu.set_faults(FaultConfig(**fault))
        before = gw.requests_made
        with pytest.raises(TwilioApiError) as error:
            call(lambda: gw.client.studio.v2.flows.create(friendly_name="x", status="published",
                                                          definition=DEFINITION))
        assert gw.requests_made - before == 1
        message = str(error.value)
        assert "ConnectionError after the request was sent (attempt 1)" in message
        assert "may or may not have been applied" in message and "attempts" not in message
    emu.set_faults(FaultConfig())
    assert [f.friendly_name for f in gw.list_all(gw.client.studio.v2.flows)] == ["x"]  # the lost answer's


def test_a_write_declared_idempotent_is_sent_again_after_a_500_or_a_lost_answer(emu):
    gw = emulator_gateway(emu, timeout=2)
    sid = make_flow(gw)
    update = gw.client.studio.v2.flows(sid).update
    for faults in (FaultConfig(fail_nth_write=1), FaultConfig(seed=5, rate_lost_response=0.5)):
        emu.set_faults(faults)
        before = gw.requests_made
        for n in range(4):
            call(lambda n=n: update(status="published", commit_message=f"c{n}",
                                    definition={**DEFINITION, "description": f"d{n}"}), idempotent=True)
        assert gw.requests_made - before > 4
    gw.max_attempts = 3
    emu.set_faults(FaultConfig(rate_drop=1.0))
    with pytest.raises(TwilioApiError, match="ConnectionError on the last of 3 attempt"):
        call(lambda: update(status="published", definition=DEFINITION), idempotent=True)


def test_a_delete_whose_answer_was_lost_is_done_when_the_retry_finds_nothing(emu):
    import random

    def first_answer_lost(seed: int) -> bool:
        """With this seed, is the first request's answer lost and the second's not? (Each request
        draws jitter, roll, coin from the seeded generator; roll < rate_lost_response: lost.)"""
        draws = random.Random(seed)
        first, second = ([draws.random() for _ in range(3)] for _ in range(2))
        return first[1] < 0.5 <= second[1]

    gw = emulator_gateway(emu, timeout=2)
    sid = make_flow(gw)
    seed = next(s for s in range(1000) if first_answer_lost(s))
    emu.set_faults(FaultConfig(seed=seed, rate_lost_response=0.5))
    before = gw.requests_made
    call(lambda: gw.client.studio.v2.flows(sid).delete())  # deleted by attempt 1; attempt 2 answers 404
    assert gw.requests_made - before == 2
    emu.set_faults(FaultConfig())
    assert gw.list_all(gw.client.studio.v2.flows) == []


def test_under_an_account_concurrency_limit_the_gateway_backs_off_and_recovers(emu):
    """Twilio's 429s for too much in flight: AIMD gets far fewer of them than a fixed 16
    would, every write still lands, and the limit climbs back once the account allows more."""
    sids = list(emu.seed_numbers([f"+1500555{n:04d}" for n in range(64)]).values())
    emu.set_faults(FaultConfig(max_in_flight=4, latency_ms=30, retry_after_s=0.05))

    def throttled_updates(gw: Gateway, url: str) -> int:
        before = emu.stats()["faults"].get("max_in_flight", 0)
        gw.map(lambda sid: numbers.update_number(gw, sid, {"voice_url": url}), sids)
        assert {n.fields["voice_url"] for n in numbers.list_numbers(gw)} == {url}  # every write landed
        return emu.stats()["faults"]["max_in_flight"] - before

    fixed = emulator_gateway(emu, max_attempts=100)
    fixed.limiter = AdaptiveLimit(16, floor=16)
    refused_fixed = throttled_updates(fixed, "https://example.com/fixed")
    adaptive = emulator_gateway(emu)
    refused_adaptive = throttled_updates(adaptive, "https://example.com/aimd")
    print(f"429s for too much in flight: fixed 16 {refused_fixed}, AIMD {refused_adaptive}")
    assert refused_adaptive * 3 < refused_fixed
    assert adaptive.limiter.throttled == refused_adaptive
    assert adaptive.limiter.limit <= 2 * 4  # it came down to about what the account allows
    assert adaptive.limiter.peak_in_flight == 16  # it started at the ceiling

    emu.set_faults(FaultConfig())
    for _ in range(3):
        adaptive.map(lambda sid: numbers.fetch_number(adaptive, sid), sids)
    assert adaptive.limiter.limit == 16  # one round of answers at a time, back to the ceiling
