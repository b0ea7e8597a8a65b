"""plan / apply / rollback of the example project against the emulator, through the real SDK."""

from __future__ import annotations

from pathlib import Path

import pytest

from twideploy import deploy
from twideploy.emulator import FaultConfig
from twideploy.errors import ApplyError, StalePlanError
from twideploy.plan.model import Action

from .helpers import edit_yaml, first_state, open_ws, set_greeting
from .snapshot import account_state


def save_plan_of(project_dir: Path, emulator, saved: Path) -> None:
    deploy.save_plan(deploy.plan(open_ws(project_dir, emulator)).plan, saved)


def applied(project_dir, emulator):
    ws = open_ws(project_dir, emulator)
    deploy.apply(ws, deploy.ApplyOptions())
    return ws


def actionable(ws) -> list[tuple[str, str]]:
    return [(c.address, c.action.value) for c in deploy.plan(ws).plan.actionable]


def test_apply_to_empty_account_then_nothing_to_do(project_dir, emulator):
    ws = open_ws(project_dir, emulator)
    first = deploy.plan(ws).plan
    assert first.summary()["create"] >= 6 and first.summary()["delete"] == 0
    _, outcome = deploy.apply(ws, deploy.ApplyOptions())
    assert outcome.deploy_id and outcome.writes > 0

    ws = open_ws(project_dir, emulator)
    assert not deploy.plan(ws).plan.has_changes
    writes_before = ws.gateway.writes_made
    _, outcome = deploy.apply(ws, deploy.ApplyOptions())
    assert outcome.deploy_id is None
    assert ws.gateway.writes_made == writes_before  # not one POST or DELETE

    state = account_state(ws.gateway)
    for name in ws.env.flows:
        assert ws.project.flows[name].friendly_name in state["flows"]
    webhook = state["flows"][ws.project.flows["ivr-main"].friendly_name]["sid"]
    assert any(webhook in (n["voice_url"] or "") for n in state["numbers"].values())


def test_one_widget_property_change_is_exactly_that(project_dir, emulator):
    applied(project_dir, emulator)
    set_greeting(project_dir, "A brand new greeting")
    ws = open_ws(project_dir, emulator)
    plan = deploy.plan(ws).plan
    assert [(c.address, c.action.value) for c in plan.actionable] == [("flow.ivr-main", "update")]
    [change] = plan.actionable
    assert [(w.what, w.detail, w.after) for w in change.widgets] == [("property", "say", "A brand new greeting")]


def test_one_transition_change_is_exactly_that(project_dir, emulator):
    applied(project_dir, emulator)
    moved = {}

    def retarget(flow):
        names = [s["name"] for s in flow["states"]]
        state = next(
            s for s in flow["states"] if s["type"] != "trigger" and any(t.get("next") for t in s["transitions"])
        )
        transition = next(t for t in state["transitions"] if t.get("next") and not t.get("conditions"))
        new_target = next(n for n in names if n not in (transition["next"], state["name"], flow["states"][0]["name"]))
        moved.update(widget=state["name"], event=transition["event"], before=transition["next"], after=new_target)
        transition["next"] = new_target

    edit_yaml(project_dir / "flows/ivr-main.yaml", retarget)
    plan = deploy.plan(open_ws(project_dir, emulator)).plan
    [change] = plan.actionable
    assert [(w.widget, w.what, w.detail, w.before, w.after) for w in change.widgets] == \
        [(moved["widget"], "transition", moved["event"], moved["before"], moved["after"])]


def test_layout_move_is_cosmetic_unless_asked(project_dir, emulator):
    applied(project_dir, emulator)
    edit_yaml(project_dir / "flows/ivr-main.yaml",
              lambda flow: first_state(flow, "say-play")["properties"].__setitem__("offset", {"x": 999, "y": 999}))
    ws = open_ws(project_dir, emulator)
    plan = deploy.plan(ws).plan
    assert not plan.has_changes
    assert [c.address for c in plan.changes if c.cosmetic_only] == ["flow.ivr-main"]
    assert deploy.plan(ws, include_layout=True).plan.has_changes


