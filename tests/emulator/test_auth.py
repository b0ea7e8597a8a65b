"""Basic auth: account sid + auth token, API key + secret; every account sid is its own account."""

from __future__ import annotations

import json

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from tests.emulator.conftest import API_KEY, API_SECRET
from tests.emulator.helpers import api_request, definition, sdk_client
from twideploy.emulator import DEFAULT_ACCOUNT_SID, account_sid_for


@pytest.mark.parametrize("username, password", [
    (DEFAULT_ACCOUNT_SID, "wrong-token"),
    (API_KEY, "wrong-secret"),
    ("SK" + "0" * 32, API_SECRET),
    ("someone", "emulator-auth-token"),
])
def test_wrong_credentials_answer_401_20003(emu, on_response, username, password):
    client = sdk_client(emu, username=username, password=password, account_sid=emu.account_sid,
                        on_response=on_response)
    with pytest.raises(TwilioRestException) as error:
        client.studio.v2.flows.create(friendly_name="f", status="draft", definition=definition())
    assert (error.value.status, error.value.code) == (401, 20003)
    assert emu.stats()["by_status"] == {"401": 1}


def test_missing_credentials_answer_401_with_a_basic_challenge(emu, on_response):
    client = sdk_client(emu, on_response=on_response)
    client.password = None  # the SDK then sends no Authorization header
    response = api_request(client, "GET", "/v1/Services")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    body = json.loads(response.text)
    assert body["code"] == 20003 and set(body) == {"code", "message", "more_info", "status"}


def test_api_key_acts_for_the_default_account(emu):
    client = sdk_client(emu, username=API_KEY, password=API_SECRET, account_sid=emu.account_sid)
    flow = client.studio.v2.flows.create(friendly_name="f", status="draft", definition=definition())
    assert flow.account_sid == emu.account_sid
    assert [f.sid for f in sdk_client(emu).studio.v2.flows.list()] == [flow.sid]


def test_each_account_sid_is_an_isolated_account(emu):
    staging, prod = account_sid_for("staging"), account_sid_for("prod")
    assert staging != prod and staging == account_sid_for("staging")
    assert staging.startswith("AC") and len(staging) == 34 and int(staging[2:], 16) >= 0
    as_staging = sdk_client(emu, username=staging)
    as_prod = sdk_client(emu, username=prod)
    flow = as_staging.studio.v2.flows.create(friendly_name="f", status="draft", definition=definition())
    assert flow.account_sid == staging
    assert as_prod.studio.v2.flows.list() == []
    with pytest.raises(TwilioRestException) as error:
        as_prod.studio.v2.flows(flow.sid).fetch()
    assert error.value.status == 404
    as_prod.serverless.v1.services.create(unique_name="crm", friendly_name="CRM")
    as_staging.serverless.v1.services.create(unique_name="crm", friendly_name="CRM")  # no conflict


def test_admin_endpoints_need_no_twilio_credentials(emu):
    assert requests.get(f"{emu.base_url}/_admin/stats", timeout=5).status_code == 200
    assert requests.get(f"{emu.base_url}/_admin/faults", timeout=5).status_code == 200
