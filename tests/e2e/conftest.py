"""End-to-end fixtures: a copy of the example project and a fresh emulator account.

Everything goes through the real `twilio` SDK over HTTP to the emulator; nothing is mocked.
Helpers the tests share (open_ws, run, edit_yaml, ...) are in helpers.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.example import copy_example
from twideploy.emulator import Emulator, account_sid_for


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "project")


@pytest.fixture
def emulator(tmp_path: Path):
    with Emulator(tmp_path / "emulator.sqlite", account_sid=account_sid_for("local")) as emu:
        yield emu


@pytest.fixture
def cli_env(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """Point `--env local` CLI runs at the test's emulator."""
    monkeypatch.setenv("TWIDEPLOY_EMULATOR_URL", emulator.base_url)
    monkeypatch.setenv("TWIDEPLOY_EMULATOR_ACCOUNT_SID", emulator.account_sid)
    return emulator


@pytest.fixture(params=[1, 16], ids=lambda n: f"parallelism-{n}")
def parallelism(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Fault and kill tests run with one write at a time and with 16 requests in flight: CLI
    runs (in-process or not) read TWIDEPLOY_PARALLELISM; pass it to `open_ws` for library runs."""
    monkeypatch.setenv("TWIDEPLOY_PARALLELISM", str(request.param))
    return request.param
