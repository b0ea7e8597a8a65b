"""A rollback that failed is finished, never forgotten; a prune is undone for real.

Against the emulator, with its seeded faults (`fail_writes`: these POST/DELETEs answer 500).
"""

from __future__ import annotations

import json

import pytest

from twideploy import deploy
from twideploy.emulator import FaultConfig
from twideploy.errors import ApplyError, RollbackError, UnfinishedDeployError
from twideploy.state import journal as journals
from twideploy.state.paths import StatePaths

from .helpers import edit_yaml, open_ws, run
from .snapshot import account_state

OLD_SECRET = "s3cret-before-prune-7a1"


def _journals(project_dir) -> list[journals.DeployRecord]:
    return journals.deploys(StatePaths(project_dir).journal_folder("local"))


def _without_sms_bot(env) -> None:
    env["flows"].remove("sms-bot")
    env["numbers"]["+15005550006"]["sms"] = "https://example.com/sms"


@pytest.fixture
def half_applied(project_dir, cli_env, parallelism):
    """A deploy whose apply failed on a flow create (not retried) and whose rollback failed on
    recreating the variable it deleted (a create too)."""
    def baseline(env):
        _without_sms_bot(env)
        env["services"]["crm"]["variables"]["OLD_SETTING"] = "x"

    edit_yaml(project_dir / "environments/local.yaml", baseline)
    assert run(project_dir, "apply", "--env", "local", "--auto-approve")[0] == 0
    before = account_state(open_ws(project_dir, cli_env).gateway)

    def v2(env):
        env["flows"].append("sms-bot")  # flow.create
        del env["services"]["crm"]["variables"]["OLD_SETTING"]  # variable.delete: undone by a create

    edit_yaml(project_dir / "environments/local.yaml", v2)
    cli_env.set_faults(FaultConfig(fail_writes_matching=("^POST /v2/Flows .*FriendlyName=Acme SMS bot",
                                                         "^POST .*/Variables .*Key=OLD_SETTING")))
    code, out = run(project_dir, "apply", "--env", "local", "--auto-approve")
    cli_env.set_faults(FaultConfig())
    assert code == 1
    return before, out


def test_apply_whose_rollback_failed_names_the_command_that_finishes_it(project_dir, cli_env, half_applied):
    _, out = half_applied
    last = out.strip().splitlines()[-1]
    assert last.startswith("error: apply failed: ") and "the rollback was incomplete" in last
    assert "service.crm.variable.OLD_SETTING" in last  # what was left undone
    assert last.endswith("Finish it with: twideploy rollback --env local")
    assert "Traceback" not in out
    failed = [r for r in _journals(project_dir) if r.status == "rollback_failed"]
    assert len(failed) == 1 and sum(s.undone for s in failed[0].steps) >= 1  # the undos that worked are journalled

    code, out = run(project_dir, "apply", "--env", "local", "--auto-approve")  # refused meanwhile
    assert code == 1 and f"deploy {failed[0].deploy_id}" in out and "rollback was incomplete" in out
    assert "twideploy rollback --env local" in out
    with pytest.raises(UnfinishedDeployError):
        deploy.apply(open_ws(project_dir, cli_env), deploy.ApplyOptions())


def test_rollback_finishes_the_failed_deploy_not_the_one_before(project_dir, cli_env, half_applied):
    before, _ = half_applied
    records = _journals(project_dir)
    good = records[0]  # the baseline (then came the probe apply and its rollback)
    [failed] = [r for r in records if r.status == "rollback_failed"]
    assert good.status == "applied"

    code, out = run(project_dir, "rollback", "--env", "local", "--auto-approve")
    assert code == 0, out
    assert f"rolling back deploy {failed.deploy_id}" in out and good.deploy_id not in out
    assert "flow.sms-bot: flow.create was undone by an earlier rollback" in out  # resumed, not redone
    assert "service.crm.variable.OLD_SETTING: recreated variable OLD_SETTING" in out
    assert account_state(open_ws(project_dir, cli_env).gateway) == before

    statuses = {r.deploy_id: r.status for r in _journals(project_dir)}
    assert (statuses[good.deploy_id], statuses[failed.deploy_id]) == ("applied", "rolled_back")
    history = deploy.history(open_ws(project_dir, cli_env)).deploys
    assert not next(d for d in history if d.deploy_id == good.deploy_id).reverted
    assert run(project_dir, "apply", "--env", "local", "--auto-approve")[0] == 0  # no longer refused


