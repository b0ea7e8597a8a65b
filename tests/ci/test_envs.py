"""`twideploy envs`: the environment list CI matrices are built from."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from tests.ci.conftest import copy_project
from twideploy.cli.main import cli


def envs(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["envs", *args])
    return result.exit_code, result.output


def test_json_matrix_of_the_twilio_environments(project: Path):
    code, out = envs("--json", "--target", "twilio", "--project-dir", str(project))
    assert code == 0, out
    assert out.count("\n") == 1  # one line: `echo "matrix=$(...)" >> $GITHUB_OUTPUT` needs it
    assert json.loads(out) == [
        {"name": "prod", "target": "twilio", "state": "account", "file": "environments/prod.yaml"},
        {"name": "staging", "target": "twilio", "state": "account", "file": "environments/staging.yaml"},
    ]  # sorted; `base` (abstract: true) and `local` (emulator) left out


def test_all_environments_and_the_emulator_filter(project: Path):
    code, out = envs("--json", "--project-dir", str(project))
    assert code == 0, out
    assert [(e["name"], e["target"]) for e in json.loads(out)] == [
        ("local", "emulator"), ("prod", "twilio"), ("staging", "twilio")]
    code, out = envs("--json", "--target", "emulator", "--project-dir", str(project))
    assert [e["name"] for e in json.loads(out)] == ["local"]


def test_text_lists_one_name_per_line(project: Path):
    code, out = envs("--target", "twilio", "--project-dir", str(project))
    assert code == 0
    assert out.splitlines() == ["prod", "staging"]


def test_new_environment_files_join_the_matrix(project: Path):
    """Fan-out over subaccounts: one more environments/<name>.yaml is one more matrix entry."""
    for name in ("tenant-a", "tenant-b"):
        shutil.copy(project / "environments" / "staging.yaml", project / "environments" / f"{name}.yaml")
    code, out = envs("--json", "--target", "twilio", "--project-dir", str(project))
    assert code == 0, out
    assert [e["name"] for e in json.loads(out)] == ["prod", "staging", "tenant-a", "tenant-b"]
    assert json.loads(out)[2]["file"] == "environments/tenant-a.yaml"


def test_needs_no_credentials(project: Path, monkeypatch):
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_API_KEY", "TWILIO_API_SECRET", "CRM_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    code, out = envs("--json", "--target", "twilio", "--project-dir", str(project))
    assert code == 0, out


def test_a_broken_project_is_an_error(tmp_path: Path):
    project = copy_project(tmp_path / "broken")
    (project / "environments" / "staging.yaml").write_text("target: twilio\nunknown_key: 1\n")
    code, out = envs("--json", "--project-dir", str(project))
    assert code == 1
    assert "environments/staging.yaml" in out
