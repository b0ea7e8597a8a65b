"""Seeded, reproducible fault injection.

Every API request (never an `/_admin/` one) draws exactly three numbers from one
`random.Random(seed)`, whatever the outcome, so the same seed and the same sequence of
requests give the same sequence of delays and faults. Setting a configuration reseeds the
generator and restarts the write count.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

WRITE_METHODS = frozenset({"POST", "DELETE"})


@dataclass(frozen=True)
class FaultConfig:
    seed: int = 0
    latency_ms: float = 0  # added to every request
    jitter_ms: float = 0  # plus uniform(0, jitter_ms)
    rate_429: float = 0  # 429, code 20429, with a Retry-After header
    retry_after_s: float = 1.0  # the Retry-After value, in seconds (may be fractional)
    rate_5xx: float = 0  # 500 (code 20500) or 503 (code 20503), half each
    rate_drop: float = 0  # the connection is closed without a response
    fail_nth_write: int | None = None  # the Nth POST/DELETE from now answers 500, changing nothing
    fail_next_build: bool = False  # the next Build created ends `failed`

    def __post_init__(self) -> None:
        for name in ("rate_429", "rate_5xx", "rate_drop"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.rate_429 + self.rate_5xx + self.rate_drop > 1:
            raise ValueError("rate_429 + rate_5xx + rate_drop must not exceed 1")
        if self.latency_ms < 0 or self.jitter_ms < 0 or self.retry_after_s < 0:
            raise ValueError("latency_ms, jitter_ms and retry_after_s must not be negative")
        if self.fail_nth_write is not None and self.fail_nth_write < 1:
            raise ValueError("fail_nth_write counts from 1")

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
            elif name == "fail_nth_write":
                values[name] = None if value is None else int(value)
            elif name == "seed":
                values[name] = int(value)
            else:
                values[name] = float(value)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Outcome:
    """What to do to one request: wait `delay_s`, then `fault` (None: answer normally)."""

    delay_s: float
    fault: str | None = None  # "drop" | "429" | "500" | "503" | "nth_write"
    retry_after_s: float = 0  # for a 429


class FaultInjector:
    def __init__(self, config: FaultConfig | None = None):
        self._lock = threading.Lock()
        self.configure(config or FaultConfig())

    def configure(self, config: FaultConfig) -> None:
        with self._lock:
            self._config = config
            self._rng = random.Random(config.seed)
            self._writes_left = config.fail_nth_write
            self._fail_next_build = config.fail_next_build

    def current(self) -> FaultConfig:
        """The configuration as it stands now: one-shot faults already spent read as off."""
        with self._lock:
            return replace(
                self._config, fail_nth_write=self._writes_left, fail_next_build=self._fail_next_build
            )

    def decide(self, method: str) -> Outcome:
        with self._lock:
            c = self._config
            jitter, roll, coin = self._rng.random(), self._rng.random(), self._rng.random()
            delay_s = (c.latency_ms + jitter * c.jitter_ms) / 1000
            if method in WRITE_METHODS and self._writes_left is not None:
                self._writes_left -= 1
                if self._writes_left == 0:
                    self._writes_left = None
                    return Outcome(delay_s, "nth_write")
            if roll < c.rate_drop:
                return Outcome(delay_s, "drop")
            if roll < c.rate_drop + c.rate_429:
                return Outcome(delay_s, "429", c.retry_after_s)
            if roll < c.rate_drop + c.rate_429 + c.rate_5xx:
                return Outcome(delay_s, "500" if coin < 0.5 else "503")
            return Outcome(delay_s)

    def take_build_failure(self) -> bool:
        """True once after `fail_next_build` was set: the build being created must fail."""
        with self._lock:
            fail, self._fail_next_build = self._fail_next_build, False
            return fail
