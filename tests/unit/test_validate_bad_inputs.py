"""Every broken project under tests/bad_inputs/cases makes `twideploy validate` fail with
the expected `file:line: message`, without a single network connection."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from twideploy.cli.main import cli

CORPUS = Path(__file__).resolve().parents[1] / "bad_inputs"
BASE = CORPUS / "base"
CASES = sorted(p for p in (CORPUS / "cases").iterdir() if p.is_dir())
META = {"expected.txt", "delete.txt", "args.txt"}


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("validate tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    for name in ("MINI_ACCOUNT_SID", "MINI_AUTH_TOKEN", "GITHUB_ACTIONS"):
        monkeypatch.delenv(name, raising=False)


def build(case: Path, target: Path) -> list[str]:
    shutil.copytree(BASE, target)
    for path in case.rglob("*"):
        if path.is_file() and path.relative_to(case).as_posix() not in META:
            destination = target / path.relative_to(case)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
    if (case / "delete.txt").exists():
        for rel in (case / "delete.txt").read_text().split():
            (target / rel).unlink()
    return (case / "args.txt").read_text().split() if (case / "args.txt").exists() else []


def test_corpus_is_large_enough():
    assert len(CASES) >= 40


def test_base_project_is_valid(tmp_path):
    build(CORPUS / "cases" / CASES[0].name, tmp_path / "unused")  # exercise the builder once
    result = CliRunner().invoke(cli, ["validate", "--project-dir", str(BASE)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "valid"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Path, tmp_path: Path):
    expected = [line for line in (case / "expected.txt").read_text().splitlines() if line.strip()]
    assert expected, f"{case.name}: expected.txt is empty"
    root = tmp_path / "project"
    args = build(case, root)
    result = CliRunner().invoke(cli, ["validate", "--project-dir", str(root), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 1, result.output
    for line in expected:
        assert line in result.output, f"{case.name}: missing {line!r} in:\n{result.output}"
        assert ":" in line.split(" ")[0], f"{case.name}: expected lines start with file:line"
