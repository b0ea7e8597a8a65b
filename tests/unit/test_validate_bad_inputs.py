"""Every broken project under tests/bad_inputs/cases makes twideploy fail with exactly the
expected `file:line: message` lines, exit 1, no traceback, and not one request to the account.

Each case runs its command (`validate` unless `command.txt` says otherwise) with an emulator
standing in for the account: every environment of the base project is `target: emulator` or
has no credentials, so a case that got past the checks would talk to the emulator, and its
request count must stay 0. In-process runs may open no other connection at all. Cases with
a `hostile.txt` run in a separate process under a time and memory limit instead: they are
the inputs (alias bombs, 5,000-deep nesting, /dev/zero) that used to take minutes, gigabytes
or a RecursionError.
"""

from __future__ import annotations

import os
import re
import resource
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from twideploy.cli.main import cli
from twideploy.emulator import Emulator

CORPUS = Path(__file__).resolve().parents[1] / "bad_inputs"
BASE = CORPUS / "base"
CASES = sorted(p for p in (CORPUS / "cases").iterdir() if p.is_dir())
META = {"expected.txt", "delete.txt", "args.txt", "command.txt", "prepare.py", "hostile.txt", "absent.txt"}
HOSTILE_SECONDS = 15  # wall clock, Python's start included, on a busy 2-core CI machine
HOSTILE_MEMORY = 1024 * 1024 * 1024  # address space; twideploy validates in well under 100 MB
SUMMARY = re.compile(r"\d+ errors?(, \d+ warnings?)?( \(environments: .*\))?|valid(, \d+ warnings?)?")
LOCATED = re.compile(r"(error: )?[^\s:]+(:\d+)?: \S")  # file:line: message (a folder has no line)


@pytest.fixture
def emulator(tmp_path: Path):
    with Emulator(tmp_path / "emulator.sqlite") as emu:
        yield emu


@pytest.fixture(autouse=True)
def only_the_emulator(monkeypatch, emulator):
    """No connection but to the test's emulator (whose request count the test checks), and no
    settings from the machine running the tests."""
    allowed = ("127.0.0.1", int(emulator.base_url.rsplit(":", 1)[1]))
    connect, connect_ex, getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def guard(address) -> None:
        if tuple(address[:2]) != allowed:
            raise AssertionError(f"a bad input made twideploy connect to {address}")

    monkeypatch.setattr(socket.socket, "connect", lambda self, address: (guard(address), connect(self, address))[1])
    monkeypatch.setattr(socket.socket, "connect_ex",
                        lambda self, address: (guard(address), connect_ex(self, address))[1])
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: (
        guard((host, port)), getaddrinfo(host, port, *a, **k))[1])
    for name in ("MINI_ACCOUNT_SID", "MINI_AUTH_TOKEN", "GITHUB_ACTIONS", "CI", "TWIDEPLOY_PROJECT_DIR",
                 "TWIDEPLOY_EMULATOR_ACCOUNT_SID", "TWIDEPLOY_EMULATOR_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TWIDEPLOY_EMULATOR_URL", emulator.base_url)


def build(case: Path, target: Path) -> list[str]:
    """The case's project at `target`; returns the command line to run there."""
    shutil.copytree(BASE, target)
    for path in case.rglob("*"):
        if path.is_file() and path.relative_to(case).as_posix() not in META:
            destination = target / path.relative_to(case)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
    if (case / "delete.txt").exists():
        for rel in (case / "delete.txt").read_text().split():
            (target / rel).unlink()
    if (case / "prepare.py").exists():
        subprocess.run([sys.executable, str(case / "prepare.py")], cwd=target, check=True, timeout=60)
    command = shlex.split((case / "command.txt").read_text()) if (case / "command.txt").exists() else ["validate"]
    return command + (shlex.split((case / "args.txt").read_text()) if (case / "args.txt").exists() else [])


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (HOSTILE_MEMORY, HOSTILE_MEMORY))


def run_limited(argv: list[str], cwd: Path, emulator: Emulator) -> tuple[int, str]:
    """`twideploy argv` in its own process, under HOSTILE_MEMORY and HOSTILE_SECONDS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MINI_", "GITHUB_", "TWIDEPLOY_")) and k != "CI"}
    env.update(TWIDEPLOY_EMULATOR_URL=emulator.base_url, HTTPS_PROXY="http://127.0.0.1:9",
               NO_PROXY="127.0.0.1,localhost")
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "twideploy", *argv], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=HOSTILE_SECONDS, preexec_fn=_limit)
    assert time.monotonic() - started < HOSTILE_SECONDS
    return run.returncode, run.stdout + run.stderr


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines()
            if line.strip() and ": warning: " not in line and not SUMMARY.fullmatch(line)]


def test_corpus_is_large_enough():
    assert len(CASES) >= 100


def test_base_project_is_valid_and_reaches_the_emulator(tmp_path, monkeypatch, emulator):
    """The base project is clean, and a plan of it does talk to the emulator: so a request count
    of 0 in the cases means that the check stopped them, not that nothing was listening."""
    root = tmp_path / "project"
    build(CASES[0], tmp_path / "unused")  # exercise the builder once
    shutil.copytree(BASE, root)
    monkeypatch.chdir(root)
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "valid"
    result = CliRunner().invoke(cli, ["plan", "--env", "dev"])
    assert result.exit_code == 0, result.output
    assert emulator.stats()["total"] > 0


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Path, tmp_path: Path, monkeypatch, emulator):
    expected = [line for line in (case / "expected.txt").read_text().splitlines() if line.strip()]
    assert expected, f"{case.name}: expected.txt is empty"
    root = tmp_path / "project"
    argv = build(case, root)
    if (case / "hostile.txt").exists():
        exit_code, output = run_limited(argv, root, emulator)
    else:
        monkeypatch.chdir(root)
        result = CliRunner().invoke(cli, argv)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        exit_code, output = result.exit_code, result.output  # stdout and stderr
    assert "Traceback" not in output, output
    assert exit_code == 1, output
    for line in expected:
        assert LOCATED.match(line) or line.startswith("error: "), f"{case.name}: {line!r} is not file:line: message"
        assert line in output, f"{case.name}: missing {line!r} in:\n{output}"
    assert len(error_lines(output)) == len(error_lines("\n".join(expected))), \
        f"{case.name}: other errors than expected.txt's:\n{output}"
    if (case / "absent.txt").exists():
        for text in (case / "absent.txt").read_text().splitlines():
            assert text not in output, f"{case.name}: {text!r} must not be printed"
    assert emulator.stats()["total"] == 0, f"{case.name}: requests reached the account"
