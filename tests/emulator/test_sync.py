"""Sync as twideploy's state uses it: compare-and-set on revisions, unique names and keys, key order, size."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException


@pytest.fixture
def service(client):
    return client.sync.v1.services(client.sync.v1.services.create(friendly_name="twideploy").sid)


def test_a_stale_if_match_changes_nothing_and_the_current_one_does(service):
    documents = service.documents
    made = documents.create(unique_name="lease-prod", data={"owner": "a"})
    assert made.revision == "0"
    assert documents("lease-prod").update(data={"owner": "b"}, if_match="0").revision == "1"
    with pytest.raises(TwilioRestException) as stale:
        documents("lease-prod").update(data={"owner": "c"}, if_match="0")
    assert stale.value.status == 412 and "does not match" in stale.value.msg
    assert documents("lease-prod").fetch().data == {"owner": "b"}
    assert documents("lease-prod").update(data={"owner": "d"}).data == {"owner": "d"}  # no If-Match: last wins
    with pytest.raises(TwilioRestException) as taken:
        documents.create(unique_name="lease-prod", data={})
    assert taken.value.status == 409


def test_items_list_in_key_order_from_a_key_and_hold_at_most_16_kib(service):
    items = service.sync_maps(service.sync_maps.create(unique_name="journal").sid).sync_map_items
    for key in ("b.0001", "a.0001", "b.0000", "c.0000"):
        items.create(key=key, data={"text": key})
    assert [i.key for i in items.list()] == ["a.0001", "b.0000", "b.0001", "c.0000"]
    assert [i.key for i in items.list(from_="b.0000", bounds="exclusive")] == ["b.0001", "c.0000"]
    assert [i.key for i in items.list(order="desc", from_="b.0001")] == ["b.0001", "b.0000", "a.0001"]
    assert [i.key for i in items.list(page_size=2, limit=10)] == ["a.0001", "b.0000", "b.0001", "c.0000"]
    with pytest.raises(TwilioRestException) as too_big:
        items.create(key="big", data={"text": "x" * 16_400})
    assert too_big.value.status == 413
    with pytest.raises(TwilioRestException):
        items("big").fetch()
