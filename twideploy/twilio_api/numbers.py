"""IncomingPhoneNumbers (API 2010): the webhook fields twideploy binds, as typed records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twideploy.twilio_api.gateway import Gateway, call

#: the fields of a number twideploy reads and writes (its URLs, their methods, its name)
FIELDS = ("voice_url", "voice_method", "voice_fallback_url", "voice_fallback_method", "sms_url", "sms_method",
          "sms_fallback_url", "sms_fallback_method", "status_callback", "status_callback_method", "friendly_name")


@dataclass
class Number:
    sid: str
    phone_number: str
    fields: dict[str, str | None]
    date_updated: str = ""


def list_numbers(gw: Gateway) -> list[Number]:
    return [_number(r) for r in gw.list_all(_numbers(gw))]


def fetch_number(gw: Gateway, sid: str) -> Number:
    return _number(call(lambda: _numbers(gw)(sid).fetch()))


def update_number(gw: Gateway, sid: str, fields: dict[str, str]) -> Number:
    """Set some of FIELDS (the same values again are safe to retry)."""
    return _number(call(lambda: _numbers(gw)(sid).update(**fields), idempotent=True))


def _numbers(gw: Gateway) -> Any:
    return gw.client.api.v2010.accounts(gw.account_sid).incoming_phone_numbers


def _number(record: Any) -> Number:
    return Number(record.sid, record.phone_number, {f: getattr(record, f, None) for f in FIELDS},
                  str(record.date_updated or ""))