def test_one_function_code_change_uploads_only_that_function(project_dir, emulator):
    applied(project_dir, emulator)
    lookup = project_dir / "functions/crm/functions/lookup.js"
    lookup.write_text(lookup.read_text() + "\n// tweak\n")
    ws = open_ws(project_dir, emulator)
    assert actionable(ws) == [("service.crm.function./lookup", "update"), ("service.crm.build", "update")]
    deploy.apply(ws, deploy.ApplyOptions())
    assert not deploy.plan(open_ws(project_dir, emulator)).plan.has_changes
    assert _version_counts(ws) == {path: 2 if path == "/lookup" else 1 for path in _version_counts(ws)}


def _version_counts(ws) -> dict[str, int]:
    """How many versions each function has: one upload each, plus one per content change."""
    client = ws.gateway.client.serverless.v1
    [service] = [s for s in client.services.list() if s.unique_name == ws.project.services["crm"].unique_name]
    functions = client.services(service.sid).functions
    return {f.friendly_name: len(functions(f.sid).function_versions.list()) for f in functions.list()}


def test_one_variable_change_is_exactly_that(project_dir, emulator):
    applied(project_dir, emulator)
    edit_yaml(project_dir / "environments/local.yaml",
              lambda env: env["services"]["crm"]["variables"].__setitem__("CRM_URL", "https://crm2.example.com"))
    ws = open_ws(project_dir, emulator)
    assert actionable(ws) == [("service.crm.variable.CRM_URL", "update")]
    deploy.apply(ws, deploy.ApplyOptions())
    state = account_state(ws.gateway)
    [env] = state["services"]["crm"]["environments"].values()
    assert env["variables"]["CRM_URL"] == "https://crm2.example.com"


def test_one_number_binding_change_is_exactly_that(project_dir, emulator):
    applied(project_dir, emulator)
    number = {}

    def rebind(env):
        first = next(iter(env["numbers"]))
        number["e164"] = first
        env["numbers"][first]["voice"] = "https://example.com/elsewhere"

    edit_yaml(project_dir / "environments/local.yaml", rebind)
    ws = open_ws(project_dir, emulator)
    plan = deploy.plan(ws).plan
    [change] = plan.actionable
    assert change.address == f"number.{number['e164']}"
    assert change.after["voice_url"] == "https://example.com/elsewhere"
    deploy.apply(ws, deploy.ApplyOptions())
    assert account_state(ws.gateway)["numbers"][number["e164"]]["voice_url"] == "https://example.com/elsewhere"


def _change_everything(project_dir: Path) -> None:
    """One change of every kind, so a v2 apply touches flows, code, build, variables, numbers."""
    set_greeting(project_dir, "v2 greeting")
    lookup = project_dir / "functions/crm/functions/lookup.js"
    lookup.write_text(lookup.read_text() + "\n// v2\n")

    def env_changes(env):
        env["services"]["crm"]["variables"]["CRM_URL"] = "https://crm-v2.example.com"
        env["services"]["crm"]["variables"]["NEW_SETTING"] = "on"
        first = next(iter(env["numbers"]))
        env["numbers"][first]["voice"] = "https://example.com/v2"

    edit_yaml(project_dir / "environments/local.yaml", env_changes)


@pytest.mark.parametrize("scenario", ["initial", "update"])
def test_failing_the_nth_write_leaves_the_account_exactly_as_before(project_dir, emulator, scenario, parallelism):
    if scenario == "update":
        applied(project_dir, emulator)
        _change_everything(project_dir)
    before = account_state(open_ws(project_dir, emulator).gateway)

    writes = _count_writes_of_successful_apply(project_dir, emulator, before)
    assert writes >= 5
    failures, cured = [], 0
    for n in range(1, writes + 1):
        emulator.set_faults(FaultConfig(fail_nth_write=n))
        ws = open_ws(project_dir, emulator, parallelism=parallelism)
        try:
            deploy.apply(ws, deploy.ApplyOptions())
        except ApplyError as failure:
            failures.append(failure)
        else:  # a write that sets an absolute state (an update, a validation) is sent again: cured
            cured += 1
            emulator.set_faults(FaultConfig())
            assert not deploy.plan(open_ws(project_dir, emulator)).plan.has_changes, f"write {n}: not converged"
            deploy.rollback(open_ws(project_dir, emulator))
        emulator.set_faults(FaultConfig())
        assert account_state(ws.gateway) == before, f"write {n} of {writes}: account differs after rollback"
    assert failures and cured  # creates fail (and are rolled back); validations and updates are retried
    assert all("every change made was rolled back" in str(f) for f in failures)


