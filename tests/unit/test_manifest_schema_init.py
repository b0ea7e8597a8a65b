"""JSON Schemas from the models, `twideploy schema`, `twideploy init` and its scaffold."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from twideploy.cli.init import scaffold_files
from twideploy.cli.main import cli
from twideploy.manifest import load_project
from twideploy.manifest.models import KINDS, json_schema
from twideploy.manifest.validation import validate_directory
from twideploy.manifest.widgets import WIDGETS

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_PARTS = ("twideploy.yaml", "environments", "flows", "functions")
EXAMPLES = {
    "project": ["twideploy.yaml"],
    "environment": ["environments/base.yaml", "environments/local.yaml", "environments/staging.yaml",
                    "environments/prod.yaml"],
    "flow": ["flows/ivr-main.yaml", "flows/sms-bot.json", "flows/subflows/lookup-caller.yaml"],
    "service": ["functions/crm/service.yaml"],
}


def load(path: Path):
    return json.loads(path.read_text()) if path.suffix == ".json" else YAML(typ="safe").load(path.read_text())


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_schemas_are_valid_and_accept_the_example(kind):
    schema = json_schema(kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"].endswith(f"/{kind}.schema.json")
    for rel in EXAMPLES[kind]:
        jsonschema.validate(load(REPO / rel), schema, cls=jsonschema.Draft202012Validator)


def test_schemas_reject_what_validate_rejects():
    validator = jsonschema.Draft202012Validator
    with pytest.raises(jsonschema.ValidationError, match="'colour' was unexpected"):
        jsonschema.validate(
            {"name": "x", "default_environment": "y", "colour": 1}, json_schema("project"), cls=validator
        )
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"target": "sandbox"}, json_schema("environment"), cls=validator)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"numbers": {"+15005550006": {"voice": "ftp://x"}}}, json_schema("environment"), cls=validator
        )
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"vars": {"t": {"secret": "x", "extra": 1}}}, json_schema("environment"), cls=validator)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"runtime": "node16"}, json_schema("service"), cls=validator)
    flow = {"states": [{"name": "T", "type": "not-a-widget"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(flow, json_schema("flow"), cls=validator)
    state_schema = json_schema("flow")["$defs"]["StateSpec"]["properties"]["type"]
    assert set(state_schema["enum"]) == set(WIDGETS)


def test_schema_command_prints_and_writes(tmp_path):
    runner = CliRunner()
    one = runner.invoke(cli, ["schema", "--kind", "service"])
    assert one.exit_code == 0
    assert json.loads(one.output) == json_schema("service")
    everything = json.loads(runner.invoke(cli, ["schema"]).output)
    assert set(everything) == set(KINDS)
    written = runner.invoke(cli, ["schema", "--out", str(tmp_path / "schemas")])
    assert written.exit_code == 0
    files = sorted(p.name for p in (tmp_path / "schemas").iterdir())
    assert files == ["environment.schema.json", "flow.schema.json", "project.schema.json", "service.schema.json"]
    assert json.loads((tmp_path / "schemas/flow.schema.json").read_text()) == json_schema("flow")


def _repository_example() -> dict[str, bytes]:
    files = {}
    for part in EXAMPLE_PARTS:
        path = REPO / part
        for file in ([path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())):
            if not any(s.startswith(".") or s == "__pycache__" for s in file.relative_to(REPO).parts):
                files[file.relative_to(REPO).as_posix()] = file.read_bytes()
    return files


def test_scaffold_is_the_repository_example_through_links_not_a_copy():
    """One copy in git: twideploy/scaffold/ holds only links to the example at the root."""
    scaffold = REPO / "twideploy" / "scaffold"
    assert sorted(p.name for p in scaffold.iterdir()) == sorted(EXAMPLE_PARTS)
    for part in EXAMPLE_PARTS:
        assert (scaffold / part).is_symlink(), f"twideploy/scaffold/{part} must link to ../../{part}"
        assert (scaffold / part).resolve() == (REPO / part).resolve()
    assert scaffold_files() == _repository_example()


def test_a_built_wheel_ships_the_example_as_real_files(tmp_path):
    """`pip wheel` follows the links: an installed wheel has the example, byte for byte."""
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    [wheel] = tmp_path.glob("twideploy-*.whl")
    prefix = "twideploy/scaffold/"
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name[len(prefix):]: archive.read(name) for name in archive.namelist()
                   if name.startswith(prefix) and not name.endswith("/")}
    assert shipped == _repository_example()


def test_init_creates_a_valid_project_with_schemas(tmp_path):
    target = tmp_path / "new"
    result = CliRunner().invoke(cli, ["init", str(target)])
    assert result.exit_code == 0, result.output
    assert (target / "schemas" / "environment.schema.json").is_file()
    assert json.loads((target / "schemas/flow.schema.json").read_text()) == json_schema("flow")
    assert (target / "flows/ivr-main.yaml").read_bytes() == (REPO / "flows/ivr-main.yaml").read_bytes()
    assert validate_directory(target, None) == []
    assert load_project(target).name == "acme-contact-center"
    # the modelines in the example point at the schemas init wrote
    first = (target / "environments/local.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schemas/environment.schema.json"
    assert (target / "environments" / "../schemas/environment.schema.json").resolve().is_file()


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path):
    target = tmp_path / "existing"
    (target / "flows").mkdir(parents=True)
    (target / "flows/ivr-main.yaml").write_text("mine\n")
    result = CliRunner().invoke(cli, ["init", str(target)])
    assert result.exit_code == 1
    assert "refusing to overwrite existing files" in result.output and "flows/ivr-main.yaml" in result.output
    assert (target / "flows/ivr-main.yaml").read_text() == "mine\n"
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == ["flows", "flows/ivr-main.yaml"]


def test_init_keeps_twideploy_state_out_of_git(tmp_path):
    fresh, existing = tmp_path / "fresh", tmp_path / "existing"
    existing.mkdir()
    (existing / ".gitignore").write_text("node_modules/\n")
    for target in (fresh, existing):
        assert CliRunner().invoke(cli, ["init", str(target)]).exit_code == 0
    assert (fresh / ".gitignore").read_text() == ".twideploy/\n"
    assert (existing / ".gitignore").read_text() == "node_modules/\n.twideploy/\n"
