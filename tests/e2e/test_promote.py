"""`twideploy promote`: staging -> prod across two emulator accounts, and from a git ref."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from twideploy import deploy
from twideploy.addresses import Address
from twideploy.cli.main import cli
from twideploy.emulator import Emulator
from twideploy.manifest import load_project
from twideploy.promote import promote
from twideploy.workspace import Workspace

from .helpers import commit_all, edited, emulator_gateway, last_journal_header, make_repo, run
from .snapshot import account_state

STAGING_SID = "AC" + "5" * 32
PROD_SID = "AC" + "7" * 32
SID = re.compile(r"\b(?:FW|ZS|ZE|ZH)[0-9a-f]{32}\b")


@pytest.fixture
def two_accounts(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """staging and prod as two emulator accounts (each environment file names its account)."""
    monkeypatch.setenv("CRM_TOKEN", "tok-promote-test")
    monkeypatch.delenv("TWIDEPLOY_EMULATOR_URL", raising=False)
    for var in ("CI", "GITHUB_ACTIONS"):
        monkeypatch.delenv(var, raising=False)
    yaml = YAML()
    for name, sid in (("staging", STAGING_SID), ("prod", PROD_SID)):
        path = project_dir / f"environments/{name}.yaml"
        env = yaml.load(path.read_text())
        env["target"] = "emulator"
        del env["account"]
        env["emulator"] = {"account_sid": sid}
        yaml.dump(env, path)
    return project_dir


def state_of(project_dir: Path, env: str, sid: str) -> dict:
    """The account of an in-process emulator environment, read after the CLI is done with it."""
    with Emulator(project_dir / f".twideploy/emulator/{env}.sqlite", account_sid=sid) as emu:
        return account_state(emulator_gateway(emu))


def staging_sids(state: dict) -> set[str]:
    text = json.dumps(state)
    sids = set(SID.findall(text))
    domains = set(re.findall(r"[a-z0-9-]+\.twil\.io", text))
    return sids | domains


def test_promote_recompiles_every_reference_for_prod(two_accounts, tmp_path):
    project = load_project(two_accounts)
    with Emulator(tmp_path / "staging.sqlite", account_sid=STAGING_SID) as staging, \
            Emulator(tmp_path / "prod.sqlite", account_sid=PROD_SID) as prod:
        for emu, env in ((staging, "staging"), (prod, "prod")):
            emu.seed_numbers(list(project.environment(env).numbers))
        gateways = {"staging": emulator_gateway(staging), "prod": emulator_gateway(prod)}
        deploy.apply(Workspace(project, project.environment("staging"), gateways["staging"]), deploy.ApplyOptions())
        # staging runs something the manifests do not say: promote takes what staging runs
        client = gateways["staging"].client
        [ivr] = [f for f in client.studio.v2.flows.list() if f.friendly_name == "Acme IVR"]
        ivr = client.studio.v2.flows(ivr.sid).fetch()
        staging.console_edit(ivr.sid, edited(ivr.definition, "goodbye", say="Goodbye from the staging console."),
                             "tested in staging")

        result = promote(project, to="prod", from_env="staging", gateways=gateways, git_sha="abc123")
        assert result.outcome and result.outcome.deploy_id
        origin = result.source.for_change(Address.parse("flow.ivr-main"))
        assert origin == "staging revision 2, edited outside twideploy: 'tested in staging'"
        assert result.source.for_change(Address.parse("flow.sms-bot")).startswith("staging revision 1 (deploy ")
        assert result.source.for_change(Address.parse("service.crm.function./lookup")).startswith("staging build ZB")

        before = account_state(gateways["staging"])
        after = account_state(gateways["prod"])
        forbidden = staging_sids(before)
        prod_flows = json.dumps({name: f["definition"] for name, f in after["flows"].items()})
        assert forbidden and not [s for s in forbidden if s in prod_flows]

        service = after["services"]["crm"]
        prod_env = service["environments"]["production"]
        functions = {f.friendly_name: f.sid for f in gateways["prod"].client.serverless.v1
                     .services(service["sid"]).functions.list()}
        domain = (
            gateways["prod"]
            .client.serverless.v1.services(service["sid"])
            .environments(prod_env["sid"])
            .fetch()
            .domain_name
        )
        states = {s["name"]: s for s in after["flows"]["Acme IVR"]["definition"]["states"]}
        call = states["lookup_caller"]["properties"]
        assert (call["service_sid"], call["environment_sid"], call["function_sid"], call["url"]) == \
            (service["sid"], prod_env["sid"], functions["/lookup"], f"https://{domain}/lookup")
        assert states["caller_details"]["properties"]["flow_sid"] == after["flows"]["Acme lookup caller"]["sid"]
        assert states["goodbye"]["properties"]["say"] == "Goodbye from the staging console."
        # vars are prod's: staging's greeting does not travel
        assert states["main_menu"]["properties"]["say"].startswith("Welcome to Acme{% if")
        assert "(staging)" not in prod_flows and "WWbbbbbbbb" in prod_flows and "WWaaaaaaaa" not in prod_flows
        assert prod_env["variables"]["CRM_URL"] == "https://crm.example.com"
        # numbers point at prod's flows and functions
        assert after["numbers"]["+15005550006"]["voice_url"] == \
            f"https://webhooks.twilio.com/v1/Accounts/{PROD_SID}/Flows/{after['flows']['Acme IVR']['sid']}"
        assert after["numbers"]["+15005550007"]["voice_url"] == f"https://{domain}/hello"

        revision = gateways["prod"].client.studio.v2.flows(after["flows"]["Acme IVR"]["sid"]).fetch()
        assert revision.commit_message.startswith(f"twideploy deploy {result.outcome.deploy_id} git abc123 ")
        again = promote(project, to="prod", from_env="staging", gateways=gateways)
        assert again.outcome.deploy_id is None and not again.planned.plan.has_changes


def test_promote_cli_markdown_tag_and_history(two_accounts):  # noqa: PLR0915
    repo = make_repo(two_accounts)
    assert run(two_accounts, "apply", "--env", "staging", "--auto-approve")[0] == 0
    result = CliRunner().invoke(cli, ["promote", "--from", "staging", "--to", "prod", "--auto-approve", "--format",
                                      "markdown", "--tag", "--project-dir", str(two_accounts)])
    code, out = result.exit_code, result.stdout
    assert code == 0, result.output
    # stdout is the markdown alone (for a PR comment); progress, one line per wave, goes to stderr
    assert out.startswith("<!-- twideploy-plan -->\n### twideploy promote staging → prod: `prod`")
    assert "promoting: wave 1/" in result.stderr and "wave" not in out
    sha = repo.head.commit.hexsha
    assert re.search(rf"\| `flow.ivr-main` \| staging revision 1 \(deploy \S+, git {sha}\) \|", out)
    header = last_journal_header(two_accounts, "prod")
    assert f"**Applied** as deploy `{header['deploy_id']}`" in out
    assert header["git_sha"] == sha and f"twideploy/prod/{header['deploy_id']}" in repo.tags

    prod = state_of(two_accounts, "prod", PROD_SID)
    assert set(prod["flows"]) == {"Acme IVR", "Acme SMS bot", "Acme lookup caller"}
    staging = state_of(two_accounts, "staging", STAGING_SID)
    assert not [s for s in staging_sids(staging) if s in json.dumps(prod["flows"])]

    code, out = run(two_accounts, "history", "--env", "prod", "--format", "json")
    assert code == 0 and json.loads(out)["deploys"][0]["tag"] == f"twideploy/prod/{header['deploy_id']}"
    code, out = run(two_accounts, "promote", "--from", "staging", "--to", "prod", "--auto-approve")
    assert code == 0 and "No changes" in out
    code, out = run(two_accounts, "promote", "--from", "staging", "--to", "staging", "--auto-approve")
    assert code == 1 and "same environment" in out


def test_promote_ref_deploys_an_older_commit(two_accounts):
    repo = make_repo(two_accounts, "v1")
    first = repo.head.commit.hexsha
    repo.create_tag("v1")
    flow = two_accounts / "flows/ivr-main.yaml"
    flow.write_text(flow.read_text().replace("Thank you for calling Acme. Goodbye.", "Version two says goodbye."))
    second = commit_all(repo, "v2")

    code, out = run(two_accounts, "promote", "--to", "prod", "--ref", "v1", "--auto-approve")
    assert code == 0, out
    assert f"the manifests at git v1 ({first})" in out and f"flow.ivr-main  <-  git v1 ({first[:12]})" in out
    goodbye = _goodbye(state_of(two_accounts, "prod", PROD_SID))
    assert goodbye == "Thank you for calling Acme. Goodbye."
    assert last_journal_header(two_accounts, "prod")["git_sha"] == first
    assert "Version two says goodbye." in flow.read_text() and not repo.is_dirty()  # no checkout happened

    code, out = run(two_accounts, "promote", "--to", "prod", "--ref", second[:10], "--auto-approve")
    assert code == 0, out
    assert _goodbye(state_of(two_accounts, "prod", PROD_SID)) == "Version two says goodbye."
    code, out = run(two_accounts, "promote", "--to", "prod", "--ref", "no-such-tag", "--auto-approve")
    assert code == 1 and "unknown git ref 'no-such-tag'" in out


def _goodbye(state: dict) -> str:
    states = {s["name"]: s for s in state["flows"]["Acme IVR"]["definition"]["states"]}
    return states["goodbye"]["properties"]["say"]


def test_promote_refuses_manifests_that_validate_rejects(two_accounts):
    assert run(two_accounts, "apply", "--env", "staging", "--auto-approve")[0] == 0
    prod = two_accounts / "environments/prod.yaml"
    prod.write_text(prod.read_text() + "flows: [ivr-main, subflows/lookup-caller]\n")  # sms-bot still bound to a number
    assert run(two_accounts, "validate", "--env", "prod")[0] == 1

    code, out = run(two_accounts, "promote", "--from", "staging", "--to", "prod", "--auto-approve")
    assert code == 1 and "flow 'sms-bot' is not in this environment's flows list" in out, out
    assert "rolled back" not in out
    make_repo(two_accounts, "prod without sms-bot")
    code, out = run(two_accounts, "promote", "--to", "prod", "--ref", "HEAD", "--auto-approve")
    assert code == 1 and "flow 'sms-bot' is not in this environment's flows list" in out, out
    assert state_of(two_accounts, "prod", PROD_SID)["flows"] == {}  # nothing reached prod
