"""Twilio SIDs: a two-letter prefix and 32 hex digits (the `pattern` of every sid in the specs)."""

from __future__ import annotations

import hashlib
import re
import secrets

#: The account the emulator acts for by default, and the token every emulated account accepts.
DEFAULT_ACCOUNT_SID = "AC00000000000000000000000000000001"
DEFAULT_AUTH_TOKEN = "emulator-auth-token"

# The prefixes the emulated resources use, as the OpenAPI specs' sid patterns require.
FLOW = "FW"  # flows; a flow revision shares its flow's sid
SERVICE = "ZS"
ENVIRONMENT = "ZE"
FUNCTION = "ZH"
ASSET = "ZH"  # assets share the function prefix in the spec
VERSION = "ZN"  # function versions and asset versions
BUILD = "ZB"
DEPLOYMENT = "ZD"
VARIABLE = "ZV"
PHONE_NUMBER = "PN"
USER = "US"

ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def stable_sid(prefix: str, *parts: str) -> str:
    """A sid derived from names, so the same inputs always give the same sid."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return prefix + digest[:32]


def account_sid_for(name: str) -> str:
    """The account sid of the emulated account called `name`.

    Deterministic, so each emulated environment (local, staging-on-emulator, ...) is a
    distinct account whose SIDs never collide with another's, run after run.
    """
    return stable_sid("AC", "twideploy-emulator-account", name)
