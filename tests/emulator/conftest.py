from __future__ import annotations

import pytest

from tests.emulator.helpers import sdk_client
from tests.emulator.openapi import OpenApiSpecs, specs_dir
from twideploy.emulator import Emulator

API_KEY = "SK" + "5" * 32
API_SECRET = "api-key-secret"


@pytest.fixture(scope="session")
def openapi() -> OpenApiSpecs | None:
    """The Twilio specs, when found; every SDK client of these tests then checks every response."""
    directory = specs_dir()
    return OpenApiSpecs(directory) if directory else None


@pytest.fixture
def specs(openapi: OpenApiSpecs | None) -> OpenApiSpecs:
    if openapi is None:
        pytest.skip("twilio-oai specs not found: set TWILIO_OAI_DIR")
    return openapi


@pytest.fixture
def emu(tmp_path):
    with Emulator(tmp_path / "emulator.sqlite", api_keys={API_KEY: API_SECRET}) as emulator:
        yield emulator


@pytest.fixture
def on_response(openapi):
    return openapi.check if openapi else None


@pytest.fixture
def client(emu, on_response):
    return sdk_client(emu, on_response=on_response)