def test_abandoning_the_failed_deploy_lets_apply_converge(project_dir, cli_env, half_applied):
    code, out = run(project_dir, "apply", "--env", "local", "--auto-approve", "--abandon-unfinished")
    assert code == 0, out
    assert run(project_dir, "plan", "--env", "local", "--detailed-exitcode")[0] == 0


def test_a_rollback_that_fails_again_names_the_command_again(project_dir, cli_env, half_applied):
    before, _ = half_applied
    cli_env.set_faults(FaultConfig(fail_writes=(1,)))  # the variable create fails again (not retried)
    code, out = run(project_dir, "rollback", "--env", "local", "--auto-approve")
    cli_env.set_faults(FaultConfig())
    last = out.strip().splitlines()[-1]
    assert code == 1 and last.startswith("error: rollback incomplete, 1 undo step(s) failed: ")
    assert last.endswith("finish with: twideploy rollback --env local")
    assert any(r.status == "rollback_failed" for r in _journals(project_dir))  # still the one to finish
    assert run(project_dir, "rollback", "--env", "local", "--auto-approve")[0] == 0
    assert account_state(open_ws(project_dir, cli_env).gateway) == before


# --------------------------------------------------------------------------- prune


def _prunable_baseline(project_dir) -> None:
    """Three functions (one extra, protected), a plain and a secret variable the next deploy prunes."""
    (project_dir / "functions/crm/functions/extra.js").write_text(
        "exports.handler = (context, event, callback) => callback(null, 'extra');\n")

    def more(env):
        env["services"]["crm"]["variables"].update(OLD_PLAIN="plain-value", OLD_SECRET={"secret": OLD_SECRET})

    edit_yaml(project_dir / "environments/local.yaml", more)


def _prune_them(project_dir) -> None:
    (project_dir / "functions/crm/functions/extra.js").unlink()
    (project_dir / "functions/crm/functions/hello.public.js").unlink()

    def less(env):
        del env["services"]["crm"]["variables"]["OLD_PLAIN"]
        del env["services"]["crm"]["variables"]["OLD_SECRET"]
        env["numbers"]["+15005550007"]["voice"] = "https://example.com/voice"  # it ran /hello

    edit_yaml(project_dir / "environments/local.yaml", less)


def _deployed_code(ws) -> dict:
    """What the environment runs: each function's path, visibility and code, and the variables."""
    api = ws.gateway.client.serverless.v1
    [service] = [s for s in api.services.list() if s.unique_name == "crm"]
    [env] = api.services(service.sid).environments.list()
    build = api.services(service.sid).builds(env.build_sid).fetch()
    functions = api.services(service.sid).functions
    code = {v["path"]: (v["visibility"], functions(v["function_sid"]).function_versions(v["sid"])
                        .function_version_content().fetch().content) for v in build.function_versions}
    variables = {v.key: v.value for v in api.services(service.sid).environments(env.sid).variables.list()}
    return {"functions": code, "assets": sorted(v["path"] for v in build.asset_versions),
            "variables": variables, "runtime": build.runtime, "dependencies": build.dependencies}


def _comparable(state: dict) -> dict:
    """An account snapshot without the SIDs a restore necessarily changes (function, build)."""
    state = json.loads(json.dumps(state))
    for service in state["services"].values():
        for env in service["environments"].values():
            env.pop("build_sid")
    return state


