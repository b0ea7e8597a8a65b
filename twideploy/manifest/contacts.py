"""Contact addresses: phone numbers, and who may try a preview (a flow's Studio Test Users).

Studio's Test Users are "the contact addresses (e.g. phone numbers, Chat identities) who can
test the latest drafts of a Flow", each "up to 300 bytes" (twilio.com/docs/studio/rest-api/v2/
test-user). A call or message reaches Studio from an E.164 number or, from a Twilio Client
(Voice SDK or chat), as `client:<identity>` (Studio's executions name their contact that
way: `contact_channel_address`, twilio_studio_v2.json). Those two forms are what a tester is.
"""

from __future__ import annotations

import re

E164 = re.compile(r"\+[1-9][0-9]{1,14}")
CLIENT_IDENTITY = re.compile(r"client:[^\s\x00-\x1f\x7f]+")
MAX_TEST_USER_BYTES = 300


def tester_problem(address: str) -> str | None:
    """Why `address` cannot be a tester; None when it can."""
    if E164.fullmatch(address):
        return None
    if CLIENT_IDENTITY.fullmatch(address):
        if len(address.encode()) > MAX_TEST_USER_BYTES:
            return f"tester {address[:40]!r}...: longer than Studio's {MAX_TEST_USER_BYTES} bytes"
        return None
    return (f"tester {address[:60]!r} is neither an E.164 phone number (+15551234567) "
            f"nor a client identity (client:alice)")
