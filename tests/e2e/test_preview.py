"""`twideploy preview`: drafts and Test Users on the real account, for testers only; `--clear`.

Everything through the CLI or the library against the emulator, over the real SDK. "Callers"
and "testers" are told apart by the emulator's `reached_revision` (who runs which revision).
"""

from __future__ import annotations

import json

from twideploy.state import journal as journals
from twideploy.state.paths import StatePaths

from .helpers import edit_yaml, first_state, kill_after, open_ws, run, set_greeting
from .snapshot import account_state

TESTER = "+15551230001"
LOOKUP = "functions/crm/functions/lookup.js"


def _apply(project_dir) -> None:
    code, out = run(project_dir, "apply", "--env", "local", "--auto-approve")
    assert code == 0, out


def _studio(emulator, project_dir):
    gw = open_ws(project_dir, emulator).gateway
    return gw, {f.friendly_name: f for f in gw.client.studio.v2.flows.list()}


def _published(gw, sid) -> dict:
    revision = gw.client.studio.v2.flows(sid).revisions("LatestPublished").fetch()
    return {"revision": revision.revision, "definition": revision.definition}


def _preview_state(gw, flows) -> dict:
    """What a preview may change and a clear must put back: Test Users, Serverless environments."""
    envs = {s.unique_name: sorted(e.unique_name for e in gw.client.serverless.v1.services(s.sid).environments.list())
            for s in gw.client.serverless.v1.services.list()}
    return {"test_users": {name: gw.client.studio.v2.flows(f.sid).test_users().fetch().test_users
                           for name, f in flows.items()}, "environments": envs}


def _change_greeting_and_function(project_dir) -> None:
    set_greeting(project_dir, "Preview greeting")
    path = project_dir / LOOKUP
    path.write_text(path.read_text() + "\n// preview change\n")


def test_preview_reaches_testers_only_and_clear_restores_the_exact_prior_state(project_dir, cli_env):
    _apply(project_dir)
    gw, flows = _studio(cli_env, project_dir)
    before = account_state(gw)
    published = {name: _published(gw, f.sid) for name, f in flows.items()}
    prior = _preview_state(gw, flows)
    _change_greeting_and_function(project_dir)

    code, out = run(project_dir, "preview", "--env", "local", "--testers", TESTER, "--label", "pr-7",
                    "--auto-approve")
    assert code == 0, out
    assert "Preview pr-7 is live" in out and "Try it: call +15005550006 from a tester's phone" in out

    # Callers: published revisions and number bindings byte for byte as they were.
    assert {name: _published(gw, f.sid) for name, f in flows.items()} == published
    assert account_state(gw)["numbers"] == before["numbers"]
    ivr = flows["Acme IVR"].sid
    caller = cli_env.reached_revision(ivr, "+15559999999")
    assert caller["revision"] == published["Acme IVR"]["revision"]
    # Testers: the draft, with the change, its Run Function pointing at the preview environment.
    tester = cli_env.reached_revision(ivr, TESTER)
    assert tester["status"] == "draft" and "Preview greeting" in json.dumps(tester["definition"])
    assert TESTER in gw.client.studio.v2.flows(ivr).test_users().fetch().test_users
    crm = gw.client.serverless.v1.services("crm")
    envs = {e.unique_name: e for e in crm.environments.list()}
    preview_env = envs["preview-pr-7"]
    run_function = first_state(tester["definition"], "run-function")["properties"]
    assert run_function["environment_sid"] == preview_env.sid
    assert run_function["url"] == f"https://{preview_env.domain_name}/lookup"
    assert first_state(cli_env.reached_revision(ivr, "+15559999999")["definition"],
                       "run-function")["properties"]["environment_sid"] == envs["dev"].sid  # local.yaml: dev
    # A draft is not deployed: plan still shows the change.
    code, out = run(project_dir, "plan", "--env", "local", "--detailed-exitcode")
    assert code == 2 and "Preview greeting" in out and "apply clears that preview" in out

    code, out = run(project_dir, "preview", "--env", "local", "--clear")
    assert code == 0 and "preview pr-7 ended" in out, out
    assert account_state(gw) == before
    assert _preview_state(gw, flows) == prior
    for name in ("Acme IVR", "Acme lookup caller"):  # previewed: published again, recorded as the clear
        latest = gw.client.studio.v2.flows(flows[name].sid).fetch()
        assert latest.status == "published" and "cleared" in latest.commit_message
    code, out = run(project_dir, "preview", "--env", "local", "--clear")
    assert code == 0 and "nothing to clear" in out


