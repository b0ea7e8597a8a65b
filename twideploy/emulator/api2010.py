"""Api v2010 IncomingPhoneNumbers: list (PhoneNumber / FriendlyName filters), fetch, update.

Numbers are never bought or released here: they are seeded (`seed_numbers`), as an
account's numbers exist before twideploy binds them to flows and functions.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from flask import Blueprint, Response, request

from twideploy.emulator import sids
from twideploy.emulator.store import Account, Record
from twideploy.emulator.wire import (
    TwilioError,
    account,
    bad_param,
    json_response,
    not_found,
    now,
    paged_v2010,
    param,
    rfc2822,
)

bp = Blueprint("api2010", __name__, url_prefix="/2010-04-01/Accounts/<AccountSid>")

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
METHODS = ("GET", "POST")

# Form parameter -> field, for the number settings twideploy manages.
URL_PARAMS = {
    "VoiceUrl": "voice_url",
    "VoiceFallbackUrl": "voice_fallback_url",
    "SmsUrl": "sms_url",
    "SmsFallbackUrl": "sms_fallback_url",
    "StatusCallback": "status_callback",
}
METHOD_PARAMS = {
    "VoiceMethod": "voice_method",
    "VoiceFallbackMethod": "voice_fallback_method",
    "SmsMethod": "sms_method",
    "SmsFallbackMethod": "sms_fallback_method",
    "StatusCallbackMethod": "status_callback_method",
}


def _friendly(number: str) -> str:
    """Twilio's default friendly name: `(500) 555-0006` for North American numbers."""
    if len(number) == 12 and number.startswith("+1"):
        return f"({number[2:5]}) {number[5:8]}-{number[8:]}"
    return number


def seed_numbers(db: Account, numbers: list[str]) -> dict[str, str]:
    """Give the account these numbers (E.164); idempotent. Returns number -> PN sid.

    A number's sid derives from the account and the number, so whether the account has it
    already is a lookup of that key in the store's unique index, not a scan of the account's
    numbers: seeding thousands of numbers stays linear.
    """
    bad = [n for n in numbers if not isinstance(n, str) or not E164.match(n)]
    if bad:
        raise TwilioError(400, 21421, f"Invalid E.164 phone number(s): {', '.join(map(str, bad))}")
    sids_by_number = {}
    with db.store.transaction():
        for number in numbers:
            sid = _number_sid(db.sid, number)
            if db.get("number", sid) is None:
                db.insert("number", None, _new_number(db.sid, number))
            sids_by_number[number] = sid
    return sids_by_number


def _number_sid(account_sid: str, number: str) -> str:
    return sids.stable_sid(sids.PHONE_NUMBER, account_sid, number)


def _new_number(account_sid: str, number: str) -> Record:
    timestamp = now()
    return {
        "sid": _number_sid(account_sid, number),
        "account_sid": account_sid,
        "phone_number": number,
        "friendly_name": _friendly(number),
        **{field: "" for field in URL_PARAMS.values()},
        **{field: "POST" for field in METHOD_PARAMS.values()},
        "date_created": timestamp,
        "date_updated": timestamp,
    }


def render_number(r: Record) -> dict[str, Any]:
    return {
        "account_sid": r["account_sid"],
        "address_sid": None,
        "address_requirements": "none",
        "api_version": "2010-04-01",
        "beta": False,
        "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False},
        "date_created": rfc2822(r["date_created"]),
        "date_updated": rfc2822(r["date_updated"]),
        "friendly_name": r["friendly_name"],
        "identity_sid": None,
        "phone_number": r["phone_number"],
        "origin": "twilio",
        "sid": r["sid"],
        "sms_application_sid": None,
        "sms_fallback_method": r["sms_fallback_method"],
        "sms_fallback_url": r["sms_fallback_url"],
        "sms_method": r["sms_method"],
        "sms_url": r["sms_url"],
        "status_callback": r["status_callback"],
        "status_callback_method": r["status_callback_method"],
        "trunk_sid": None,
        "uri": f"/2010-04-01/Accounts/{r['account_sid']}/IncomingPhoneNumbers/{r['sid']}.json",
        "voice_receive_mode": "voice",
        "voice_application_sid": None,
        "voice_caller_id_lookup": False,
        "voice_fallback_method": r["voice_fallback_method"],
        "voice_fallback_url": r["voice_fallback_url"],
        "voice_method": r["voice_method"],
        "voice_url": r["voice_url"],
        "emergency_status": "Inactive",
        "emergency_address_sid": None,
        "emergency_address_status": "unregistered",
        "bundle_sid": None,
        "status": "in-use",
        "type": "local",
    }


def _account(AccountSid: str) -> Account:
    """The authenticated account, if it is the path's (other accounts are not found)."""
    db = account()
    if AccountSid != db.sid:
        raise not_found()
    return db


def _number(AccountSid: str, Sid: str) -> Record:
    number = _account(AccountSid).get("number", Sid)
    if number is None:
        raise not_found()
    return number


@bp.get("/IncomingPhoneNumbers.json")
def list_numbers(AccountSid: str) -> Response:
    """`PhoneNumber` matches partial numbers, `*` standing for any digit, as Twilio's does."""
    _account(AccountSid)
    filters, glob, equal = {}, {}, {}
    phone_number = request.args.get("PhoneNumber")
    if phone_number:
        filters["PhoneNumber"] = phone_number
        glob["phone_number"] = "*" + phone_number.replace("*", "[0-9]") + "*"
    friendly_name = request.args.get("FriendlyName")
    if friendly_name:
        filters["FriendlyName"] = friendly_name
        equal["friendly_name"] = friendly_name
    return paged_v2010("incoming_phone_numbers", "number", render_number, equal=equal, glob=glob, filters=filters)


@bp.get("/IncomingPhoneNumbers/<Sid>.json")
def fetch_number(AccountSid: str, Sid: str) -> Response:
    return json_response(render_number(_number(AccountSid, Sid)))


@bp.post("/IncomingPhoneNumbers/<Sid>.json")
def update_number(AccountSid: str, Sid: str) -> Response:
    number = _number(AccountSid, Sid)
    for name, field in URL_PARAMS.items():
        value = param(name)
        if value is not None:
            parsed = urlparse(value)
            if value and not (parsed.scheme in ("http", "https") and parsed.netloc):
                raise TwilioError(400, 21502, f"Invalid callback url: {name} {value!r} is not a valid URL")
            number[field] = value
    for name, field in METHOD_PARAMS.items():
        value = param(name)
        if value is not None:
            if value.upper() not in METHODS:
                raise bad_param(f"{name} must be GET or POST, not {value!r}")
            number[field] = value.upper()
    friendly_name = param("FriendlyName", max_len=64)
    if friendly_name is not None:
        number["friendly_name"] = friendly_name
    number["date_updated"] = now()
    account().put(Sid, number)
    return json_response(render_number(number))