def test_rollback_of_a_prune_restores_functions_and_variables(project_dir, emulator, monkeypatch):
    _prunable_baseline(project_dir)
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions())
    ws = open_ws(project_dir, emulator)
    before, code_before = account_state(ws.gateway), _deployed_code(ws)
    assert {"/extra", "/hello"} <= code_before["functions"].keys()

    _prune_them(project_dir)
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions(prune=True))
    after = _deployed_code(open_ws(project_dir, emulator))
    assert not {"/extra", "/hello"} & after["functions"].keys()
    assert not {"OLD_PLAIN", "OLD_SECRET"} & after["variables"].keys()
    journal = "".join(p.read_text() for p in (project_dir / ".twideploy").rglob("*.jsonl"))
    assert "plain-value" in journal and OLD_SECRET not in journal  # a plain value is kept, a secret never

    monkeypatch.delenv("TWIDEPLOY_RESTORE_CRM_OLD_SECRET", raising=False)
    with pytest.raises(RollbackError, match="set TWIDEPLOY_RESTORE_CRM_OLD_SECRET to that value") as failure:
        deploy.rollback(open_ws(project_dir, emulator))
    assert str(failure.value).endswith("finish with: twideploy rollback --env local")
    restored = _deployed_code(open_ws(project_dir, emulator))
    assert restored["functions"] == code_before["functions"]  # everything else was undone meanwhile
    assert restored["variables"] == {k: v for k, v in code_before["variables"].items() if k != "OLD_SECRET"}

    monkeypatch.setenv("TWIDEPLOY_RESTORE_CRM_OLD_SECRET", OLD_SECRET)
    report = deploy.rollback(open_ws(project_dir, emulator))
    assert any("OLD_SECRET: recreated variable" in line for line in report.lines)
    ws = open_ws(project_dir, emulator)
    assert _deployed_code(ws) == code_before
    assert _comparable(account_state(ws.gateway)) == _comparable(before)


def test_rollback_of_a_prune_converges_with_the_manifests_it_undid(project_dir, emulator, tmp_path, parallelism):
    """After the rollback the account is what the pre-prune manifests describe: plan finds
    nothing to do (the restored functions are in the running build, with their code)."""
    import shutil

    _prunable_baseline(project_dir)
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions())
    shutil.copytree(project_dir, tmp_path / "v1", ignore=shutil.ignore_patterns(".twideploy"))
    _prune_them(project_dir)
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions(prune=True))

    ws = open_ws(project_dir, emulator, parallelism=parallelism)
    ws.gateway.max_attempts = 1
    emulator.set_faults(FaultConfig(fail_writes=(1,)))  # the rollback's first write fails: resumed later
    with pytest.raises(RollbackError):
        deploy.rollback(ws)
    emulator.set_faults(FaultConfig())
    with pytest.raises(RollbackError, match="TWIDEPLOY_RESTORE_CRM_OLD_SECRET"):
        deploy.rollback(open_ws(project_dir, emulator))

    for name in ("environments", "functions"):
        shutil.rmtree(project_dir / name)
        shutil.copytree(tmp_path / "v1" / name, project_dir / name)
    edit_yaml(project_dir / "environments/local.yaml",  # all but the secret, which rollback could not restore
              lambda env: env["services"]["crm"]["variables"].pop("OLD_SECRET"))
    assert [(c.address, c.action.value) for c in deploy.plan(open_ws(project_dir, emulator)).plan.actionable] == []