def test_a_killed_preview_is_ended_by_clear(project_dir, cli_env):
    _apply(project_dir)
    gw, flows = _studio(cli_env, project_dir)
    before, prior = account_state(gw), _preview_state(gw, flows)
    _change_greeting_and_function(project_dir)
    kill_after(project_dir, cli_env, ["preview", "--env", "local", "--testers", TESTER, "--auto-approve"],
               done_writes=4)
    [record] = [r for r in journals.deploys(StatePaths(project_dir).journal_folder("local")) if r.kind == "preview"]
    assert record.status == "interrupted"
    code, out = run(project_dir, "preview", "--env", "local", "--testers", "+15551230002", "--label", "other",
                    "--auto-approve")
    assert code == 1 and "preview default is open on local" in out
    code, out = run(project_dir, "preview", "--env", "local", "--clear")
    assert code == 0, out
    assert account_state(gw) == before and _preview_state(gw, flows) == prior


def test_bad_input_is_one_line_and_writes_nothing(project_dir, cli_env):
    _apply(project_dir)
    _change_greeting_and_function(project_dir)
    writes = cli_env.stats()["writes"]
    for args, message in (
        (["--env", "nowhere", "--testers", TESTER], "nowhere"),
        (["--env", "local", "--testers", "555-1234"], "neither an E.164 phone number"),
        (["--env", "local", "--testers", "client:has space"], "neither an E.164 phone number"),
        (["--env", "local", "--testers", TESTER, "--label", "Not_OK"], "--label"),
        (["--env", "local"], "no testers"),
        (["--env", "local", "--clear", "--testers", TESTER], "--clear ends the preview for every tester"),
    ):
        code, out = run(project_dir, "preview", *args, "--auto-approve")
        assert code == 1 and out.count("\n") == 1 and message in out, (args, out)  # `error: ` or `file: `
    assert cli_env.stats()["writes"] == writes


def test_testers_from_the_environment_file_with_env_references(project_dir, cli_env, monkeypatch):
    _apply(project_dir)
    set_greeting(project_dir, "From the file")
    monkeypatch.setenv("QA_PHONE", "+15551230009")
    edit_yaml(project_dir / "environments/local.yaml",
              lambda env: env.__setitem__("preview", {"testers": ["${env:QA_PHONE}", "client:qa"]}))
    code, out = run(project_dir, "preview", "--env", "local", "--auto-approve")
    assert code == 0 and "for +15551230009, client:qa only" in out, out
    edit_yaml(project_dir / "environments/local.yaml",
              lambda env: env.__setitem__("preview", {"testers": ["0800 FLOWERS"]}))
    code, out = run(project_dir, "validate")
    assert code == 1 and "environments/local.yaml:" in out and "preview.testers[0]" in out


def test_apply_publishes_over_an_open_preview_and_ends_it(project_dir, cli_env):
    _apply(project_dir)
    gw, flows = _studio(cli_env, project_dir)
    prior = _preview_state(gw, flows)
    set_greeting(project_dir, "Preview greeting")
    code, out = run(project_dir, "preview", "--env", "local", "--testers", TESTER, "--auto-approve")
    assert code == 0, out
    code, out = run(project_dir, "apply", "--env", "local", "--auto-approve")
    assert code == 0 and "preview default ended" in out, out
    assert _preview_state(gw, flows) == prior
    ivr = flows["Acme IVR"].sid
    assert "Preview greeting" in json.dumps(cli_env.reached_revision(ivr, "+15559999999")["definition"])
    code, out = run(project_dir, "history", "--env", "local", "--format", "json")
    kinds = [(d["kind"], d["status"]) for d in json.loads(out)["deploys"]]
    assert ("preview", "cleared") in kinds


