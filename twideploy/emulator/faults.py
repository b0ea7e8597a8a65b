"""Seeded, reproducible fault injection.

Every API request (never an `/_admin/` one) draws exactly three numbers from one
`random.Random(seed)`, whatever the outcome, so the same seed and the same sequence of
requests give the same sequence of delays and faults. Setting a configuration reseeds the
generator and restarts the write count.

A dropped request never reaches its handler; a lost response is the opposite case a client
cannot tell apart from it: the request was carried out, only the answer is lost.

`max_in_flight` is an account's concurrency limit, as Twilio enforces one: a request that
arrives while that many are being served is answered 429 (with Retry-After) after the
latency, draws no numbers and counts as no write (it never reached the account). Which
requests it refuses depends on timing, so it is the one fault that is not reproducible.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

WRITE_METHODS = frozenset({"POST", "DELETE"})
RATES = ("rate_429", "rate_5xx", "rate_drop", "rate_lost_response")


@dataclass(frozen=True)
class FaultConfig:
    seed: int = 0
    latency_ms: float = 0  # added to every request
    jitter_ms: float = 0  # plus uniform(0, jitter_ms)
    rate_429: float = 0  # 429, code 20429, with a Retry-After header
    retry_after_s: float = 1.0  # the Retry-After value, in seconds (may be fractional)
    rate_5xx: float = 0  # 500 (code 20500) or 503 (code 20503), half each
    rate_drop: float = 0  # the connection is closed without a response
    rate_lost_response: float = 0  # the request is carried out, then the connection is closed unanswered
    fail_nth_write: int | None = None  # the Nth POST/DELETE from now answers 500, changing nothing
    fail_writes: tuple[int, ...] = ()  # so do these POST/DELETEs from now (1 = the next one)
    fail_next_build: bool = False  # the next Build created ends `failed`
    #: for each regex, the first POST/DELETE whose "METHOD /path Key=value&..." (form fields as sent) it
    #: is found in answers 500, changing nothing: chosen writes fail whatever order writes in flight arrive in
    fail_writes_matching: tuple[str, ...] = ()
    slow_write_matching: str = ""  # the writes this regex is found in (as above) wait slow_write_s more
    slow_write_s: float = 0
    max_in_flight: int | None = None  # a request beyond this many being served is answered 429

    def __post_init__(self) -> None:
        for name in RATES:
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        if sum(getattr(self, name) for name in RATES) > 1:
            raise ValueError(f"{' + '.join(RATES)} must not exceed 1")
        if min(self.latency_ms, self.jitter_ms, self.retry_after_s, self.slow_write_s) < 0:
            raise ValueError("latency_ms, jitter_ms, retry_after_s and slow_write_s must not be negative")
        if self.fail_nth_write is not None and self.fail_nth_write < 1:
            raise ValueError("fail_nth_write counts from 1")
        if any(n < 1 for n in self.fail_writes):
            raise ValueError("fail_writes count from 1")
        if self.max_in_flight is not None and self.max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultConfig:
        """Build from JSON-ish values (as the admin endpoint receives them); ValueError if bad."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name == "fail_next_build":
                if not isinstance(value, bool):
                    raise ValueError("fail_next_build must be true or false")
                values[name] = value
            elif name in ("fail_nth_write", "max_in_flight"):
                values[name] = None if value is None else int(value)
            elif name == "fail_writes":
                if not isinstance(value, list):
                    raise ValueError("fail_writes must be a list of write numbers")
                values[name] = tuple(sorted({int(n) for n in value}))
            elif name == "fail_writes_matching":
                if not isinstance(value, list):
                    raise ValueError("fail_writes_matching must be a list of regular expressions")
                values[name] = tuple(_regex(v) for v in value)
            elif name == "slow_write_matching":
                values[name] = _regex(value)
            elif name == "seed":
                values[name] = int(value)
            else:
                values[name] = float(value)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ish values, the shape `from_dict` reads."""
        return {**asdict(self), "fail_writes": list(self.fail_writes),
                "fail_writes_matching": list(self.fail_writes_matching)}


def _regex(value: Any) -> str:
    try:
        re.compile(str(value))
    except re.error as error:
        raise ValueError(f"{value!r} is not a regular expression: {error}") from error
    return str(value)


@dataclass(frozen=True)
class Outcome:
    """What to do to one request: wait `delay_s`, then `fault` (None: answer normally)."""

    delay_s: float
    fault: str | None = None  # "drop" | "429" | "500" | "503" | "nth_write" | "lost_response" | "max_in_flight"
    retry_after_s: float = 0  # for a 429


class FaultInjector:
    def __init__(self, config: FaultConfig | None = None):
        self._lock = threading.Lock()
        self._in_flight = 0  # requests admitted and not yet answered (a new configuration keeps it)
        self.configure(config or FaultConfig())

    def configure(self, config: FaultConfig) -> None:
        with self._lock:
            self._config = config
            self._rng = random.Random(config.seed)
            self._writes_left = config.fail_nth_write
            self._writes_seen = 0
            self._failing_writes = set(config.fail_writes)
            self._fail_next_build = config.fail_next_build
            self._failing_matches = list(config.fail_writes_matching)

    def current(self) -> FaultConfig:
        """The configuration as it stands now: one-shot faults already spent read as off."""
        with self._lock:
            return replace(
                self._config, fail_nth_write=self._writes_left, fail_next_build=self._fail_next_build,
                fail_writes_matching=tuple(self._failing_matches),
                fail_writes=tuple(sorted(n - self._writes_seen for n in self._failing_writes)),
            )

    def admit(self) -> Outcome | None:
        """Let a request in (None; `leave` when it is answered), or refuse it: more than
        `max_in_flight` would be in flight (a 429 after the latency)."""
        with self._lock:
            c = self._config
            if c.max_in_flight is not None and self._in_flight >= c.max_in_flight:
                return Outcome(c.latency_ms / 1000, "max_in_flight", c.retry_after_s)
            self._in_flight += 1
            return None

    def leave(self) -> None:
        """An admitted request was answered (or failed)."""
        with self._lock:
            self._in_flight -= 1

    def decide(self, method: str, request_line: str = "") -> Outcome:
        """What to do to one request; `request_line` ("METHOD /path Key=value&...") is matched
        against `fail_writes_matching` and `slow_write_matching`."""
        with self._lock:
            c = self._config
            jitter, roll, coin = self._rng.random(), self._rng.random(), self._rng.random()
            delay_s = (c.latency_ms + jitter * c.jitter_ms) / 1000
            if method in WRITE_METHODS:
                self._writes_seen += 1
                failing = self._writes_seen in self._failing_writes
                self._failing_writes.discard(self._writes_seen)
                if c.slow_write_matching and re.search(c.slow_write_matching, request_line):
                    delay_s += c.slow_write_s
                matched = next((p for p in self._failing_matches if re.search(p, request_line)), None)
                if matched is not None:
                    self._failing_matches.remove(matched)
                    failing = True
                if self._writes_left is not None:
                    self._writes_left -= 1
                    if self._writes_left == 0:
                        self._writes_left = None
                        failing = True
                if failing:
                    return Outcome(delay_s, "nth_write")
            if roll < c.rate_drop:
                return Outcome(delay_s, "drop")
            if roll < c.rate_drop + c.rate_429:
                return Outcome(delay_s, "429", c.retry_after_s)
            if roll < c.rate_drop + c.rate_429 + c.rate_5xx:
                return Outcome(delay_s, "500" if coin < 0.5 else "503")
            if roll < c.rate_drop + c.rate_429 + c.rate_5xx + c.rate_lost_response:
                return Outcome(delay_s, "lost_response")
            return Outcome(delay_s)

    def take_build_failure(self) -> bool:
        """True once after `fail_next_build` was set: the build being created must fail."""
        with self._lock:
            fail, self._fail_next_build = self._fail_next_build, False
            return fail
