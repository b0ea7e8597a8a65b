"""`twideploy emulator serve`: runs in the foreground and says how to reach it."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.emulator.helpers import EmulatorHttpClient, definition
from twideploy.cli.main import cli
from twideploy.emulator import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN


def test_serve_prints_the_url_and_credentials_and_serves_until_stopped(tmp_path):
    db = tmp_path / "state" / "emulator.sqlite"
    command = [sys.executable, "-c", "from twideploy.cli.main import cli; cli()", "emulator", "serve",
               "--port", "0", "--db", str(db), "--seed-number", "+15005550006", "--seed-number", "+15005550007",
               "--fail-nth-write", "1", "--no-log-requests"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        banner = ""
        while "Ctrl-C to stop." not in banner:
            line = server.stdout.readline()
            assert line, f"serve exited early:\n{banner}"
            banner += line
        base_url = re.search(r"listening on (http://\S+)", banner).group(1)
        assert DEFAULT_ACCOUNT_SID in banner and DEFAULT_AUTH_TOKEN in banner
        assert f"TWIDEPLOY_EMULATOR_URL={base_url}" in banner

        client = Client(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, http_client=EmulatorHttpClient(base_url))
        numbers = client.api.v2010.account.incoming_phone_numbers.list()
        assert [n.phone_number for n in numbers] == ["+15005550006", "+15005550007"]
        with pytest.raises(TwilioRestException) as error:  # --fail-nth-write 1
            client.studio.v2.flows.create(friendly_name="f", status="draft", definition=definition())
        assert error.value.status == 500
        assert client.studio.v2.flows.create(friendly_name="f", status="draft", definition=definition()).revision == 1
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert db.is_file()


def test_serve_rejects_impossible_fault_rates():
    result = CliRunner().invoke(cli, ["emulator", "serve", "--rate-429", "0.7", "--rate-5xx", "0.7"])
    assert result.exit_code == 2 and "must not exceed 1" in result.output


def test_emulator_group_is_registered():
    result = CliRunner().invoke(cli, ["emulator", "--help"])
    assert result.exit_code == 0 and "serve" in result.output