def test_drift_reports_an_open_preview_as_information(project_dir, cli_env):
    _apply(project_dir)
    original = (project_dir / "flows/ivr-main.yaml").read_text()
    set_greeting(project_dir, "Only in the preview")
    code, out = run(project_dir, "preview", "--env", "local", "--testers", TESTER, "--auto-approve")
    assert code == 0, out
    (project_dir / "flows/ivr-main.yaml").write_text(original)  # the pull request is not merged
    code, out = run(project_dir, "drift", "--env", "local", "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["drift"] is False
    [item] = [i for i in report["items"] if i["action"] == "preview"]
    assert item["preview"]["label"] == "default" and item["preview"]["testers"] == [TESTER]


def test_a_console_draft_is_reported_never_overwritten_and_rollback_never_publishes_a_draft(project_dir, cli_env):
    _apply(project_dir)
    gw, flows = _studio(cli_env, project_dir)
    ivr = flows["Acme IVR"]
    definition = gw.client.studio.v2.flows(ivr.sid).fetch().definition
    work = json.loads(json.dumps(definition).replace("Welcome", "Work in progress"))
    draft = cli_env.console_edit(ivr.sid, work, "WIP menu", status="draft")
    set_greeting(project_dir, "Preview greeting")
    code, out = run(project_dir, "preview", "--env", "local", "--testers", TESTER, "--auto-approve")
    assert code == 1 and "made outside twideploy ('WIP menu'" in out and "Publish or discard it" in out
    assert gw.client.studio.v2.flows(ivr.sid).fetch().revision == draft
    code, out = run(project_dir, "plan", "--env", "local")
    assert "is replaced as the latest revision by this publish" in out
    code, out = run(project_dir, "rollback", "--env", "local", "--flow", "ivr-main", "--revision", str(draft),
                    "--auto-approve")
    assert code == 1 and "is a draft, never published" in out


def test_testers_waiting_for_an_unset_env_variable_stop_only_a_preview_that_needs_them(project_dir, cli_env,
                                                                                      monkeypatch):
    """The deploy job has no QA_PHONE: plan and apply must not need the testers of previews."""
    monkeypatch.delenv("QA_PHONE", raising=False)
    edit_yaml(project_dir / "environments/local.yaml",
              lambda env: env.__setitem__("preview", {"testers": ["${env:QA_PHONE}"]}))
    _apply(project_dir)
    set_greeting(project_dir, "Preview greeting")
    code, out = run(project_dir, "plan", "--env", "local", "--detailed-exitcode")
    assert code == 2, out
    code, out = run(project_dir, "preview", "--env", "local", "--testers", TESTER, "--auto-approve")
    assert code == 0 and f"for {TESTER} only" in out, out
    run(project_dir, "preview", "--env", "local", "--clear")
    writes = cli_env.stats()["writes"]
    code, out = run(project_dir, "preview", "--env", "local", "--auto-approve")
    assert code == 1 and out.count("\n") == 1, out
    assert "environments/local.yaml:" in out and "QA_PHONE is not set (needed by preview.testers[0]" in out
    assert cli_env.stats()["writes"] == writes


def test_the_same_label_again_names_the_revisions_callers_run_after_the_replaced_preview(project_dir, cli_env):
    """Replacing a preview republishes (a new published revision): the output names that one,
    and the confirmation lists the Functions that go to the preview environment."""
    _apply(project_dir)
    gw, flows = _studio(cli_env, project_dir)
    _change_greeting_and_function(project_dir)
    code, out = run(project_dir, "preview", "--env", "local", "--testers", TESTER, "--auto-approve")
    assert code == 0 and "+ function crm/lookup: deployed to Serverless environment preview-default only" in out
    code, out = run(project_dir, "preview", "--env", "local", "--testers", TESTER, "--auto-approve")
    assert code == 0, out
    republished = _published(gw, flows["Acme IVR"].sid)["revision"]
    assert f"flow ivr-main: draft revision {republished + 1}; everyone else still runs published revision " \
           f"{republished}" in out, out


def test_apply_says_what_stays_in_preview_and_the_clear_names_the_preview_environment(project_dir, cli_env):
    """The subflow is previewed only because it runs the changed Function: apply does not publish
    it, so the preview stays open for it, and apply says so."""
    _apply(project_dir)
    _change_greeting_and_function(project_dir)
    code, out = run(project_dir, "preview", "--env", "local", "--testers", TESTER, "--auto-approve")
    assert code == 0, out
    code, out = run(project_dir, "apply", "--env", "local", "--auto-approve")
    assert code == 0, out
    assert "preview default stays open for flow.subflows/lookup-caller (not published by this apply); end it " \
           "with: twideploy preview --env local --clear" in out, out
    code, out = run(project_dir, "preview", "--env", "local", "--clear")
    assert code == 0 and "preview default ended" in out, out
    assert "deleted variable CRM_TOKEN of environment preview-default" in out
    assert "deleted the new Serverless environment preview-default" in out
