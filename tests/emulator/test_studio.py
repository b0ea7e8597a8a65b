"""Studio v2: flows, revisions, validation, paging, console edits."""

from __future__ import annotations

import json

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException

from tests.emulator.helpers import admin, api_request, definition, say, sdk_client


def create(client, name="ivr", status="published", **kwargs):
    return client.studio.v2.flows.create(friendly_name=name, status=status,
                                         definition=kwargs.pop("definition", definition()), **kwargs)


def test_create_answers_revision_1_with_webhook_url(client, emu):
    flow = create(client, commit_message="abc123")
    assert flow.sid.startswith("FW") and len(flow.sid) == 34
    assert (flow.revision, flow.status, flow.commit_message, flow.valid) == (1, "published", "abc123", True)
    assert flow.webhook_url == f"https://webhooks.twilio.com/v1/Accounts/{emu.account_sid}/Flows/{flow.sid}"
    assert flow.url == f"{emu.base_url}/v2/Flows/{flow.sid}"
    assert flow.links["revisions"] == f"{emu.base_url}/v2/Flows/{flow.sid}/Revisions"
    assert flow.definition == definition()
    assert flow.date_created is not None and flow.date_created == flow.date_updated


def test_revision_increments_only_when_definition_or_status_changes(client):
    flow = create(client)
    changed = definition(say("Hello"), first="Hello")
    assert flow.update(status="published", definition=changed, commit_message="c2").revision == 2
    assert flow.update(status="published", definition=changed, commit_message="same").revision == 2
    renamed = flow.update(status="published", friendly_name="ivr-renamed")
    assert (renamed.revision, renamed.friendly_name, renamed.commit_message) == (2, "ivr-renamed", "c2")
    assert flow.update(status="draft").revision == 3


def test_revisions_keep_each_definition_status_and_commit_message(client):
    flow = create(client, status="draft", commit_message="first")
    second = definition(say("Hello"), first="Hello")
    flow.update(status="published", definition=second, commit_message="second")
    revisions = client.studio.v2.flows(flow.sid).revisions.list()
    assert [(r.revision, r.status, r.commit_message) for r in revisions] == [
        (2, "published", "second"), (1, "draft", "first")]  # newest first
    assert all(r.sid == flow.sid for r in revisions)
    one = client.studio.v2.flows(flow.sid).revisions("1").fetch()
    assert one.definition == definition() and one.url.endswith(f"/v2/Flows/{flow.sid}/Revisions/1")
    assert client.studio.v2.flows(flow.sid).revisions("LatestRevision").fetch().definition == second
    assert client.studio.v2.flows(flow.sid).revisions("LatestPublished").fetch().revision == 2
    with pytest.raises(TwilioRestException) as missing:
        client.studio.v2.flows(flow.sid).revisions("9").fetch()
    assert (missing.value.status, missing.value.code) == (404, 20404)


INVALID = [
    ("not an object", ["states"], "#/"),
    ("no states", {"initial_state": "Trigger"}, "'states' list"),
    ("no initial state", {"states": definition()["states"]}, "initial_state"),
    ("initial state missing", {**definition(), "initial_state": "Nope"}, "'Nope' is not one of the states"),
    ("initial state not trigger", {**definition(say("Hello")), "initial_state": "Hello"}, "must be the trigger"),
    ("two triggers", {**definition(), "states": definition()["states"] * 2}, "used more than once"),
    ("no trigger", {"initial_state": "Hello", "states": [say("Hello")]}, "exactly one state of type 'trigger'"),
    ("dangling next", definition(first="Nowhere"), "unknown state 'Nowhere'"),
    ("unknown widget", definition({"name": "X", "type": "teleport", "transitions": []}),
     "unknown widget type 'teleport'"),
    ("duplicate names", definition(say("Hello"), say("Hello")), "'Hello' is used more than once"),
    ("transition without event", definition({**say("Hello"), "transitions": [{"next": "Trigger"}]}),
     "with an 'event'"),
]


