"""Api v2010 IncomingPhoneNumbers: seeding, list filters and paging, fetch, update."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from tests.emulator.helpers import admin, api_request
from twideploy.emulator import DEFAULT_ACCOUNT_SID
from twideploy.emulator.api2010 import seed_numbers
from twideploy.emulator.store import Account, Store

NUMBERS = ["+15005550001", "+15005550002", "+15005550003", "+442071838750", "+15005550005"]


def test_seeding_is_idempotent_through_api_and_admin_endpoint(emu):
    first = emu.seed_numbers(NUMBERS[:2])
    assert list(first) == NUMBERS[:2] and all(s.startswith("PN") and len(s) == 34 for s in first.values())
    assert emu.seed_numbers(NUMBERS[:2]) == first
    third = admin(emu, "POST", "numbers", {"numbers": [NUMBERS[2]]})
    assert admin(emu, "POST", "numbers", NUMBERS[:3]) == {**first, **third}
    bad = requests.post(f"{emu.base_url}/_admin/numbers", json=["5005550006"], timeout=5)
    assert bad.status_code == 400 and bad.json()["code"] == 21421


def sqlite_work(store: Store, run: Callable[[], object]) -> int:
    """How much SQLite executes for `run`, in thousands of virtual-machine instructions: a
    measure of the work done that, unlike a clock, does not depend on the machine."""
    thousands = 0

    def tick() -> int:
        nonlocal thousands
        thousands += 1
        return 0

    store._db.set_progress_handler(tick, 1000)  # the store's own connection, the one seeding uses
    try:
        run()
    finally:
        store._db.set_progress_handler(None, 1000)
    return thousands


def test_seeding_looks_numbers_up_without_scanning_the_account(tmp_path):
    """Seeding 500 numbers costs the same in an account of 4,500 as in an empty one: no per-number scan."""
    store = Store(tmp_path / "emulator.sqlite")
    db = Account(store, DEFAULT_ACCOUNT_SID)

    def batch(prefix: str, count: int = 500) -> list[str]:
        return [f"+{prefix}{i:07d}" for i in range(count)]

    into_empty = sqlite_work(store, lambda: seed_numbers(db, batch("1500")))
    seed_numbers(db, batch("1600", 4000))
    new_into_full = sqlite_work(store, lambda: seed_numbers(db, batch("1700")))
    existing_in_full = sqlite_work(store, lambda: seed_numbers(db, batch("1500")))
    assert new_into_full < 2 * into_empty and existing_in_full < 2 * into_empty, (
        into_empty, new_into_full, existing_in_full)
    assert len(db.select("number")) == 5000


def test_list_filters_by_phone_number_and_pages_in_v2010_shape(client, emu):
    emu.seed_numbers(NUMBERS)
    numbers = client.api.v2010.account.incoming_phone_numbers
    assert [n.phone_number for n in numbers.list(page_size=2)] == NUMBERS
    assert [n.phone_number for n in numbers.list(phone_number="+15005550003")] == ["+15005550003"]
    assert [n.phone_number for n in numbers.list(phone_number="+1500555000*")] == [
        n for n in NUMBERS if n.startswith("+1500")]
    assert numbers.list(phone_number="+19999999999") == []

    uri = f"/2010-04-01/Accounts/{emu.account_sid}/IncomingPhoneNumbers.json"
    body = json.loads(api_request(client, "GET", uri, params={"PageSize": 2, "Page": 1, "PageToken": "PT2"}).text)
    assert [n["phone_number"] for n in body["incoming_phone_numbers"]] == NUMBERS[2:4]
    assert (body["page"], body["page_size"], body["start"], body["end"]) == (1, 2, 2, 3)
    assert body["next_page_uri"] == uri + "?PageSize=2&Page=2&PageToken=PT4"
    assert body["previous_page_uri"] == uri + "?PageSize=2&Page=0&PageToken=PT0"
    assert body["first_page_uri"] == uri + "?PageSize=2&Page=0"
    assert "meta" not in body


def test_fetch_has_rfc_2822_dates_and_unset_urls(client, emu):
    sid = emu.seed_numbers(["+15005550006"])["+15005550006"]
    number = client.api.v2010.account.incoming_phone_numbers(sid).fetch()
    assert (number.phone_number, number.friendly_name, number.voice_url, number.voice_method) == (
        "+15005550006", "(500) 555-0006", "", "POST")
    assert isinstance(number.date_created, datetime)  # the SDK parsed the RFC 2822 date
    raw = json.loads(api_request(client, "GET", number.uri).text)
    assert raw["date_created"].endswith(" +0000") and raw["date_created"][3:5] == ", "


def test_update_binds_urls_and_methods(client, emu):
    sid = emu.seed_numbers(["+15005550006"])["+15005550006"]
    number = client.api.v2010.account.incoming_phone_numbers(sid)
    flow_url = "https://webhooks.twilio.com/v1/Accounts/AC123/Flows/FW123"
    number.update(voice_url=flow_url, voice_method="POST", sms_url=flow_url, sms_method="get",
                  voice_fallback_url="https://example.com/down", voice_fallback_method="GET",
                  sms_fallback_url="https://example.com/sms-down", sms_fallback_method="POST",
                  status_callback="https://example.com/status", status_callback_method="GET",
                  friendly_name="Main line")
    live = number.fetch()
    assert (live.voice_url, live.sms_url, live.sms_method, live.voice_fallback_url) == (
        flow_url, flow_url, "GET", "https://example.com/down")
    assert (live.status_callback, live.status_callback_method, live.friendly_name) == (
        "https://example.com/status", "GET", "Main line")
    assert number.update(voice_url="").voice_url == ""  # unbinding

    with pytest.raises(TwilioRestException) as error:
        number.update(voice_url="not a url")
    assert (error.value.status, error.value.code) == (400, 21502)
    with pytest.raises(TwilioRestException) as error:
        number.update(sms_method="PUT")
    assert error.value.status == 400
    assert number.fetch().sms_url == flow_url


def test_another_accounts_numbers_are_not_found(client, emu):
    sid = emu.seed_numbers(["+15005550006"])["+15005550006"]
    other = "AC" + "9" * 32
    with pytest.raises(TwilioRestException) as error:
        client.api.v2010.accounts(other).incoming_phone_numbers(sid).fetch()
    assert (error.value.status, error.value.code) == (404, 20404)
    with pytest.raises(TwilioRestException) as error:
        client.api.v2010.account.incoming_phone_numbers("PN" + "0" * 32).fetch()
    assert error.value.status == 404