def _count_writes_of_successful_apply(project_dir, emulator, before) -> int:
    """Apply once for real to count its writes (Studio validations included: they are POSTs),
    then roll it back to get `before` again."""
    ws = open_ws(project_dir, emulator)
    writes_before = emulator.stats()["writes"]
    deploy.apply(ws, deploy.ApplyOptions())
    writes = emulator.stats()["writes"] - writes_before
    deploy.rollback(ws)
    assert account_state(ws.gateway) == before
    return writes


def test_failed_build_keeps_the_old_build_deployed(project_dir, emulator, parallelism):
    ws = applied(project_dir, emulator)
    before = account_state(ws.gateway)
    lookup = project_dir / "functions/crm/functions/lookup.js"
    lookup.write_text(lookup.read_text() + "\n// breaks the build\n")
    emulator.set_faults(FaultConfig(fail_next_build=True))
    with pytest.raises(ApplyError, match="failed; the previous build stays deployed"):
        deploy.apply(open_ws(project_dir, emulator, parallelism=parallelism), deploy.ApplyOptions())
    after = account_state(ws.gateway)
    assert after["services"]["crm"]["environments"] == before["services"]["crm"]["environments"]


def test_stale_saved_plan_is_refused(project_dir, emulator, tmp_path):
    ws = applied(project_dir, emulator)
    set_greeting(project_dir, "planned")
    saved = tmp_path / "plan.json"
    save_plan_of(project_dir, emulator, saved)
    state = account_state(ws.gateway)
    ivr = state["flows"][ws.project.flows["ivr-main"].friendly_name]
    emulator.console_edit(ivr["sid"], {**ivr["definition"], "description": "edited in the console"})
    with pytest.raises(StalePlanError, match="live account changed since the plan was made"):
        deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions(), saved=deploy.load_plan(saved))


def test_saved_plan_applies_when_nothing_moved(project_dir, emulator, tmp_path):
    applied(project_dir, emulator)
    set_greeting(project_dir, "planned")
    saved = tmp_path / "plan.json"
    save_plan_of(project_dir, emulator, saved)
    _, outcome = deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions(), saved=deploy.load_plan(saved))
    assert outcome.writes == 1


def test_rollback_restores_previous_revision(project_dir, emulator):
    ws = applied(project_dir, emulator)
    before = account_state(ws.gateway)
    _change_everything(project_dir)
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions())
    assert account_state(ws.gateway) != before
    report = deploy.rollback(open_ws(project_dir, emulator))
    assert any("back to revision" in line for line in report.lines)
    assert account_state(ws.gateway) == before


def test_rollback_one_flow_to_a_revision(project_dir, emulator):
    ws = applied(project_dir, emulator)
    name = ws.project.flows["ivr-main"].friendly_name
    original = account_state(ws.gateway)["flows"][name]["definition"]
    set_greeting(project_dir, "second")
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions())
    deploy.rollback(open_ws(project_dir, emulator), flow="ivr-main", revision=1)
    assert account_state(ws.gateway)["flows"][name]["definition"] == original


def test_secrets_never_reach_plans_or_journals(project_dir, emulator, tmp_path):
    secret = "s3cr3t-token-value"
    edit_yaml(project_dir / "environments/local.yaml",
              lambda env: env["services"]["crm"]["variables"].__setitem__("CRM_TOKEN", {"secret": secret}))
    ws = open_ws(project_dir, emulator)
    planned = deploy.plan(ws)
    saved = tmp_path / "plan.json"
    deploy.save_plan(planned.plan, saved)
    assert secret not in saved.read_text()
    deploy.apply(ws, deploy.ApplyOptions())
    edit_yaml(project_dir / "environments/local.yaml",
              lambda env: env["services"]["crm"]["variables"].__setitem__("CRM_TOKEN", {"secret": "another-secret"}))
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions())
    journals = "".join(p.read_text() for p in (project_dir / ".twideploy").rglob("*.jsonl"))
    assert journals and secret not in journals and "another-secret" not in journals
    env = next(iter(account_state(ws.gateway)["services"]["crm"]["environments"].values()))
    assert env["variables"]["CRM_TOKEN"] == "another-secret"  # it did reach Twilio


