"""The gateway's AIMD limit on requests in flight, on its own (the emulator test is in
tests/e2e/test_gateway.py)."""

from __future__ import annotations

import threading
from contextlib import ExitStack

import pytest

from twideploy.twilio_api.gateway import AdaptiveLimit


def answer_all(limit: AdaptiveLimit, statuses: list[int]) -> None:
    """Send len(statuses) requests at once (in one round), then answer them with `statuses`."""
    with ExitStack() as stack:
        answers = [stack.enter_context(limit.slot()) for _ in statuses]
        assert limit.in_flight == len(statuses)
        for answer, status in zip(answers, statuses, strict=True):
            answer(status)


def test_a_round_of_429s_halves_the_limit_once_and_later_rounds_halve_again():
    limit = AdaptiveLimit(16)
    answer_all(limit, [429] * 16)
    assert (limit.limit, limit.throttled, limit.in_flight) == (8, 16, 0)
    answer_all(limit, [429, 200])  # sent after the halving: news
    assert limit.limit == 4
    for _ in range(5):
        answer_all(limit, [429])
    assert limit.limit == 1  # never below one


def test_each_round_of_answers_raises_the_limit_by_one_up_to_the_ceiling():
    limit = AdaptiveLimit(4)
    answer_all(limit, [429])
    answer_all(limit, [429])
    assert limit.limit == 1
    answer_all(limit, [200])
    assert limit.limit == 2
    answer_all(limit, [200, 201])
    assert limit.limit == 3
    answer_all(limit, [200, 404])  # any answer but a 429 says the account took the request
    assert limit.limit == 3
    answer_all(limit, [204])
    assert limit.limit == 4
    for _ in range(3):
        answer_all(limit, [200] * 4)
    assert (limit.limit, limit.peak_in_flight) == (4, 4)


def test_a_request_without_an_answer_changes_nothing():
    limit = AdaptiveLimit(2)
    answer_all(limit, [429])
    with limit.slot():
        pass  # a dropped connection: no status
    assert (limit.limit, limit.throttled, limit.in_flight) == (1, 1, 0)


def test_a_floor_equal_to_the_ceiling_is_a_fixed_limit():
    limit = AdaptiveLimit(16, floor=16)
    answer_all(limit, [429] * 16)
    assert (limit.limit, limit.throttled) == (16, 16)
    with pytest.raises(ValueError):
        AdaptiveLimit(0)


def test_a_request_waits_for_room_under_the_limit():
    limit = AdaptiveLimit(2)
    answer_all(limit, [429])
    entered = threading.Event()

    def second() -> None:
        with limit.slot():
            entered.set()

    with limit.slot() as answer:
        waiting = threading.Thread(target=second)
        waiting.start()
        assert not entered.wait(0.2)  # the limit is 1, and one is in flight
        answer(200)
    assert entered.wait(5)
    waiting.join()
    assert limit.peak_in_flight == 1
