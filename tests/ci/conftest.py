"""Fixtures for the CI integration tests: the workflows' scripts run as GitHub would run them.

Each script runs in a clean environment (no GITHUB_* or TWILIO_* from the outer process),
with temp files for $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY, the test venv's python and
twideploy first on PATH, and a fake `gh` that records its arguments and answers with canned
output.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.example import EXAMPLE_FILES, copy_example

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / ".github" / "scripts"
WORKFLOWS = REPO / ".github" / "workflows"
VENV_BIN = Path(sys.executable).parent

FAKE_GH = textwrap.dedent('''\
    #!{python}
    """Fake gh: appends {{argv, input, body}} to $FAKE_GH_LOG; answers from $FAKE_GH_RESPONSES,
    a JSON list of {{"match": regex on the joined argv, "stdout": ..., "exit": 0}}."""
    import json, os, re, sys
    argv = sys.argv[1:]
    record = {{"argv": argv}}
    for flag, key in (("--input", "input"), ("--body-file", "body"), ("--body", "body")):
        if flag in argv:
            value = argv[argv.index(flag) + 1]
            record[key] = value if flag == "--body" else open(value, encoding="utf-8").read()
    with open(os.environ["FAKE_GH_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\\n")
    responses = os.environ.get("FAKE_GH_RESPONSES")
    for response in json.load(open(responses)) if responses else []:
        if re.search(response["match"], " ".join(argv)):
            sys.stdout.write(response.get("stdout", ""))
            sys.exit(response.get("exit", 0))
    sys.exit(0)
''')


@dataclass
class Run:
    """One script run: its exit code, output, and what it wrote to the GitHub files."""

    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str


@dataclass
class GitHubSandbox:
    root: Path
    bin: Path
    env: dict[str, str]
    gh_responses: list[dict] = field(default_factory=list)

    @property
    def output_file(self) -> Path:
        return Path(self.env["GITHUB_OUTPUT"])

    @property
    def summary_file(self) -> Path:
        return Path(self.env["GITHUB_STEP_SUMMARY"])

    def respond(self, match: str, stdout: str = "", exit: int = 0) -> None:
        """Make the fake gh answer `stdout` to calls whose joined argv matches `match`."""
        self.gh_responses.append({"match": match, "stdout": stdout, "exit": exit})

    def gh_calls(self) -> list[dict]:
        log = Path(self.env["FAKE_GH_LOG"])
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    def fake_program(self, name: str, body: str) -> Path:
        """Put an executable bash script called `name` first on PATH."""
        path = self.bin / name
        path.write_text("#!/usr/bin/env bash\n" + textwrap.dedent(body))
        path.chmod(0o755)
        return path

    def prepared_env(self) -> dict[str, str]:
        """The environment for a process, with the fake gh's answers written out."""
        responses = self.root / "gh-responses.json"
        responses.write_text(json.dumps(self.gh_responses))
        return {**self.env, "FAKE_GH_RESPONSES": str(responses)}

    def run(self, argv: list[str] | str, *, cwd: Path | None = None, env: dict[str, str] | None = None,
            shell: bool = False, timeout: float = 60) -> Run:
        full_env = {**self.prepared_env(), **(env or {})}
        self.output_file.write_text("")
        self.summary_file.write_text("")
        proc = subprocess.run(argv, cwd=cwd or self.root, env=full_env, capture_output=True, text=True,
                              timeout=timeout, shell=shell, executable="/bin/bash" if shell else None)
        return Run(proc.returncode, proc.stdout, proc.stderr, parse_outputs(self.output_file.read_text()),
                   self.summary_file.read_text())


def parse_outputs(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT's `name=value` lines (and `name<<EOF` blocks)."""
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        heredoc = re.fullmatch(r"([\w-]+)<<(\S+)", line)
        if heredoc:
            name, end = heredoc.groups()
            block = []
            for inner in lines:
                if inner == end:
                    break
                block.append(inner)
            outputs[name] = "\n".join(block)
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


def make_sandbox(root: Path) -> GitHubSandbox:
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True)
    gh = bin_dir / "gh"
    gh.write_text(FAKE_GH.format(python=sys.executable))
    gh.chmod(0o755)
    runner_temp = root / "runner-temp"
    runner_temp.mkdir()
    keep = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "LC_ALL", "TMPDIR")}
    env = {
        **keep,
        "PATH": os.pathsep.join([str(bin_dir), str(VENV_BIN), os.environ.get("PATH", "/usr/bin:/bin")]),
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(root / "github-output"),
        "GITHUB_STEP_SUMMARY": str(root / "step-summary.md"),
        "RUNNER_TEMP": str(runner_temp),
        "GITHUB_REPOSITORY": "acme/contact-center",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "4242",
        "GH_TOKEN": "ghs_fake",
        "FAKE_GH_LOG": str(root / "gh-calls.jsonl"),
    }
    return GitHubSandbox(root, bin_dir, env)


def copy_project(root: Path) -> Path:
    """A copy of the repository's example project (environments/local.yaml: the emulator)."""
    missing = [name for name in EXAMPLE_FILES if not (REPO / name).exists()]
    if missing:
        pytest.skip(f"the example project is incomplete (missing {', '.join(missing)})")
    copy_example(root)
    shutil.copytree(REPO / ".github", root / ".github")
    return root


@pytest.fixture
def gh_sandbox(tmp_path: Path) -> GitHubSandbox:
    return make_sandbox(tmp_path / "gh")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")
