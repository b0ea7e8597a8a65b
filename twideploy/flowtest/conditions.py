"""Split Based On... conditions, evaluated as Studio evaluates them.

Studio's documentation: "Studio conditions are not case-sensitive and automatically trim
leading and trailing spaces of the values" (widget-library/split-based-on). So every
comparison here is between trimmed values, and text comparisons ignore case. Beyond that
(docs/flow-tests.md lists the sources and what is inferred):

- equal_to / not_equal_to: two numbers compare as numbers (`1.0` equals `1`), else as text.
- matches_any_of / does_not_match_any_of: the value is a comma-separated list; each item is
  trimmed and compared as equal_to does (`hours, HOURS ,open` has three items).
- contains, starts_with and their negations: text, case ignored.
- less_than / greater_than: numbers only; when either side is not a number the condition
  does not match (never a text comparison, where "10" < "9").
- is_blank / is_not_blank: empty after trimming.
- regex: Python's `re.search` of the pattern in the input, case ignored like the others.
- is_before_time / is_after_time: the value is a time of day `HH:MM` (or `HH:MM:SS`); the
  input is a time of day or an ISO 8601 date-time, and when it is blank the clock of the
  scenario (`now`) is used. is_before / is_after compare ISO 8601 dates or date-times.
  A value that is not a time never matches.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from functools import partial
from typing import Any

CONDITION_CHECKS: dict[str, Callable[[str, str, dt.datetime], bool]] = {}


def _condition(*names: str) -> Callable[[Callable[[str, str, dt.datetime], bool]],
                                        Callable[[str, str, dt.datetime], bool]]:
    def register(check: Callable[[str, str, dt.datetime], bool]) -> Callable[[str, str, dt.datetime], bool]:
        for name in names:
            CONDITION_CHECKS[name] = check
        return check
    return register


class UnknownCondition(ValueError):
    """A condition type Studio does not have (validate reports it too)."""


def evaluate(kind: str, subject: str, value: str, now: dt.datetime) -> bool:
    """Whether `subject` (the rendered input) satisfies condition `kind` with `value` (rendered)."""
    check = CONDITION_CHECKS.get(kind)
    if check is None:
        raise UnknownCondition(f"unknown condition type {kind!r}")
    return check(subject.strip(), value.strip(), now)


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _equal(subject: str, value: str) -> bool:
    left, right = _number(subject), _number(value)
    if left is not None and right is not None:
        return left == right
    return subject.casefold() == value.casefold()


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",")]


@_condition("equal_to")
def _equal_to(subject: str, value: str, now: dt.datetime) -> bool:
    return _equal(subject, value)


@_condition("not_equal_to")
def _not_equal_to(subject: str, value: str, now: dt.datetime) -> bool:
    return not _equal(subject, value)


@_condition("matches_any_of")
def _matches_any_of(subject: str, value: str, now: dt.datetime) -> bool:
    return any(_equal(subject, item) for item in _items(value))


@_condition("does_not_match_any_of")
def _does_not_match_any_of(subject: str, value: str, now: dt.datetime) -> bool:
    return not _matches_any_of(subject, value, now)


@_condition("is_blank")
def _is_blank(subject: str, value: str, now: dt.datetime) -> bool:
    return subject == ""


@_condition("is_not_blank")
def _is_not_blank(subject: str, value: str, now: dt.datetime) -> bool:
    return subject != ""


@_condition("contains")
def _contains(subject: str, value: str, now: dt.datetime) -> bool:
    return value.casefold() in subject.casefold()


@_condition("does_not_contain")
def _does_not_contain(subject: str, value: str, now: dt.datetime) -> bool:
    return not _contains(subject, value, now)


@_condition("starts_with")
def _starts_with(subject: str, value: str, now: dt.datetime) -> bool:
    return subject.casefold().startswith(value.casefold())


@_condition("does_not_start_with")
def _does_not_start_with(subject: str, value: str, now: dt.datetime) -> bool:
    return not _starts_with(subject, value, now)


@_condition("less_than")
def _less_than(subject: str, value: str, now: dt.datetime) -> bool:
    left, right = _number(subject), _number(value)
    return left is not None and right is not None and left < right


@_condition("greater_than")
def _greater_than(subject: str, value: str, now: dt.datetime) -> bool:
    left, right = _number(subject), _number(value)
    return left is not None and right is not None and left > right


@_condition("regex")
def _regex(subject: str, value: str, now: dt.datetime) -> bool:
    try:
        return re.search(value, subject, re.IGNORECASE) is not None
    except re.error:
        return False


def _time_of_day(text: str) -> dt.time | None:
    """A time of day (`09:30`, or the time of an ISO 8601 date-time), without its offset."""
    try:
        return dt.time.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        pass
    moment = _moment(text)
    return moment.time() if moment else None


def _moment(text: str) -> dt.datetime | None:
    """An ISO 8601 date or date-time; without an offset it is UTC."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _ordering(parse: Callable[[str], Any], at: Callable[[dt.datetime], Any]) -> Callable[[str, str, dt.datetime],
                                                                                         int | None]:
    """-1, 0 or 1 as the subject (`at(now)` when blank) comes before, with or after the value; None if
    either is not a time."""
    def compare(subject: str, value: str, now: dt.datetime) -> int | None:
        left = parse(subject) if subject else at(now)
        right = parse(value)
        if left is None or right is None:
            return None
        return (left > right) - (left < right)
    return compare


def _in_order(compare: Callable[[str, str, dt.datetime], int | None], wanted: int, subject: str, value: str,
              now: dt.datetime) -> bool:
    return compare(subject, value, now) == wanted


_BY_TIME_OF_DAY = _ordering(_time_of_day, lambda now: now.time())
_BY_MOMENT = _ordering(_moment, lambda now: now)
for _name, _compare, _wanted in (("is_before_time", _BY_TIME_OF_DAY, -1), ("is_after_time", _BY_TIME_OF_DAY, 1),
                                 ("is_before", _BY_MOMENT, -1), ("is_after", _BY_MOMENT, 1)):
    CONDITION_CHECKS[_name] = partial(_in_order, _compare, _wanted)