@pytest.mark.parametrize("case, bad, message", INVALID, ids=[c[0] for c in INVALID])
def test_validate_rejects_invalid_definitions_like_studio(client, case, bad, message):
    with pytest.raises(TwilioRestException) as error:
        client.studio.v2.flow_validate.update(friendly_name="f", status="published", definition=bad)
    assert (error.value.status, error.value.code) == (400, 20001)
    assert message in error.value.msg
    assert error.value.details["errors"] and all("property_path" in e for e in error.value.details["errors"])


def test_validate_accepts_a_valid_definition(client):
    result = client.studio.v2.flow_validate.update(
        friendly_name="f", status="published", definition=definition(say("Hello"), first="Hello"))
    assert result.valid is True


def test_create_and_update_refuse_invalid_definitions_and_change_nothing(client):
    with pytest.raises(TwilioRestException) as error:
        create(client, definition=definition(first="Nowhere"))
    assert (error.value.status, error.value.code) == (400, 20001)
    assert client.studio.v2.flows.list() == []

    flow = create(client)
    with pytest.raises(TwilioRestException):
        flow.update(status="published", definition={"states": []})
    assert client.studio.v2.flows(flow.sid).fetch().revision == 1
    assert len(client.studio.v2.flows(flow.sid).revisions.list()) == 1


def test_missing_and_bad_parameters_answer_400(client, emu):
    with pytest.raises(TwilioRestException) as error:
        client.studio.v2.flows.create(friendly_name="f", status="live", definition=definition())
    assert (error.value.status, error.value.code) == (400, 20001)
    response = api_request(client, "POST", "/v2/Flows", data={"FriendlyName": "f"})
    assert response.status_code == 400
    assert json.loads(response.text)["message"] == "Missing required parameter Status in the post body"
    response = api_request(client, "POST", "/v2/Flows",
                           data={"FriendlyName": "f", "Status": "draft", "Definition": "{not json"})
    assert response.status_code == 400 and "not valid JSON" in json.loads(response.text)["message"]


def test_paging_seven_flows_in_pages_of_three(client, emu):
    sids = [create(client, name=f"flow-{i}").sid for i in range(7)]
    flows = client.studio.v2.flows
    assert [f.sid for f in flows.list(page_size=3)] == sids
    assert [f.sid for f in flows.stream(page_size=3, limit=5)] == sids[:5]

    page = flows.page(page_size=3)
    seen, sizes = [], []
    while page is not None:
        records = list(page)
        sizes.append(len(records))
        seen += [f.sid for f in records]
        page = page.next_page()
    assert sizes == [3, 3, 1] and seen == sids

    body = json.loads(api_request(client, "GET", "/v2/Flows",
                                  params={"PageSize": 3, "Page": 1, "PageToken": "PT3"}).text)
    assert [f["sid"] for f in body["flows"]] == sids[3:6]
    meta = body["meta"]
    assert (meta["page"], meta["page_size"], meta["key"]) == (1, 3, "flows")
    assert meta["next_page_url"].endswith("PageSize=3&Page=2&PageToken=PT6")
    assert meta["previous_page_url"].endswith("PageSize=3&Page=0&PageToken=PT0")
    assert meta["first_page_url"] == f"{emu.base_url}/v2/Flows?PageSize=3&Page=0"
    big = json.loads(api_request(client, "GET", "/v2/Flows", params={"PageSize": 5000}).text)
    assert big["meta"]["page_size"] == 1000 and len(big["flows"]) == 7