def test_applys_own_rollback_of_a_prune_restores_everything(project_dir, emulator, parallelism):
    """A write of a prune (the delete of /hello, with /extra's) fails: apply's own rollback
    restores both functions, the plain variable and, from memory, the secret one."""
    _prunable_baseline(project_dir)
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions())
    ws = open_ws(project_dir, emulator)
    before, code_before = account_state(ws.gateway), _deployed_code(ws)
    _prune_them(project_dir)
    hello = ws.gateway.client.serverless.v1.services(before["services"]["crm"]["sid"]).functions.list()
    [hello_sid] = [f.sid for f in hello if f.friendly_name == "/hello"]

    ws = open_ws(project_dir, emulator, parallelism=parallelism)
    ws.gateway.max_attempts = 1  # a DELETE is retried; with one attempt its 500 is final
    emulator.set_faults(FaultConfig(fail_writes_matching=(f"^DELETE \\S*/Functions/{hello_sid} ",)))
    with pytest.raises(ApplyError, match="every change made was rolled back") as failed:
        deploy.apply(ws, deploy.ApplyOptions(prune=True))
    emulator.set_faults(FaultConfig())
    assert any("function./extra" in line for line in failed.value.rollback_report)  # its delete was made
    ws = open_ws(project_dir, emulator)
    assert _deployed_code(ws) == code_before
    assert _comparable(account_state(ws.gateway)) == _comparable(before)


def test_undoing_a_prune_twice_makes_nothing_twice(project_dir, emulator, monkeypatch):
    """An undo whose answer was lost is not journalled as undone, so the next rollback runs it
    again: recreating a flow, a function or a variable must then find it, not make a second."""
    from twideploy.plan.executor import undo_steps

    _prunable_baseline(project_dir)
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions())
    ws = open_ws(project_dir, emulator)
    before, code_before = account_state(ws.gateway), _deployed_code(ws)
    _prune_them(project_dir)
    edit_yaml(project_dir / "environments/local.yaml", _without_sms_bot)
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions(prune=True))
    [record] = [r for r in _journals(project_dir) if r.status == "applied"][-1:]
    assert {"flow.delete", "function.delete", "variable.delete"} <= {s.op for s in record.steps}

    monkeypatch.setenv("TWIDEPLOY_RESTORE_CRM_OLD_SECRET", OLD_SECRET)
    for _ in range(2):
        for step in record.steps:
            step.undone = False
        report = undo_steps(ws.gateway, record.steps, lambda step: None)
        assert not [line for line in report if line.startswith("FAILED")], report
    flows = [f.friendly_name for f in ws.gateway.client.studio.v2.flows.list()]
    assert sorted(flows) == sorted(before["flows"])  # one of each
    assert _deployed_code(ws) == code_before
    after = _comparable(account_state(ws.gateway))
    assert after["services"] == _comparable(before)["services"]
    assert {name: (f["status"], f["definition"]) for name, f in after["flows"].items()} == \
        {name: (f["status"], f["definition"]) for name, f in before["flows"].items()}  # the SID is new


def test_a_pruned_asset_is_reported_not_restored_and_leaves_nothing_to_resume(project_dir, cli_env):
    """Twilio cannot give an asset's content back: rollback says so, restores the rest, and
    does not leave the deploy for a rollback that could never finish it."""
    asset = project_dir / "functions/crm/assets/hold.xml"
    content = asset.read_text()
    assert run(project_dir, "apply", "--env", "local", "--auto-approve")[0] == 0
    ws = open_ws(project_dir, cli_env)
    code_before = _deployed_code(ws)
    asset.unlink()
    assert run(project_dir, "apply", "--env", "local", "--auto-approve")[0] == 0
    assert "/hold.xml" not in _deployed_code(ws)["assets"]

    code, out = run(project_dir, "rollback", "--env", "local", "--auto-approve")
    last = out.strip().splitlines()[-1]
    assert code == 1 and last.startswith("error: rollback finished: every change made was rolled back except "
                                         "what cannot be undone: service.crm.asset./hold.xml: asset /hold.xml "
                                         "cannot be restored"), out
    assert "twideploy rollback" not in last
    assert _deployed_code(ws) == {**code_before, "assets": []}  # the rest of the previous code runs again
    assert not [r for r in _journals(project_dir) if r.unfinished]

    asset.write_text(content)
    assert run(project_dir, "apply", "--env", "local", "--auto-approve")[0] == 0  # not refused
    assert _deployed_code(ws) == code_before


