"""Service folders `functions/crm` and `functions/crm.v2` in one project: each service's changes
are its own, in apply, in the journal and in both rollbacks (automatic and `twideploy rollback`).

Before addresses were typed, `service.crm.` also matched `service.crm.v2.function./x`, so apply
handed crm.v2's changes to crm and failed with `error: apply failed: ('function', '/x')`.
"""

from __future__ import annotations

import json
import shutil

import pytest

from twideploy import deploy
from twideploy.addresses import Address
from twideploy.emulator import FaultConfig

from .helpers import edit_yaml, open_ws, run
from .snapshot import account_state


def _journal_steps(project_dir) -> list[dict]:
    """The intents of the newest local deploy journal, as written."""
    newest = sorted((project_dir / ".twideploy" / "journal" / "local").glob("*.jsonl"))[-1]
    entries = [json.loads(line) for line in newest.read_text().splitlines()]
    return [e for e in entries if e.get("type") == "intent"]


@pytest.fixture
def two_services(project_dir, cli_env):
    """The example applied without sms-bot; then the manifests add the service folder crm.v2 (a
    copy of crm with one more function, /x) and sms-bot, whose flow create is apply's last write.
    Returns the account state before and the number of writes that apply makes."""
    def baseline(env):
        env["flows"].remove("sms-bot")
        env["numbers"]["+15005550006"]["sms"] = "https://example.com/sms"

    edit_yaml(project_dir / "environments/local.yaml", baseline)
    assert run(project_dir, "apply", "--env", "local", "--auto-approve")[0] == 0
    before = account_state(open_ws(project_dir, cli_env).gateway)

    v2 = project_dir / "functions" / "crm.v2"
    shutil.copytree(project_dir / "functions" / "crm", v2)
    edit_yaml(v2 / "service.yaml", lambda service: service.update(unique_name="crm-v2"))
    (v2 / "functions" / "x.js").write_text("exports.handler = (context, event, callback) => callback(null, 'x');\n")

    def with_v2(env):
        env["flows"].append("sms-bot")
        env["services"]["crm.v2"] = {"environment": "dev", "domain_suffix": "v2",
                                     "variables": {"CRM_URL": "https://v2.example.com"}}

    edit_yaml(project_dir / "environments/local.yaml", with_v2)
    return before


def test_crm_and_crm_v2_deploy_and_roll_back(project_dir, cli_env, two_services):
    plan = deploy.plan(open_ws(project_dir, cli_env)).plan
    v2 = {str(c.address) for c in plan.actionable if c.address.owner == "crm.v2"}
    assert {"service.crm.v2", "service.crm.v2.function./x", "service.crm.v2.build",
            "service.crm.v2.variable.CRM_URL"} <= v2
    assert not [c for c in plan.actionable if c.address.owner == "crm"]  # crm itself is unchanged

    code, out = run(project_dir, "apply", "--env", "local", "--auto-approve")
    assert code == 0, out
    state = account_state(open_ws(project_dir, cli_env).gateway)
    assert state["services"]["crm-v2"]["functions"] == ["/hello", "/lookup", "/x"]
    assert state["services"]["crm"] == two_services["services"]["crm"]
    creates = {(s["op"], s["address"]) for s in _journal_steps(project_dir)}
    assert ("function.create", "service.crm.v2.function./x") in creates
    assert ("deployment.create", "service.crm.v2.build") in creates
    assert not [a for _, a in creates if Address.parse(a).owner == "crm"]
    assert not deploy.plan(open_ws(project_dir, cli_env)).plan.has_changes

    code, out = run(project_dir, "rollback", "--env", "local", "--auto-approve")
    assert code == 0, out
    assert account_state(open_ws(project_dir, cli_env).gateway) == two_services


def test_crm_and_crm_v2_roll_back_when_apply_fails(project_dir, cli_env, two_services, parallelism):
    # the sms-bot flow create fails (a create is not sent again)
    cli_env.set_faults(FaultConfig(fail_writes_matching=("^POST /v2/Flows .*FriendlyName=Acme SMS bot",)))
    code, out = run(project_dir, "apply", "--env", "local", "--auto-approve")
    cli_env.set_faults(FaultConfig())
    assert code == 1 and "every change made was rolled back" in out, out
    # one write at a time, the flow create comes last; side by side it may fail before /x is made
    assert parallelism > 1 or "service.crm.v2.function./x: deleted the new function resource" in out
    assert account_state(open_ws(project_dir, cli_env).gateway) == two_services