def test_unknown_flow_and_unknown_path_answer_404_20404(client, emu):
    with pytest.raises(TwilioRestException) as error:
        client.studio.v2.flows("FW" + "0" * 32).fetch()
    assert (error.value.status, error.value.code) == (404, 20404)
    response = api_request(sdk_client(emu), "GET", "/v2/Nothing")  # no spec operation to check it against
    assert response.status_code == 404
    assert json.loads(response.text) == {"code": 20404, "message": "The requested resource /v2/Nothing was not found",
                               "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404}


def test_delete_removes_the_flow_and_its_revisions(client):
    flow = create(client)
    assert flow.delete() is True
    with pytest.raises(TwilioRestException) as error:
        client.studio.v2.flows(flow.sid).fetch()
    assert error.value.status == 404
    with pytest.raises(TwilioException, match="20404"):  # the SDK's list pages raise the base class
        client.studio.v2.flows(flow.sid).revisions.list()


def test_executions_list_is_empty_for_a_flow_and_404_for_none(client):
    flow = create(client)
    assert client.studio.v2.flows(flow.sid).executions.list() == []
    with pytest.raises(TwilioException, match="20404"):
        client.studio.v2.flows("FW" + "1" * 32).executions.list()


def test_console_edit_makes_a_new_published_revision_by_a_person(client, emu):
    flow = create(client, status="draft", commit_message="from git abc")
    edited = definition(say("Hi", "edited in console"), first="Hi")
    assert emu.console_edit(flow.sid, edited) == 2
    live = client.studio.v2.flows(flow.sid).fetch()
    assert (live.revision, live.status, live.commit_message, live.definition) == (2, "published", "", edited)
    assert live.author_sid.startswith("US")

    answer = admin(emu, "POST", f"flows/{flow.sid}/console-edit",
                   {"definition": definition(), "commit_message": "reverted by hand"})
    assert answer == {"sid": flow.sid, "revision": 3}
    assert client.studio.v2.flows(flow.sid).fetch().commit_message == "reverted by hand"

    for body, status in (({"definition": {"states": []}}, 400), ({"nodefinition": 1}, 400)):
        assert requests.post(f"{emu.base_url}/_admin/flows/{flow.sid}/console-edit", json=body,
                             timeout=5).status_code == status
    missing = requests.post(f"{emu.base_url}/_admin/flows/FW{'0' * 32}/console-edit",
                            json={"definition": definition()}, timeout=5)
    assert missing.status_code == 404 and missing.json()["code"] == 20404
    assert client.studio.v2.flows(flow.sid).fetch().revision == 3


def test_a_draft_is_the_flows_latest_revision_while_the_published_one_serves_callers(client, emu):
    """As Twilio documents: the Flow answers its latest revision; LatestPublished, callers' one."""
    flow = create(client, definition=definition(say("Hello"), first="Hello"))
    draft = client.studio.v2.flows(flow.sid).update(status="draft", definition=definition(say("Hi"), first="Hi"),
                                                    commit_message="try")
    assert (draft.revision, draft.status, draft.definition) == (2, "draft", definition(say("Hi"), first="Hi"))
    fetched = client.studio.v2.flows(flow.sid).fetch()
    assert (fetched.revision, fetched.status) == (2, "draft")
    published = client.studio.v2.flows(flow.sid).revisions("LatestPublished").fetch()
    assert (published.revision, published.status, published.definition) == \
        (1, "published", definition(say("Hello"), first="Hello"))
    listed = client.studio.v2.flows(flow.sid).revisions.list()
    assert [(r.revision, r.status, r.definition) for r in listed] == [(2, "draft", None), (1, "published", None)]
    assert emu.reached_revision(flow.sid, "+15551230001")["revision"] == 1  # not a test user: the published one


def test_test_users_are_replaced_whole_and_reach_the_latest_draft(client, emu):
    flow = create(client)
    users = client.studio.v2.flows(flow.sid).test_users()
    assert users.fetch().test_users == []
    client.studio.v2.flows(flow.sid).update(status="draft", definition=definition(say("Hi"), first="Hi"))
    assert users.update(test_users=["+15551230001", "client:alice"]).test_users == ["+15551230001", "client:alice"]
    assert users.fetch().test_users == ["+15551230001", "client:alice"]
    assert emu.reached_revision(flow.sid, "client:alice")["status"] == "draft"
    assert emu.reached_revision(flow.sid, "+15550000000")["status"] == "published"
    assert users.update(test_users=[]).test_users == []  # the SDK sends no TestUsers: the list is emptied
    with pytest.raises(TwilioRestException) as error:
        users.update(test_users=["client:" + "x" * 300])
    assert error.value.status == 400
