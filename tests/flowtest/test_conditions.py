"""Split conditions as Studio documents them: "Studio conditions are not case-sensitive and
automatically trim leading and trailing spaces of the values" (widget-library/split-based-on);
the other rules are listed, with their sources, in docs/flow-tests.md."""

from __future__ import annotations

import datetime as dt

import pytest

from twideploy.flowtest.conditions import CONDITION_CHECKS, UnknownCondition, evaluate
from twideploy.manifest.widgets import CONDITION_TYPES

NOON_UTC = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC)


def check(kind: str, subject: str, value: str = "", now: dt.datetime = NOON_UTC) -> bool:
    return evaluate(kind, subject, value, now)


def test_every_condition_type_validate_knows_is_evaluated():
    assert set(CONDITION_CHECKS) == set(CONDITION_TYPES)


@pytest.mark.parametrize("subject, value, expected", [
    ("YES", "yes", True),            # case ignored
    ("  yes ", "yes", True),         # trimmed
    ("1", "1.0", True),              # numbers compare as numbers
    ("01", "1", True),
    ("yes please", "yes", False),
    ("", "", True),
])
def test_equal_to_and_not_equal_to(subject, value, expected):
    assert check("equal_to", subject, value) is expected
    assert check("not_equal_to", subject, value) is (not expected)


@pytest.mark.parametrize("subject, expected", [
    ("hours", True), ("HOURS", True), (" open ", True), ("Open", True), ("hour", False), ("hours,open", False),
])
def test_matches_any_of_splits_the_value_on_commas_and_trims_each_item(subject, expected):
    assert check("matches_any_of", subject, "hours , open") is expected
    assert check("does_not_match_any_of", subject, "hours , open") is (not expected)


def test_blank_means_empty_after_trimming():
    assert check("is_blank", "   ") and check("is_blank", "")
    assert not check("is_blank", " x ")
    assert check("is_not_blank", "x") and not check("is_not_blank", " \t")


def test_contains_and_starts_with_ignore_case():
    assert check("contains", "Please call me back", "CALL")
    assert not check("contains", "Please", "call")
    assert check("does_not_contain", "Please", "call")
    assert check("starts_with", "Stop now", "stop")
    assert not check("starts_with", "now stop", "stop")
    assert check("does_not_start_with", "now stop", "stop")


@pytest.mark.parametrize("subject, value, less, greater", [
    ("9", "10", True, False),        # numerically, not as text ("9" > "10")
    ("10.5", "10", False, True),
    ("10", "10", False, False),
    ("abc", "10", False, False),     # not a number: neither
    ("", "10", False, False),
])
def test_less_than_and_greater_than_compare_numbers_only(subject, value, less, greater):
    assert check("less_than", subject, value) is less
    assert check("greater_than", subject, value) is greater


def test_regex_searches_the_input_ignoring_case_and_a_bad_pattern_never_matches():
    assert check("regex", "order 12345", r"\d{5}")
    assert check("regex", "ORDER", "^order$")
    assert not check("regex", "order", r"\d")
    assert not check("regex", "order", "(")


def test_time_conditions_compare_the_time_of_day_of_the_input_or_of_the_clock():
    assert check("is_before_time", "08:30", "09:00")
    assert not check("is_before_time", "09:30", "09:00")
    assert check("is_after_time", "2026-01-05T17:45:00+00:00", "17:00")
    # a blank input is "now": the scenario's clock (noon)
    assert check("is_after_time", "", "09:00", NOON_UTC) and check("is_before_time", "", "17:00", NOON_UTC)
    assert not check("is_before_time", "", "11:59", NOON_UTC)
    assert not check("is_before_time", "soon", "09:00")   # not a time: never matches
    assert not check("is_after_time", "10:00", "later")


def test_date_conditions_compare_moments():
    assert check("is_before", "2026-01-01", "2026-06-01")
    assert check("is_after", "", "2025-12-31T23:59:59+00:00", NOON_UTC)
    assert not check("is_after", "yesterday", "2025-12-31")


def test_an_unknown_condition_type_is_refused():
    with pytest.raises(UnknownCondition):
        check("sounds_like", "x", "y")
