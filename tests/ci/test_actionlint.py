"""actionlint on every workflow and on action.yml; shellcheck on every CI shell script.

The tools come from `.ci/install-actionlint.sh` (on PATH in CI through .ci/run, or found in
.ci/tools/bin/). Without them the tests are skipped with a reason, except under CI=true,
where a missing linter is a failure.

actionlint does not lint action metadata files, so action.yml's composite steps are checked
inside a workflow made for the purpose: its inputs become workflow_call inputs (so every
`inputs.X` must be declared) and its outputs' values are read by a last step (so every
`steps.ID` they name must exist).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.ci.conftest import REPO, SCRIPTS, WORKFLOWS

TOOLS_BIN = REPO / ".ci" / "tools" / "bin"
WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.y*ml"))

KNOWN_BAD = """\
on: pull_request
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depht: 0
      - run: echo "${{ github.event.pull_request.title }}"
"""


def tool(name: str) -> str:
    found = shutil.which(name) or (str(TOOLS_BIN / name) if (TOOLS_BIN / name).exists() else None)
    if found:
        return found
    reason = f"{name} is not installed: run `bash .ci/install-actionlint.sh` (it installs into .ci/tools/)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; under CI it is required")
    pytest.skip(reason)


def action_as_workflow() -> str:
    yaml = YAML()
    action = yaml.load((REPO / "action.yml").read_text())
    inputs = {name: {"type": "string", "required": bool(spec.get("required", False)),
                     **({"default": str(spec["default"])} if "default" in spec else {})}
              for name, spec in action["inputs"].items()}
    steps = [dict(step) for step in action["runs"]["steps"]]
    steps.append({"name": "read the action's outputs", "run": "true",
                  "env": {f"OUT_{i}": spec["value"] for i, spec in enumerate(action["outputs"].values())}})
    workflow = {"on": {"workflow_call": {"inputs": inputs}},
                "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": steps}}}
    return json.dumps(workflow, indent=1)  # JSON is YAML, and keeps line numbers meaningful enough


def docs_example() -> str:
    """The full example workflow of docs/ci.md (its ```yaml block with `on:` and `jobs:`)."""
    blocks = re.findall(r"```yaml\n(.*?)```", (REPO / "docs" / "ci.md").read_text(), re.S)
    full = [b for b in blocks if re.search(r"^on:", b, re.M) and re.search(r"^jobs:", b, re.M)]
    assert len(full) == 1, "docs/ci.md should hold one full example workflow"
    return full[0]


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict]]:
    """actionlint's findings per file, for the workflows, action.yml and a known-bad file (one run)."""
    actionlint = tool("actionlint")
    tmp = tmp_path_factory.mktemp("actionlint")
    action = tmp / "action-yml-as-workflow.yml"
    action.write_text(action_as_workflow())
    bad = tmp / "known-bad.yml"
    bad.write_text(KNOWN_BAD)
    docs = tmp / "docs-ci-example.yml"
    docs.write_text(docs_example())
    files = [*map(str, WORKFLOW_FILES), str(action), str(bad), str(docs)]
    proc = subprocess.run([actionlint, "-format", "{{json .}}", *files], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert proc.returncode in (0, 1), f"actionlint failed to run ({proc.returncode}): {proc.stderr}"
    by_file: dict[str, list[dict]] = {f: [] for f in files}
    for finding in json.loads(proc.stdout or "[]"):
        by_file.setdefault(finding["filepath"], []).append(finding)
    by_file["action.yml"] = by_file.pop(str(action))
    by_file["known-bad"] = by_file.pop(str(bad))
    by_file["docs/ci.md"] = by_file.pop(str(docs))
    return by_file


def show(found: list[dict]) -> str:
    return "\n".join(f"{f['filepath']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]" for f in found)


def test_the_four_workflows_exist():
    assert {p.name for p in WORKFLOW_FILES} >= {"pr.yml", "deploy-staging.yml", "promote-prod.yml", "drift.yml"}


@pytest.mark.parametrize("workflow", WORKFLOW_FILES, ids=lambda p: p.name)
def test_workflow_has_no_actionlint_findings(findings: dict[str, list[dict]], workflow: Path):
    found = findings[str(workflow)]
    assert not found, "actionlint:\n" + show(found)


def test_action_yml_has_no_actionlint_findings(findings: dict[str, list[dict]]):
    found = findings["action.yml"]
    assert not found, "actionlint (action.yml's steps in a workflow):\n" + show(found)


def test_docs_example_workflow_has_no_actionlint_findings(findings: dict[str, list[dict]]):
    found = findings["docs/ci.md"]
    assert not found, "actionlint (docs/ci.md's example):\n" + show(found)


def test_docs_example_uses_only_real_action_inputs():
    yaml = YAML(typ="safe")
    inputs = set(yaml.load((REPO / "action.yml").read_text())["inputs"])
    example = yaml.load(docs_example())
    used = [step for job in example["jobs"].values() for step in job["steps"]
            if step.get("uses", "").endswith("/twideploy@v1")]
    assert len(used) == 3
    for step in used:
        assert set(step["with"]) <= inputs, set(step["with"]) - inputs


def test_actionlint_does_find_problems(findings: dict[str, list[dict]]):
    """The linter is really checking: a file with two known mistakes gets both reported."""
    messages = " ".join(f["message"] for f in findings["known-bad"])
    assert '"fetch-depht" is not defined' in messages
    assert "potentially untrusted" in messages


# --------------------------------------------------------------------------- shellcheck


def run_blocks() -> list[tuple[str, str]]:
    """(where, script) for every `run:` of the workflows and of action.yml."""
    yaml = YAML()
    blocks = []
    for path in [*WORKFLOW_FILES, REPO / "action.yml"]:
        doc = yaml.load(path.read_text())
        jobs = doc["jobs"].items() if "jobs" in doc else [("runs", doc["runs"])]
        for job_name, job in jobs:
            for index, step in enumerate(job.get("steps", [])):
                if "run" in step:
                    blocks.append((f"{path.name} {job_name} step {index + 1} ({step.get('name', '')})", step["run"]))
    return blocks


def shell_files() -> list[Path]:
    return sorted(SCRIPTS.glob("*.sh")) + sorted((REPO / ".ci").glob("*.sh"))


def test_shell_scripts_pass_shellcheck():
    shellcheck = tool("shellcheck")
    files = shell_files()
    assert len(files) >= 5
    proc = subprocess.run([shellcheck, "--shell=bash", "--severity=style", *map(str, files)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_run_blocks_pass_shellcheck(tmp_path: Path):
    """Like actionlint's shellcheck rule: `${{ }}` becomes a placeholder, bash -e as on GitHub."""
    shellcheck = tool("shellcheck")
    blocks = run_blocks()
    assert len(blocks) >= 10
    files = []
    for index, (where, script) in enumerate(blocks):
        path = tmp_path / f"run-{index}.sh"
        body = re.sub(r"\$\{\{.*?\}\}", "_EXPR_", script)
        path.write_text(f"#!/usr/bin/env bash\n# {where}\nset -eo pipefail\n{body}\n")
        files.append(path)
    proc = subprocess.run([shellcheck, "--severity=style", *map(str, files)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_shellcheck_does_find_problems(tmp_path: Path):
    shellcheck = tool("shellcheck")
    bad = tmp_path / "bad.sh"
    bad.write_text('#!/usr/bin/env bash\nfile=$1\ncat $file\n')
    proc = subprocess.run([shellcheck, str(bad)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "SC2086" in proc.stdout