def test_a_number_rolled_back_points_at_the_recreated_flow(project_dir, emulator):
    """Rollback recreates a pruned flow under a new SID, so a new webhook URL: the number that
    pointed at it is restored to that URL, not to the deleted flow's."""
    ws = open_ws(project_dir, emulator)
    deploy.apply(ws, deploy.ApplyOptions())
    sms_bot = ws.project.flows["sms-bot"].friendly_name
    before = account_state(ws.gateway)
    edit_yaml(project_dir / "environments/local.yaml", _without_sms_bot)
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions(prune=True))

    deploy.rollback(open_ws(project_dir, emulator))
    after = account_state(ws.gateway)
    [recreated] = [f for f in ws.gateway.client.studio.v2.flows.list() if f.friendly_name == sms_bot]
    assert recreated.sid != before["flows"][sms_bot]["sid"]
    assert after["numbers"]["+15005550006"]["sms_url"] == recreated.webhook_url


def test_a_journal_line_cut_short_by_a_kill_is_skipped(project_dir, emulator):
    """SIGKILL can cut a journal line short (a flow's definition makes an intent line long):
    rollback still reads the journal, and its own lines go after it, each whole."""
    ws = open_ws(project_dir, emulator)
    deploy.apply(ws, deploy.ApplyOptions())
    before = account_state(ws.gateway)
    edit_yaml(project_dir / "environments/local.yaml",
              lambda env: env["services"]["crm"]["variables"].__setitem__("NEW_SETTING", "on"))
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions())
    journal = _journals(project_dir)[-1].source.path
    outcome = journal.read_text().splitlines()[-1]
    journal.write_text("\n".join(journal.read_text().splitlines()[:-1]) + "\n" + outcome[:25])  # killed mid-line
    (journal.parent / "20000101-000000000-dead.jsonl").write_text('{"type": "head')  # killed writing a header

    with pytest.raises(UnfinishedDeployError, match="was interrupted after 1 completed write"):
        deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions())
    deploy.rollback(open_ws(project_dir, emulator))
    assert account_state(ws.gateway) == before
    assert [json.loads(line)["type"] for line in journal.read_text().splitlines()[-2:]] == ["undone", "outcome"]


def test_a_number_waits_for_the_flow_it_pointed_at_when_recreating_that_flow_failed(project_dir, emulator,
                                                                                  parallelism):
    """Found by the reliability campaign (--seed 2 --only 12): the rollback's recreate of a pruned
    flow failed, yet the number was put back on the deleted flow's URL and counted as undone, so
    the rollback that finished the job recreated the flow and left the number on a dead URL."""
    ws = open_ws(project_dir, emulator)
    deploy.apply(ws, deploy.ApplyOptions())
    sms_bot = ws.project.flows["sms-bot"].friendly_name
    edit_yaml(project_dir / "environments/local.yaml", _without_sms_bot)
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions(prune=True))

    emulator.set_faults(FaultConfig(fail_writes=(1,)))  # the first undo: recreating the pruned flow
    with pytest.raises(RollbackError) as failed:
        deploy.rollback(open_ws(project_dir, emulator, parallelism=parallelism))
    emulator.set_faults(FaultConfig())
    assert f"+15005550006 pointed at flow {sms_bot}, which does not exist now" in str(failed.value)
    assert account_state(ws.gateway)["numbers"]["+15005550006"]["sms_url"] == "https://example.com/sms"

    deploy.rollback(open_ws(project_dir, emulator))  # finishes the job
    [recreated] = [f for f in ws.gateway.client.studio.v2.flows.list() if f.friendly_name == sms_bot]
    assert account_state(ws.gateway)["numbers"]["+15005550006"]["sms_url"] == recreated.webhook_url
