"""No secret value, current or earlier, appears in any output or in any file under the project.

One scenario runs every command in every format against one external emulator (its database
outside the project, so that every file under the project can be searched): secret service
variables, a secret var used in flows, and the emulator's auth token (the credential) are set
to distinctive values, applied, then rotated (and one secret variable made a plain value), and
plan, drift, export, promote, a failing apply that rolls back, apply, rollback, a prune of a
flow that holds a secret, and history run on the account still holding the earlier values.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from twideploy import deploy
from twideploy.emulator import Emulator, FaultConfig
from twideploy.errors import ApplyError
from twideploy.secrets import Secret
from twideploy.twilio_api.gateway import Credentials, Gateway

from .helpers import add_secret_pin_var, edit_yaml, emulator_gateway, open_ws, run, tier_condition
from .snapshot import account_state

STAGING_SID = "AC" + "5" * 32
PROD_SID = "AC" + "7" * 32

CREDENTIAL = "credEMUtoken7Q"
PIN = ("pinLOCALold1X", "pinLOCALnew2Y")  # a secret var of local used in flows, before and after rotation
TOKEN = ("tokLOCALold1X", "tokLOCALnew2Y")  # a secret service variable of local
DOOR = "doorLOCALold1X"  # a secret service variable of local that becomes a plain value
STAGE_PIN = ("pinSTAGEold1X", "pinSTAGEnew2Y")  # staging's and prod's pin, from the process environment
STAGE_TOKEN = "tokSTAGEenv1X"
STAGE_DOOR = "doorSTAGEenv1X"
SECRETS = [CREDENTIAL, *PIN, *TOKEN, DOOR, *STAGE_PIN, STAGE_TOKEN, STAGE_DOOR]

PIN_FLOW = """\
friendly_name: {friendly}
status: published
states:
  - name: Trigger
    type: trigger
    properties: {{offset: {{x: 0, y: 0}}}}
    transitions:
      - {{event: incomingCall, next: check_pin}}
  - name: check_pin
    type: make-http-request
    properties:
      method: POST
      url: https://pins.example.com/check
      content_type: application/x-www-form-urlencoded;charset=utf-8
      parameters:
        - {{key: pin, value: "${{vars.pin}}"}}
      offset: {{x: 0, y: 200}}
    transitions:
      - {{event: success, next: say_pin}}
      - {{event: failed}}
  - name: say_pin
    type: say-play
    properties:
      say: "Your PIN is ${{vars.pin}}. Goodbye."
      offset: {{x: 0, y: 400}}
    transitions:
      - {{event: audioComplete}}
"""


class Outputs:
    """Every command's output, checked as it comes, with its exit code."""

    def __init__(self, project_dir: Path):
        self.project_dir = project_dir
        self.seen: list[str] = []

    def __call__(self, *args: str, codes: tuple[int, ...] = (0,), project: Path | None = None) -> str:
        code, out = run(project or self.project_dir, *args)
        assert code in codes, f"{' '.join(args)}: exit {code}\n{out}"
        assert "Traceback" not in out, out
        check(out, " ".join(args))
        self.seen.append(out)
        return out


