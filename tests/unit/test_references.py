"""Targets and the address book (pure functions)."""

from __future__ import annotations

import pytest

from twideploy.manifest.references import (
    UNKNOWN,
    AddressBook,
    FlowAddress,
    FlowRef,
    FunctionAddress,
    FunctionRef,
    UrlTarget,
    format_target,
    parse_target,
)


@pytest.mark.parametrize("text, target", [
    ("flow:ivr-main", FlowRef("ivr-main")),
    ("flow:subflows/lookup-caller", FlowRef("subflows/lookup-caller")),
    ("function:crm/lookup", FunctionRef("crm", "/lookup")),
    ("function:crm/api/v1/orders", FunctionRef("crm", "/api/v1/orders")),
    ("https://example.com/down?x=1", UrlTarget("https://example.com/down?x=1")),
])
def test_parse_and_format_round_trip(text, target):
    assert parse_target(text) == target
    assert format_target(target) == text


@pytest.mark.parametrize("text, message", [
    ("flow:", "expected flow:NAME"),
    ("flow:has space", "expected flow:NAME"),
    ("function:crm", "expected SERVICE/PATH"),
    ("function:/lookup", "expected SERVICE/PATH"),
    ("function:crm/", "expected SERVICE/PATH"),
    ("http://example.com", "URLs must use https://"),
    ("ivr-main", "expected flow:NAME, function:SERVICE/PATH or an https:// URL"),
    ("https://", "expected flow:NAME"),
])
def test_parse_target_rejects_with_a_clear_message(text, message):
    with pytest.raises(ValueError, match=message.replace("?", r"\?").replace(".", r"\.")):
        parse_target(text)


def test_function_ref_text_form():
    assert str(FunctionRef("crm", "/lookup")) == "crm/lookup"
    assert FunctionRef.parse("crm/lookup") == FunctionRef("crm", "/lookup")


def test_address_book_both_directions():
    lookup = FunctionRef("crm", "/lookup")
    address = FunctionAddress("ZS1", "ZE1", "ZH1", "https://crm-1-stage.twil.io/lookup")
    flow = FlowAddress("FW1", "https://webhooks.twilio.com/v1/Accounts/AC1/Flows/FW1")
    book = AddressBook({lookup: address}, {"ivr-main": flow})
    assert book.function(lookup) == address and book.function("crm/lookup") == address
    assert book.flow("ivr-main") == flow
    assert book.function_by_sid("ZH1") == lookup and book.function_by_sid("ZHx") is None
    assert book.flow_by_sid("FW1") == "ivr-main" and book.flow_by_sid("FWx") is None
    assert book.url_for(FlowRef("ivr-main")) == flow.webhook_url
    assert book.url_for(lookup) == address.url
    assert book.url_for(UrlTarget("https://x")) == "https://x"
    assert book.target_for_url(flow.webhook_url) == FlowRef("ivr-main")
    assert book.target_for_url(address.url) == lookup
    assert book.target_for_url("https://elsewhere") == UrlTarget("https://elsewhere")


def test_unknown_names_get_placeholders():
    book = AddressBook()
    assert book.function("crm/nope") == FunctionAddress(UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN)
    assert book.flow("nope") == FlowAddress(UNKNOWN, UNKNOWN)
    assert book.url_for(FlowRef("nope")) == UNKNOWN == "(known after apply)"
    assert book.target_for_url(UNKNOWN) == UrlTarget(UNKNOWN)