def test_changes_of_every_kind_apply_and_converge(project_dir, emulator):
    applied(project_dir, emulator)
    _change_everything(project_dir)
    ws = open_ws(project_dir, emulator)
    kinds = {c.kind for c in deploy.plan(ws).plan.actionable}
    assert {"flow", "function", "build", "variable", "number"} <= kinds
    deploy.apply(ws, deploy.ApplyOptions())
    assert not deploy.plan(open_ws(project_dir, emulator)).plan.has_changes
    assert all(c.action is not Action.DELETE for c in deploy.plan(open_ws(project_dir, emulator)).plan.changes)


def test_rollback_to_an_earlier_deploy_undoes_every_later_one(project_dir, emulator):
    ws = applied(project_dir, emulator)
    first_state_of_account = account_state(ws.gateway)
    first_id = deploy.history(ws).deploys[-1].deploy_id
    for greeting in ("second", "third"):
        set_greeting(project_dir, greeting)
        deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions())
    _change_everything(project_dir)
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions())

    report = deploy.rollback(open_ws(project_dir, emulator), to=first_id)
    assert sum(line.startswith("rolling back deploy") for line in report.lines) == 3
    assert account_state(ws.gateway) == first_state_of_account
    history = deploy.history(open_ws(project_dir, emulator)).deploys
    assert [d.reverted for d in history if d.kind == "deploy"] == [False, True, True, True]
    with pytest.raises(Exception, match="not an applied, un-reverted deploy"):
        deploy.rollback(open_ws(project_dir, emulator), to=history[1].deploy_id)


def test_prune_deletes_what_the_manifests_dropped_and_unbinds_numbers(project_dir, emulator):
    edit_yaml(project_dir / "environments/local.yaml",
              lambda env: env["services"]["crm"]["variables"].__setitem__("OLD_SETTING", "x"))
    ws = applied(project_dir, emulator)
    sms_bot = ws.project.flows["sms-bot"].friendly_name

    def drop(env):
        env["flows"].remove("sms-bot")
        env["numbers"]["+15005550006"]["sms"] = "https://example.com/sms"
        del env["numbers"]["+15005550007"]
        del env["services"]["crm"]["variables"]["OLD_SETTING"]

    edit_yaml(project_dir / "environments/local.yaml", drop)
    (project_dir / "functions/crm/functions/hello.public.js").unlink()

    kept = {(c.address, c.action.value) for c in deploy.plan(open_ws(project_dir, emulator), prune=False).plan.changes}
    assert {("flow.sms-bot", "unmanaged"), ("service.crm.variable.OLD_SETTING", "unmanaged"),
            ("service.crm.function./hello", "unmanaged"), ("number.+15005550007", "unmanaged")} <= kept

    pruned = deploy.plan(open_ws(project_dir, emulator), prune=True).plan
    assert {("flow.sms-bot", "delete"), ("service.crm.variable.OLD_SETTING", "delete"),
            ("service.crm.function./hello", "delete"), ("number.+15005550007", "update")} <= \
        {(c.address, c.action.value) for c in pruned.actionable}
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions(prune=True))

    state = account_state(ws.gateway)
    assert sms_bot not in state["flows"]
    assert "/hello" not in state["services"]["crm"]["functions"]
    assert "OLD_SETTING" not in next(iter(state["services"]["crm"]["environments"].values()))["variables"]
    assert not state["numbers"]["+15005550007"]["voice_url"]  # unbound, never released
    assert not deploy.plan(open_ws(project_dir, emulator), prune=True).plan.has_changes


def test_function_code_is_compared_with_twilio_not_only_the_local_cache(project_dir, emulator):
    """A fresh CI runner has no .twideploy/cache: function content is fetched and hashed.
    Asset content has no API, so without the cache assets read as 'content unknown'."""
    applied(project_dir, emulator)
    import shutil
    shutil.rmtree(project_dir / ".twideploy" / "cache")
    plan = deploy.plan(open_ws(project_dir, emulator)).plan
    functions = [c for c in plan.changes if c.kind == "function"]
    assert functions and all(c.action is Action.NOOP for c in functions)
    assert {c.kind for c in plan.actionable} <= {"asset", "build"}
    assert all("content unknown" in c.reason for c in plan.actionable if c.kind == "asset")