def check(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{where}: holds the secret {secret}"


@pytest.fixture
def secrets_project(project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The example project with secrets everywhere, on an emulator whose auth token is a secret."""
    with Emulator(tmp_path / "emulator.sqlite", auth_token=CREDENTIAL) as emu:
        monkeypatch.setenv("TWIDEPLOY_EMULATOR_URL", emu.base_url)
        monkeypatch.setenv("TWIDEPLOY_EMULATOR_AUTH_TOKEN", CREDENTIAL)
        monkeypatch.delenv("TWIDEPLOY_EMULATOR_ACCOUNT_SID", raising=False)
        for var in ("CI", "GITHUB_ACTIONS"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("PIN", STAGE_PIN[0])
        monkeypatch.setenv("CRM_TOKEN", STAGE_TOKEN)
        monkeypatch.setenv("DOOR_CODE", STAGE_DOOR)
        monkeypatch.setenv("LOCAL_PIN", PIN[0])
        monkeypatch.setenv("LOCAL_TOKEN", TOKEN[0])
        monkeypatch.setenv("LOCAL_DOOR", DOOR)
        for name in ("pin-line", "pin-extra"):
            (project_dir / f"flows/{name}.yaml").write_text(PIN_FLOW.format(friendly=name.replace("-", " ").title()))

        def base(env):
            env["vars"]["pin"] = {"secret": "${env:PIN}"}
            env["services"]["crm"]["variables"]["DOOR_CODE"] = {"secret": "${env:DOOR_CODE}"}
            env["flows"].append("pin-line")

        def local(env):  # secrets from the process environment: no file of the project holds one
            env["vars"]["pin"] = {"secret": "${env:LOCAL_PIN}"}
            env["services"]["crm"]["variables"]["CRM_TOKEN"] = {"secret": "${env:LOCAL_TOKEN}"}
            env["services"]["crm"]["variables"]["DOOR_CODE"] = {"secret": "${env:LOCAL_DOOR}"}
            env["flows"].append("pin-line")

        edit_yaml(project_dir / "environments/base.yaml", base)
        edit_yaml(project_dir / "environments/local.yaml", local)
        for name, sid in (("staging", STAGING_SID), ("prod", PROD_SID)):
            def emulated(env, sid=sid):
                del env["account"]
                env["target"] = "emulator"
                env["emulator"] = {"account_sid": sid}
            edit_yaml(project_dir / f"environments/{name}.yaml", emulated)
        yield emu


def test_no_secret_in_any_output_or_file(secrets_project: Emulator, project_dir: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch):
    cli = Outputs(project_dir)
    plans = project_dir / "plans"

    # the first deploy, with the first values
    cli("validate")
    cli("validate", "--format", "json")
    cli("validate", "--env", "local", "--env", "staging")
    cli("plan", "--env", "local", "--out", str(plans / "first.json"))
    cli("apply", "--env", "local", "--auto-approve")
    cli("apply", "--env", "staging", "--auto-approve")

    # rotation: new values for the secrets; DOOR_CODE becomes a plain value
    edit_yaml(project_dir / "environments/local.yaml",
              lambda env: env["services"]["crm"]["variables"].__setitem__("DOOR_CODE", "door-now-plain"))
    monkeypatch.setenv("LOCAL_PIN", PIN[1])
    monkeypatch.setenv("LOCAL_TOKEN", TOKEN[1])
    monkeypatch.setenv("PIN", STAGE_PIN[1])

    # the account still holds the earlier values: every view of it
    text = cli("plan", "--env", "local", "-v")
    assert 'say_pin.say: "***" -> "***"' in text and "-> 'http://localhost:8081'" not in text, text
    assert "value: '(sensitive value)' -> 'door-now-plain'" in text, text
    cli("plan", "--env", "local", "--format", "json")
    cli("plan", "--env", "local", "--format", "markdown")
    cli("plan", "--env", "local", "--out", str(plans / "rotation.json"), codes=(0,))
    for fmt in ("text", "json", "markdown"):
        cli("drift", "--env", "local", "--format", fmt, codes=(2,))
    exported = tmp_path / "exported"
    shutil.copytree(project_dir, exported)
    text = cli("export", "--env", "local", project=exported)
    assert "${vars.pin}" in (exported / "flows/pin-line.yaml").read_text()
    cli("promote", "--from", "staging", "--to", "prod", "--auto-approve")
    cli("promote", "--from", "staging", "--to", "prod", "--format", "markdown", "--auto-approve")
    prod = Gateway(Credentials(PROD_SID, PROD_SID, Secret(CREDENTIAL)), base_url=secrets_project.base_url)
    promoted = json.dumps(account_state(prod)["flows"]["Pin Line"]["definition"])
    assert STAGE_PIN[1] in promoted and STAGE_PIN[0] not in promoted  # prod's pin, not staging's earlier one

    # a failing apply rolls back: the create of the new flow fails (with 2 variable updates and
    # pin-line's update made side by side)
    edit_yaml(project_dir / "environments/local.yaml", lambda env: env["flows"].append("pin-extra"))
    secrets_project.set_faults(FaultConfig(fail_writes_matching=("^POST /v2/Flows .*FriendlyName=Pin Extra",)))
    text = cli("apply", "--env", "local", "--auto-approve", codes=(1,))
    assert "every change made was rolled back" in text and "flow.pin-line" in text, text
    secrets_project.set_faults(FaultConfig())

    # the saved plan is stale (its HMACs still tell the variables apart); then apply and undo it
    cli("apply", str(plans / "rotation.json"), codes=(1,))
    cli("apply", "--env", "local", "--auto-approve")
    monkeypatch.setenv("TWIDEPLOY_RESTORE_CRM_CRM_TOKEN", TOKEN[0])
    monkeypatch.setenv("TWIDEPLOY_RESTORE_CRM_DOOR_CODE", DOOR)
    cli("rollback", "--env", "local", "--auto-approve")
    cli("apply", "--env", "local", "--auto-approve")

    # a pruned flow that holds a secret: its definition stays out of the journal
    edit_yaml(project_dir / "environments/local.yaml",
              lambda env: env.__setitem__("flows", [f for f in env["flows"] if f != "pin-extra"]))
    cli("apply", "--env", "local", "--auto-approve")
    text = cli("rollback", "--env", "local", "--auto-approve", codes=(1,))
    assert "may hold a secret value, so its definition was not journalled" in text, text

    for fmt in ("text", "json"):
        cli("history", "--env", "local", "--format", fmt)
    for fmt in ("text", "json", "markdown"):
        cli("drift", "--env", "local", "--format", fmt, codes=(0, 2))

    files = [p for root in (project_dir, exported) for p in root.rglob("*") if p.is_file()]
    assert any(".twideploy/journal" in str(p) for p in files) and any("cache" in str(p) for p in files)
    assert len(list(plans.glob("*.json"))) == 2
    for path in files:
        check(path.read_bytes().decode("latin-1"), str(path))


def test_a_plan_file_gives_no_variable_value_away(project_dir: Path, tmp_path: Path, cli_env: Emulator):
    """A plan file holds variable values only as HMACs with a key kept in .twideploy/plan-key (0600):
    the SIDs and keys it holds are not enough to try every 6-digit value."""
    edit_yaml(project_dir / "environments/local.yaml",
              lambda env: env["services"]["crm"]["variables"].__setitem__("CRM_TOKEN", {"secret": "483920"}))
    run(project_dir, "apply", "--env", "local", "--auto-approve")
    saved = tmp_path / "plan.json"
    assert run(project_dir, "plan", "--env", "local", "--out", str(saved))[0] == 0
    fingerprint = json.loads(saved.read_text())["fingerprint"]
    [(service_sid, held)] = [(s["sid"], s["variables"]["CRM_TOKEN"]) for s in fingerprint["services"].values()]

    def sha(*parts: str) -> str:  # how the value was hashed before: sha256 salted with the service SID
        h = hashlib.sha256()
        for part in parts:
            h.update(part.encode() + b"\0")
        return h.hexdigest()

    assert sha(service_sid, "CRM_TOKEN", "483920") != held
    assert held not in {sha(service_sid, "CRM_TOKEN", f"{n:06d}") for n in range(1_000_000)}
    key = project_dir / ".twideploy" / "plan-key"
    assert key.stat().st_mode & 0o077 == 0 and key.read_bytes().hex() not in saved.read_text()


def test_a_variable_changed_after_the_plan_makes_it_stale(project_dir: Path, tmp_path: Path, cli_env: Emulator):
    """The HMACs still tell values apart: a secret set by hand after the plan is noticed."""
    run(project_dir, "apply", "--env", "local", "--auto-approve")
    edit_yaml(project_dir / "environments/local.yaml",
              lambda env: env["services"]["crm"]["variables"].__setitem__("CRM_TOKEN", {"secret": "tok-planned"}))
    saved = tmp_path / "plan.json"
    assert run(project_dir, "plan", "--env", "local", "--out", str(saved))[0] == 0
    api = open_ws(project_dir, cli_env).gateway.client.serverless.v1
    [service] = api.services.list()
    [environment] = api.services(service.sid).environments.list()
    variables = api.services(service.sid).environments(environment.sid).variables
    [token] = [v for v in variables.list() if v.key == "CRM_TOKEN"]
    variables(token.sid).update(value="tok-set-by-hand")
    code, out = run(project_dir, "apply", str(saved))
    assert code == 1 and "service crm changed" in out and "changed since the plan was made" in out, out


def with_pin_flow(project_dir: Path, pin: str) -> None:
    """local deploys pin-line, which says the secret var pin."""
    (project_dir / "flows/pin-line.yaml").write_text(PIN_FLOW.format(friendly="Pin Line"))

    def local(env):
        env["vars"]["pin"] = {"secret": pin}
        if "pin-line" not in env["flows"]:
            env["flows"].append("pin-line")

    edit_yaml(project_dir / "environments/local.yaml", local)


def pin_line(project_dir: Path, emulator: Emulator) -> dict:
    return account_state(open_ws(project_dir, emulator).gateway)["flows"]["Pin Line"]


def journals_of(project_dir: Path) -> str:
    return "".join(p.read_text() for p in sorted((project_dir / ".twideploy/journal/local").glob("*.jsonl")))


def test_a_flow_update_is_undone_from_its_revision_not_from_a_journalled_definition(project_dir, cli_env):
    with_pin_flow(project_dir, PIN[0])
    assert run(project_dir, "apply", "--env", "local", "--auto-approve")[0] == 0
    before = pin_line(project_dir, cli_env)
    with_pin_flow(project_dir, PIN[1])
    assert run(project_dir, "apply", "--env", "local", "--auto-approve")[0] == 0
    assert PIN[1] in json.dumps(pin_line(project_dir, cli_env)["definition"])
    journal = journals_of(project_dir)
    assert '"op": "flow.update"' in journal and '"definition"' not in journal and PIN[0] not in journal

    code, out = run(project_dir, "rollback", "--env", "local", "--auto-approve")
    assert code == 0 and "back to revision 1's definition" in out, out
    assert pin_line(project_dir, cli_env)["definition"] == before["definition"]


def test_a_pruned_flow_is_journalled_only_when_it_holds_no_secret(project_dir, cli_env):
    """Deleting a flow deletes its revisions, so undoing a prune needs its definition: it is
    journalled when it holds no secret twideploy knows of, else kept in memory for apply's own
    rollback only, and a later rollback says it cannot recreate the flow."""
    with_pin_flow(project_dir, PIN[0])
    (project_dir / "flows/plain-line.yaml").write_text(
        PIN_FLOW.format(friendly="Plain Line").replace("${vars.pin}", "1234"))
    edit_yaml(project_dir / "environments/local.yaml", lambda env: env["flows"].append("plain-line"))
    assert run(project_dir, "apply", "--env", "local", "--auto-approve")[0] == 0
    edit_yaml(project_dir / "environments/local.yaml",
              lambda env: env.__setitem__("flows", [f for f in env["flows"] if f not in ("pin-line", "plain-line")]))
    assert run(project_dir, "apply", "--env", "local", "--auto-approve")[0] == 0
    journal = journals_of(project_dir)
    assert journal.count('"op": "flow.delete"') == 2 and PIN[0] not in journal and "Your PIN is 1234" in journal

    code, out = run(project_dir, "rollback", "--env", "local", "--auto-approve")
    assert code == 1 and "NOT UNDONE flow.pin-line: flow Pin Line may hold a secret value" in out, out
    assert "recreated flow Plain Line" in out, out


def test_export_writes_the_var_where_a_secret_is_even_an_earlier_one(project_dir, cli_env):
    with_pin_flow(project_dir, PIN[0])
    assert run(project_dir, "apply", "--env", "local", "--auto-approve")[0] == 0
    with_pin_flow(project_dir, PIN[1])  # rotated, not applied: the live flow holds the earlier value
    flow = project_dir / "flows/pin-line.yaml"
    flow.write_text(flow.read_text().replace("Goodbye.", "Bye."))  # and the manifests changed around it
    code, out = run(project_dir, "export", "--env", "local")
    assert code == 0, out
    text = flow.read_text()
    assert PIN[0] not in text and 'value: "${vars.pin}"' in text, text
    assert "say_pin: properties.say holds a secret var in the manifests and differs live" in out, out
    assert "Your PIN is ${vars.pin}. Bye." in text  # the manifests' text, not the live one


def test_apply_s_own_rollback_recreates_a_pruned_flow_that_holds_a_secret(project_dir, emulator, parallelism):
    """Kept out of the journal, the definition is still in memory for apply's own rollback."""
    with_pin_flow(project_dir, PIN[0])
    extra = project_dir / "functions/crm/functions/extra.js"
    extra.write_text("exports.handler = (context, event, callback) => callback(null, 'extra');\n")
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions())
    edit_yaml(project_dir / "environments/local.yaml",
              lambda env: env.__setitem__("flows", [f for f in env["flows"] if f != "pin-line"]))
    extra.unlink()
    ws = open_ws(project_dir, emulator)
    ws.gateway = emulator_gateway(emulator, max_attempts=1, concurrency=parallelism)
    emulator.set_faults(FaultConfig(fail_nth_write=4))  # build, deployment, the flow's delete, then the function's
    with pytest.raises(ApplyError, match="every change made was rolled back") as failed:
        deploy.apply(ws, deploy.ApplyOptions())
    emulator.set_faults(FaultConfig())
    assert any("recreated flow Pin Line" in line for line in failed.value.rollback_report), failed.value.rollback_report
    assert PIN[0] in json.dumps(pin_line(project_dir, emulator)["definition"])
    assert PIN[0] not in journals_of(project_dir)


def test_a_secret_in_a_conditions_name_is_masked_in_the_transition_lines(project_dir, cli_env, monkeypatch):
    """Transitions are matched by their condition's friendly name, which the plan's line names
    (`check_tier --match(NAME)--> ...`): a secret var there, old or new, never shows."""
    pin = "pin5521secretQ"
    monkeypatch.setenv("LOCAL_PIN", pin)
    add_secret_pin_var(project_dir)

    def name_the_condition_with_the_pin(flow: dict) -> None:
        tier_condition(flow)["friendly_name"] = "tier ${vars.pin}"

    edit_yaml(project_dir / "flows/ivr-main.yaml", name_the_condition_with_the_pin)
    assert run(project_dir, "apply", "--env", "local", "--auto-approve")[0] == 0
    monkeypatch.setenv("LOCAL_PIN", pin + "rotated")  # the live condition's name holds the earlier value

    for output in ("text", "json", "markdown"):
        code, out = run(project_dir, "plan", "--env", "local", "--format", output)
        assert code == 0, out
        assert "check_tier" in out and pin not in out, out
        code, out = run(project_dir, "drift", "--env", "local", "--format", output)
        assert code == 2 and pin not in out, out
