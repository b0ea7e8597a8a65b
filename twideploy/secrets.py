"""A value that must never be printed, logged or written to a plan file, and the credentials
that carry one (made by the manifests, used by the gateway: one type for both)."""

from __future__ import annotations

from dataclasses import dataclass

MASK = "***"


class Secret:
    """Wraps a sensitive string; every textual rendering is the mask.

    Only `reveal()` gives the value back, so a secret can reach the Twilio API
    but not a log line, an exception message or a JSON plan by accident.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))


@dataclass(frozen=True)
class Credentials:
    """Who we authenticate as: account SID plus (auth token | API key SID + secret)."""

    account_sid: str
    username: str  # API key SID, or the account SID with an auth token
    password: Secret


def reveal(value: str | Secret) -> str:
    """The real value of a plain string or a Secret."""
    return value.reveal() if isinstance(value, Secret) else value