def test_journals_of_another_account_are_not_used(project_dir, emulator):
    """The same environment pointed at a new account must not roll back or audit by old journals."""
    from twideploy.emulator import account_sid_for
    from twideploy.errors import TwideployError
    from twideploy.secrets import Secret
    from twideploy.twilio_api.gateway import Credentials, Gateway
    from twideploy.workspace import Workspace

    applied(project_dir, emulator)
    ws = open_ws(project_dir, emulator)
    other = account_sid_for("another-account")
    other_ws = Workspace(ws.project, ws.env, Gateway(Credentials(other, other, Secret(emulator.auth_token)),
                                                     base_url=emulator.base_url))
    assert deploy.history(ws).deploys and not deploy.history(other_ws).deploys
    with pytest.raises(TwideployError, match="no deploy of local to roll back"):
        deploy.rollback(other_ws)


def test_unchanged_flows_are_not_fetched_when_their_revision_is_known(project_dir, emulator):
    """Studio revisions are immutable: a flow at a revision twideploy wrote (or read) before,
    whose hash matches the manifests, needs no fetch. A console edit makes a new revision."""
    ws = applied(project_dir, emulator)
    assert (project_dir / ".twideploy" / "cache").exists()  # the cache apply wrote: a warm plan
    before = emulator.stats()["by_route"].get("GET /v2/Flows/<Sid>", 0)
    assert not deploy.plan(open_ws(project_dir, emulator)).plan.has_changes
    assert emulator.stats()["by_route"].get("GET /v2/Flows/<Sid>", 0) == before  # no flow fetched
    # (without the cache the commit messages say the same: tests/e2e/test_cold_plan.py)

    name = ws.project.flows["ivr-main"].friendly_name
    flow = account_state(ws.gateway)["flows"][name]
    emulator.console_edit(flow["sid"], {**flow["definition"], "description": "edited in the console"})
    changes = [c for c in deploy.plan(open_ws(project_dir, emulator)).plan.actionable if c.kind == "flow"]
    assert [(c.address, [w.detail for w in c.widgets]) for c in changes] == [("flow.ivr-main", ["description"])]


def test_rollback_recreates_a_pruned_flow_with_its_definition(project_dir, emulator):
    """A flow deleted by --prune is not managed, so its definition was never fetched:
    the journal must still hold it, or rollback cannot recreate the flow."""
    ws = applied(project_dir, emulator)
    sms_bot = ws.project.flows["sms-bot"].friendly_name
    before = account_state(ws.gateway)["flows"][sms_bot]

    def drop(env):
        env["flows"].remove("sms-bot")
        env["numbers"]["+15005550006"]["sms"] = "https://example.com/sms"

    edit_yaml(project_dir / "environments/local.yaml", drop)
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions(prune=True))
    assert sms_bot not in account_state(ws.gateway)["flows"]
    deploy.rollback(open_ws(project_dir, emulator))
    after = account_state(ws.gateway)["flows"][sms_bot]
    assert (after["status"], after["definition"]) == (before["status"], before["definition"])


def test_layout_only_flow_change_is_not_written_with_other_changes(project_dir, emulator):
    ws = applied(project_dir, emulator)
    name = ws.project.flows["ivr-main"].friendly_name
    before = account_state(ws.gateway)["flows"][name]
    edit_yaml(project_dir / "flows/ivr-main.yaml",
              lambda flow: first_state(flow, "say-play")["properties"].__setitem__("offset", {"x": 999, "y": 999}))
    edit_yaml(project_dir / "environments/local.yaml",
              lambda env: env["services"]["crm"]["variables"].__setitem__("CRM_URL", "https://crm2.example.com"))
    ws = open_ws(project_dir, emulator)
    assert actionable(ws) == [("service.crm.variable.CRM_URL", "update")]
    _, outcome = deploy.apply(ws, deploy.ApplyOptions())
    assert outcome.writes == 1
    assert account_state(ws.gateway)["flows"][name] == before


