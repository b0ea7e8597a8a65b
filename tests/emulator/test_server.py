"""The server: persistence across restarts, concurrency, lifecycle, reset and stats."""

from __future__ import annotations

import threading

import pytest
import requests

from tests.emulator.helpers import admin, definition, sdk_client, upload_version
from twideploy.emulator import Emulator


def test_state_survives_a_restart_on_the_same_file(tmp_path):
    db = tmp_path / "state" / "emulator.sqlite"
    with Emulator(db) as emu:
        client = sdk_client(emu)
        flow = client.studio.v2.flows.create(friendly_name="ivr", status="draft", definition=definition())
        flow.update(status="published")
        service = client.serverless.v1.services.create(unique_name="crm", friendly_name="CRM")
        function = client.serverless.v1.services(service.sid).functions.create(friendly_name="f")
        version = upload_version(emu, service.sid, "Functions", function.sid, path="/f", content=b"code").json()
        number_sid = emu.seed_numbers(["+15005550006"])["+15005550006"]

    with Emulator(db) as emu:
        client = sdk_client(emu)
        live = client.studio.v2.flows(flow.sid).fetch()
        assert (live.revision, live.status) == (2, "published")
        assert len(client.studio.v2.flows(flow.sid).revisions.list()) == 2
        assert client.serverless.v1.services("crm").fetch().sid == service.sid
        content = (client.serverless.v1.services(service.sid).functions(function.sid)
                   .function_versions(version["sid"]).function_version_content().fetch())
        assert content.content == "code"
        assert emu.seed_numbers(["+15005550006"]) == {"+15005550006": number_sid}

    emu = Emulator(db)
    emu.start()
    emu.stop()
    emu.start()  # the same object restarts too
    try:
        assert len(sdk_client(emu).studio.v2.flows.list()) == 1
    finally:
        emu.stop()


def test_twenty_threads_creating_flows_get_distinct_sids(emu):
    sids: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def create(i: int) -> None:
        try:
            client = sdk_client(emu)
            for j in range(3):
                flow = client.studio.v2.flows.create(friendly_name=f"f{i}-{j}", status="draft",
                                                     definition=definition())
                with lock:
                    sids.append(flow.sid)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(sids) == len(set(sids)) == 60
    assert len(sdk_client(emu).studio.v2.flows.list(page_size=1000)) == 60
    assert emu.stats()["by_method"]["POST"] == 60


def test_concurrent_updates_each_make_one_revision(emu):
    client = sdk_client(emu)
    flow = client.studio.v2.flows.create(friendly_name="f", status="draft", definition=definition())

    def flip(i: int) -> None:
        sdk_client(emu).studio.v2.flows(flow.sid).update(
            status="draft", definition={**definition(), "description": f"edit {i}"})

    threads = [threading.Thread(target=flip, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    revisions = client.studio.v2.flows(flow.sid).revisions.list()
    assert [r.revision for r in revisions] == list(range(11, 0, -1))
    assert client.studio.v2.flows(flow.sid).fetch().revision == 11


def test_stop_closes_the_port(tmp_path):
    with Emulator(tmp_path / "e.sqlite") as emu:
        url = emu.base_url
        assert requests.get(f"{url}/_admin/stats", timeout=5).ok
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/_admin/stats", timeout=2)


def test_reset_wipes_state_and_counts(client, emu):
    client.studio.v2.flows.create(friendly_name="f", status="draft", definition=definition())
    emu.seed_numbers(["+15005550006"])
    assert admin(emu, "POST", "reset") == {"reset": True}
    assert admin(emu, "GET", "stats")["total"] == 0
    assert client.studio.v2.flows.list() == []
    assert client.api.v2010.account.incoming_phone_numbers.list() == []


def test_stats_count_requests_by_method_and_status(client, emu):
    flow = client.studio.v2.flows.create(friendly_name="f", status="draft", definition=definition())
    client.studio.v2.flows(flow.sid).fetch()
    client.studio.v2.flows.list()
    flow.delete()
    admin(emu, "GET", "faults")  # admin requests are not counted
    assert admin(emu, "GET", "stats") == emu.stats() == {
        "total": 4, "writes": 2, "by_method": {"DELETE": 1, "GET": 2, "POST": 1},
        "by_status": {"200": 2, "201": 1, "204": 1}, "faults": {},
        "by_route": {"DELETE /v2/Flows/<Sid>": 1, "GET /v2/Flows": 1, "GET /v2/Flows/<Sid>": 1, "POST /v2/Flows": 1},
    }
