"""End-to-end fixtures: a copy of the example project and a fresh emulator account.

Everything goes through the real `twilio` SDK over HTTP to the emulator; nothing is mocked.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from twideploy.emulator import Emulator, account_sid_for
from twideploy.gateway import Credentials, Gateway
from twideploy.manifest import load_project
from twideploy.secrets import Secret
from twideploy.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
PROJECT_FILES = ("twideploy.yaml", "environments", "flows", "functions")


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    for name in PROJECT_FILES:
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    return root


@pytest.fixture
def emulator(tmp_path: Path):
    with Emulator(tmp_path / "emulator.sqlite", account_sid=account_sid_for("local")) as emu:
        yield emu


def open_ws(project_dir: Path, emulator: Emulator, env: str = "local") -> Workspace:
    """A workspace on the test's emulator (the same wiring `open_workspace` does for --env local)."""
    project = load_project(project_dir)
    environment = project.environment(env)
    emulator.seed_numbers(list(environment.numbers))
    gateway = Gateway(Credentials(emulator.account_sid, emulator.account_sid, Secret(emulator.auth_token)),
                      base_url=emulator.base_url)
    return Workspace(project, environment, gateway)


@pytest.fixture
def cli_env(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """Point `--env local` CLI runs at the test's emulator."""
    monkeypatch.setenv("TWIDEPLOY_EMULATOR_URL", emulator.base_url)
    monkeypatch.setenv("TWIDEPLOY_EMULATOR_ACCOUNT_SID", emulator.account_sid)
    return emulator