def test_rollback_that_failed_midway_is_retried_not_skipped(project_dir, emulator, parallelism):
    """A rollback that could not undo every write leaves its deploy un-reverted: running
    rollback again finishes that deploy, it does not also undo the deploy before it."""
    from twideploy.errors import TwideployError

    ws = applied(project_dir, emulator)
    _change_everything(project_dir)
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions())
    after_v2 = account_state(ws.gateway)
    set_greeting(project_dir, "v3 greeting")
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions())

    ws = open_ws(project_dir, emulator, parallelism=parallelism)
    ws.gateway.max_attempts = 2
    emulator.set_faults(FaultConfig(fail_writes=(1, 2)))  # the flow update fails, and so does its retry
    with pytest.raises(TwideployError, match="rollback incomplete"):
        deploy.rollback(ws)
    emulator.set_faults(FaultConfig())
    deploy.rollback(open_ws(project_dir, emulator, parallelism=parallelism))
    assert account_state(ws.gateway) == after_v2


def test_undoing_twice_reports_what_is_already_gone(project_dir, emulator):
    from twideploy.plan.executor import undo_steps
    from twideploy.state import journal as journals
    from twideploy.state.paths import StatePaths

    applied(project_dir, emulator)
    edit_yaml(project_dir / "environments/local.yaml",
              lambda env: env["services"]["crm"]["variables"].__setitem__("NEW_SETTING", "on"))
    ws = open_ws(project_dir, emulator)
    deploy.apply(ws, deploy.ApplyOptions())
    deploy.rollback(ws)
    [record] = [r for r in journals.deploys(StatePaths(project_dir).journal_folder("local"))
                if r.header.changes == ("service.crm.variable.NEW_SETTING",)]
    for step in record.steps:  # as if the rollback had not journalled its undo
        step.undone = False
    again = undo_steps(ws.gateway, record.steps, lambda step: None)
    assert again == ["service.crm.variable.NEW_SETTING: already gone, nothing to undo for variable.create"]


def test_an_interrupted_rollback_does_not_block_and_can_be_redone(project_dir, emulator):
    from twideploy.state import journal as journals

    ws = applied(project_dir, emulator)
    before = account_state(ws.gateway)
    set_greeting(project_dir, "second")
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions())
    last = deploy.history(ws).deploys[-1].deploy_id
    # a rollback killed before it finished: its journal has no outcome
    ws.store.start_journal(journals.JournalHeader.for_rollback("local", ws.gateway.account_sid, [last]))
    assert deploy.plan(open_ws(project_dir, emulator)).plan.has_changes is False
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions())  # not refused as "interrupted"
    deploy.rollback(open_ws(project_dir, emulator))  # the deploy still counts as not reverted
    assert account_state(ws.gateway)["flows"] == before["flows"]


def test_removing_a_field_from_a_binding_clears_it_live(project_dir, emulator):
    ws = applied(project_dir, emulator)
    assert account_state(ws.gateway)["numbers"]["+15005550007"]["voice_fallback_url"] == "https://example.com/down"
    edit_yaml(project_dir / "environments/local.yaml",
              lambda env: env["numbers"]["+15005550007"].pop("voice_fallback"))
    plan = deploy.plan(open_ws(project_dir, emulator)).plan
    [change] = plan.actionable
    assert change.address == "number.+15005550007"
    assert (change.before["voice_fallback_url"], change.after["voice_fallback_url"]) == ("https://example.com/down", "")
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions())
    assert not account_state(ws.gateway)["numbers"]["+15005550007"]["voice_fallback_url"]
    assert not deploy.plan(open_ws(project_dir, emulator)).plan.has_changes


def test_saved_plan_survives_a_layout_only_edit_but_not_a_real_one(project_dir, emulator, tmp_path):
    applied(project_dir, emulator)
    set_greeting(project_dir, "planned")
    saved = tmp_path / "plan.json"
    save_plan_of(project_dir, emulator, saved)
    edit_yaml(project_dir / "flows/ivr-main.yaml",
              lambda flow: flow["states"][-1]["properties"].__setitem__("offset", {"x": 7, "y": 7}))
    _, outcome = deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions(), saved=deploy.load_plan(saved))
    assert outcome.writes == 1

    set_greeting(project_dir, "planned again")
    save_plan_of(project_dir, emulator, saved)
    set_greeting(project_dir, "not what was reviewed")
    with pytest.raises(StalePlanError, match="manifests changed since the plan was made"):
        deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions(), saved=deploy.load_plan(saved))
